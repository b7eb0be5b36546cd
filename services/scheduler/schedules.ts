import cron from "node-cron";
import type { Logger } from "../../shared/logging/logger.ts";
import { scheduledJob } from "../../shared/queue/job-definitions.ts";
import type { JobQueue } from "../../shared/queue/job-queue.ts";
import type { ScheduledJobSpec } from "./jobs/scheduled-jobs.ts";

/**
 * The only file that imports node-cron. Every replica ticks, but each tick enqueues its job with the
 * job's name as singleton key and a one-minute singleton window (on the database clock), so pg-boss
 * keeps one job per name and minute whatever state it is in: the job runs once across replicas.
 * (A singleton key alone dedupes nothing on a standard pg-boss queue; the window is what does.)
 */
export function startSchedules(
  jobs: ScheduledJobSpec[],
  queue: JobQueue,
  logger: Logger,
  options: { slotSec?: number } = {},
): { stop(): void } {
  const slotSec = options.slotSec ?? 60;
  const tasks = jobs.map((job) =>
    cron.schedule(
      job.cron,
      async () => {
        try {
          await queue.send(
            scheduledJob,
            { name: job.name },
            { singletonKey: job.name, singletonSeconds: slotSec },
          );
        } catch (err) {
          logger.error({ err, job: job.name }, "could not enqueue scheduled job");
        }
      },
      { timezone: "Etc/GMT-5", name: job.name },
    ),
  );
  return {
    stop() {
      for (const t of tasks) t.stop();
    },
  };
}
