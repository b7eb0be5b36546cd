import { createStaffUser } from "../shared/accounts/create-staff-user.ts";
import { loadConfig } from "../shared/config/config.ts";
import { runPullSources } from "../shared/ingest/pull-sources.ts";
import type { Logger } from "../shared/logging/logger.ts";
import { probeCallJob } from "../shared/queue/job-definitions.ts";
import type { Infrastructure } from "../shared/runtime/infrastructure.ts";
import { pullDeps } from "./ingestion/main.ts";
import { runScheduledJob } from "./scheduler/main.ts";

/**
 * The operators' commands behind `npm run job` and `npm run cli` (API.md "Command line"). They run in
 * the CLI process against Postgres, or inside the running all-in-one server on embedded PGlite.
 */
export async function runOperatorCommand(
  infra: Pick<Infrastructure, "database" | "mailer" | "storage"> & Partial<Infrastructure>,
  logger: Logger,
  command: string,
  args: Record<string, unknown>,
): Promise<unknown> {
  switch (command) {
    case "job": {
      const now = args.now ? new Date(String(args.now)) : new Date();
      if (Number.isNaN(now.getTime())) throw new Error(`--now is not an ISO instant: ${String(args.now)}`);
      if (args.name === "pull-sources") {
        // Runs the pull here and now (not via the queue), like the ingestion worker does.
        const { storage, audio, queue, scratchDir } = infra;
        if (!storage || !audio || !queue || !scratchDir)
          throw new Error("pull-sources needs the full infrastructure");
        await queue.register(probeCallJob);
        const deps = pullDeps(loadConfig(), { ...infra, storage, audio, queue, scratchDir }, logger);
        return runPullSources({ ...deps, clock: () => now });
      }
      return runScheduledJob(infra, logger, String(args.name), now);
    }
    case "staff:create":
      return createStaffUser(infra.database.db, {
        email: String(args.email ?? ""),
        password: String(args.password ?? ""),
      });
    default:
      throw new Error(`Unknown command ${command}`);
  }
}
