import { loadConfig } from "../shared/config/config.ts";
import { findUserByEmail } from "../shared/db/repositories/accounts.repository.ts";
import { DEMO_EMAIL, DEMO_PASSWORD, seedDemo } from "../shared/demo/seed-demo.ts";
import { createLogger } from "../shared/logging/logger.ts";
import { createAppMetrics } from "../shared/observability/metrics.ts";
import { surviveQueueBookkeepingErrors } from "../shared/queue/job-queue.ts";
import { lockDataDir, startControlServer } from "../shared/runtime/embedded-control.ts";
import { openInfrastructure } from "../shared/runtime/infrastructure.ts";
import { onShutdown } from "../shared/runtime/process.ts";
import { startApi } from "./api/main.ts";
import { startPullWorker } from "./ingestion/main.ts";
import { runOperatorCommand } from "./operator-commands.ts";
import { startPipeline } from "./pipeline/main.ts";
import { startScheduler } from "./scheduler/main.ts";

/**
 * All of Tyndau in one process (API + web app, pipeline workers, pull-sources worker, scheduler): what ./scripts/start runs.
 * With DATABASE_URL / S3_* set the same process runs on real services; to scale out run each service
 * on its own (npm run api | pipeline | scheduler).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: "tyndau" });
  surviveQueueBookkeepingErrors(logger);
  const releaseLock = config.database.kind === "pglite" ? lockDataDir(config.dataDir) : () => {};

  const infra = await openInfrastructure(config, logger);
  const metrics = createAppMetrics({ service: "all-in-one" });
  const api = await startApi(config, infra, logger, metrics);
  await startPipeline(config, infra, logger);
  await startPullWorker(config, infra, logger, metrics);
  const schedules = await startScheduler(config, infra, logger);
  const control =
    config.database.kind === "pglite"
      ? await startControlServer(config.dataDir, (command, args) =>
          runOperatorCommand(infra, logger, command, args),
        )
      : undefined;

  const url = `http://localhost:${api.port}`;
  logger.info(
    {
      url,
      database: config.database.kind,
      storage: config.storage.kind,
      transcriber: infra.providers.speechProviders.join(" → "),
    },
    "Tyndau is running",
  );
  process.stdout.write(
    `\n  Tyndau is running at ${url}\n  database: ${config.database.kind} · storage: ${config.storage.kind} · speech: ${infra.providers.speechProviders.join(" → ")}\n\n`,
  );

  if (config.demo && !(await findUserByEmail(infra.database.db, DEMO_EMAIL))) {
    process.stdout.write(
      `  Creating the demo account and three sample calls…\n  Sign in as ${DEMO_EMAIL} / ${DEMO_PASSWORD}\n\n`,
    );
    seedDemo({
      baseUrl: `http://127.0.0.1:${api.port}`,
      dataDir: config.dataDir,
      logger: logger.child({ component: "demo" }),
    }).then(
      () => logger.info("demo account ready; its calls are being processed"),
      (err) => logger.error({ err }, "demo seeding failed"),
    );
  } else if (config.demo) {
    process.stdout.write(`  Demo account: ${DEMO_EMAIL} / ${DEMO_PASSWORD}\n\n`);
  }

  onShutdown(
    logger,
    async (graceMs) => {
      schedules.stop();
      await control?.close();
      await api.close();
      await infra.close(graceMs);
      releaseLock();
    },
    config.shutdownGraceSec,
  );
}

main().catch((error: unknown) => {
  // Startup problems (bad configuration, a data directory in use) are stated plainly, not as a stack.
  process.stderr.write(
    `\nTyndau could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
