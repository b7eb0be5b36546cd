import { type Config, loadConfig } from "../../shared/config/config.ts";
import { createLogger, type Logger } from "../../shared/logging/logger.ts";
import { pullSourcesJob, scheduledJob } from "../../shared/queue/job-definitions.ts";
import { surviveQueueBookkeepingErrors } from "../../shared/queue/job-queue.ts";
import { type Infrastructure, openInfrastructure } from "../../shared/runtime/infrastructure.ts";
import {
  isEntryPoint,
  onShutdown,
  requireSharedDatabase,
  startHealthServer,
} from "../../shared/runtime/process.ts";
import { findScheduledJob, scheduledJobs } from "./jobs/scheduled-jobs.ts";
import { startSchedules } from "./schedules.ts";

/** Runs one scheduled job as of `now` and returns what it did (used by the worker and `npm run job`). */
export async function runScheduledJob(
  infra: Pick<Infrastructure, "database" | "mailer" | "storage"> & Partial<Pick<Infrastructure, "queue">>,
  logger: Logger,
  name: string,
  now: Date,
) {
  const job = findScheduledJob(name);
  if (!job) {
    throw new Error(`Unknown job "${name}". Known: ${scheduledJobs.map((j) => j.name).join(", ")}`);
  }
  const started = performance.now();
  const result = await job.run(
    {
      database: infra.database,
      mailer: infra.mailer,
      storage: infra.storage,
      queue: infra.queue,
      logger,
    },
    now,
  );
  logger.info(
    { job: name, now: now.toISOString(), ms: Math.round(performance.now() - started), result },
    "scheduled job done",
  );
  return result;
}

export async function startScheduler(
  _config: Config,
  infra: Infrastructure,
  logger: Logger,
): Promise<{ stop(): void }> {
  const log = logger.child({ component: "scheduler" });
  await infra.queue.register(scheduledJob);
  await infra.queue.register(pullSourcesJob);
  await infra.queue.work(scheduledJob, { concurrency: 1, pollingIntervalSec: 2 }, async (payload) => {
    await runScheduledJob(infra, log, payload.name, payload.now ? new Date(payload.now) : new Date());
  });
  return startSchedules(scheduledJobs, infra.queue, log);
}

if (isEntryPoint(import.meta.url)) {
  const config = loadConfig();
  requireSharedDatabase(config, "scheduler");
  const logger = createLogger({ level: config.logLevel, name: "tyndau-scheduler" });
  surviveQueueBookkeepingErrors(logger);
  const infra = await openInfrastructure(config, logger);
  const schedules = await startScheduler(config, infra, logger);
  const health =
    config.healthPort === undefined
      ? undefined
      : await startHealthServer(config.healthPort, () => infra.readiness(), logger);
  onShutdown(
    logger,
    async (graceMs) => {
      schedules.stop();
      await infra.close(graceMs);
      await health?.close();
    },
    config.shutdownGraceSec,
  );
}
