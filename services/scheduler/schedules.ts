import cron from "node-cron";
import type { Logger } from "../../shared/logging/logger.ts";
import { scheduledJob } from "../../shared/queue/job-definitions.ts";
import type { JobQueue } from "../../shared/queue/job-queue.ts";
import type { ScheduledJobSpec } from "./jobs/scheduled-jobs.ts";

/**
 * The only file that imports node-cron. Every replica ticks, but each tick enqueues a job with a
 * singleton key per job and minute, so pg-boss keeps one: the job runs once across replicas.
 */
export function startSchedules(jobs: ScheduledJobSpec[], queue: JobQueue, logger: Logger): { stop(): void } {
  const tasks = jobs.map((job) =>
    cron.schedule(
      job.cron,
      async () => {
        const slot = new Date().toISOString().slice(0, 16);
        try {
          await queue.send(scheduledJob, { name: job.name }, { singletonKey: `${job.name}:${slot}` });
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
