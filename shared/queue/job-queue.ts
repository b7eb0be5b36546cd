import PgBoss from "pg-boss";
import type { z } from "zod";
import type { Db, SqlExecutor } from "../db/client.ts";
import { sqlExecutorFor } from "../db/client.ts";
import { isTransientDbError } from "../db/transient-errors.ts";
import { isAppError } from "../errors/app-error.ts";
import type { Logger } from "../logging/logger.ts";

/** A queue's contract: its name, the payload schema checked at both ends, and its retry policy. */
export interface JobDefinition<S extends z.ZodType> {
  name: string;
  payload: S;
  retryLimit: number;
  /** Seconds before the first retry; doubled each time (with pg-boss' jitter). */
  retryDelaySec: number;
  /** A job running longer than this is considered lost and retried (e.g. its worker was killed). */
  expireInSec: number;
}

export function defineJob<S extends z.ZodType>(definition: JobDefinition<S>): JobDefinition<S> {
  return definition;
}

export interface JobContext {
  jobId: string;
  /** 0 on the first attempt. */
  retryCount: number;
  /** True when a failure now will not be retried: the handler must leave the domain state final. */
  isLastAttempt: boolean;
  signal: AbortSignal;
}

export interface SendOptions {
  /** Enqueue inside this transaction: the job exists only if the transaction commits. */
  tx?: Db;
  singletonKey?: string;
  startAfter?: Date;
}

export interface JobQueue {
  start(): Promise<void>;
  /** Stops polling, waits up to `graceMs` for running handlers, then closes. */
  stop(graceMs?: number): Promise<void>;
  register(definition: JobDefinition<z.ZodType>): Promise<void>;
  send<S extends z.ZodType>(
    definition: JobDefinition<S>,
    payload: z.input<S>,
    options?: SendOptions,
  ): Promise<string | null>;
  work<S extends z.ZodType>(
    definition: JobDefinition<S>,
    options: { concurrency: number; pollingIntervalSec?: number },
    handler: (payload: z.output<S>, context: JobContext) => Promise<void>,
  ): Promise<void>;
  /** Counts per state of a queue (for readiness, metrics and tests). */
  counts(name: string): Promise<Record<string, number>>;
}

export interface JobQueueOptions {
  /** Overrides every queue's `expireInSec` (a shorter one finds jobs of killed workers sooner). */
  jobExpireSec?: number | undefined;
  /** How often expired (lost) jobs are looked for; pg-boss' default is 120 s. */
  maintenanceSec?: number | undefined;
}

export function createJobQueue(
  database: SqlExecutor,
  logger: Logger,
  queueOptions: JobQueueOptions = {},
): JobQueue {
  const boss = new PgBoss({
    db: { executeSql: (text: string, values: unknown[]) => database.executeSql(text, values) },
    schema: "pgboss",
    // pg-boss' own cron is off: schedules live in services/scheduler (node-cron + singleton jobs).
    schedule: false,
    supervise: true,
    migrate: true,
    ...(queueOptions.maintenanceSec ? { maintenanceIntervalSeconds: queueOptions.maintenanceSec } : {}),
  });
  boss.on("error", (error) => logger.error({ err: error }, "job queue error"));
  const registered = new Set<string>();

  return {
    async start() {
      await boss.start();
    },
    async stop(graceMs = 10_000) {
      await boss.stop({ graceful: true, timeout: graceMs, wait: true, close: false });
    },
    async register(definition) {
      if (registered.has(definition.name)) return;
      const options = {
        name: definition.name,
        retryLimit: definition.retryLimit,
        retryDelay: definition.retryDelaySec,
        retryBackoff: true,
        expireInSeconds: queueOptions.jobExpireSec ?? definition.expireInSec,
      };
      // Replicas starting together create the same queues at once: pg-boss' create_queue can then
      // deadlock or collide; the loser tries again (and finds the queue there).
      for (let attempt = 0; ; attempt++) {
        try {
          const existing = await boss.getQueue(definition.name);
          if (existing) await boss.updateQueue(definition.name, options);
          else await boss.createQueue(definition.name, options);
          break;
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          if (attempt >= 5 || !(code === "40P01" || code === "23505" || isTransientDbError(error)))
            throw error;
          await new Promise((r) => setTimeout(r, 100 + Math.random() * 400));
        }
      }
      registered.add(definition.name);
    },
    async send(definition, payload, options = {}) {
      const data = definition.payload.parse(payload) as object;
      const jobOptions: PgBoss.SendOptions = {};
      if (options.tx) jobOptions.db = sqlExecutorFor(options.tx) as PgBoss.Db;
      if (options.singletonKey) jobOptions.singletonKey = options.singletonKey;
      if (options.startAfter) jobOptions.startAfter = options.startAfter;
      return boss.send(definition.name, data, jobOptions);
    },
    async work(definition, options, handler) {
      await boss.work(
        definition.name,
        {
          batchSize: options.concurrency,
          includeMetadata: true,
          pollingIntervalSeconds: options.pollingIntervalSec ?? 0.5,
        },
        async (jobs) => {
          // A batch is handled concurrently; each job settles on its own.
          const results = await Promise.allSettled(
            jobs.map(async (job) => {
              const parsed = definition.payload.safeParse(job.data);
              if (!parsed.success) {
                logger.error({ jobId: job.id, queue: definition.name }, "job payload invalid; dropped");
                await boss.fail(definition.name, job.id, { error: "payload invalid" });
                return;
              }
              const controller = new AbortController();
              try {
                await handler(parsed.data, {
                  jobId: job.id,
                  retryCount: job.retryCount,
                  isLastAttempt: job.retryCount >= job.retryLimit,
                  signal: controller.signal,
                });
                await boss.complete(definition.name, job.id);
              } catch (error) {
                // A database that is briefly unreachable (restart, failover) is worth another attempt.
                const retry = (isAppError(error) && error.retryable) || isTransientDbError(error);
                logger.warn(
                  {
                    jobId: job.id,
                    queue: definition.name,
                    code: isAppError(error) ? error.code : "INTERNAL",
                    retry,
                  },
                  "job failed",
                );
                await boss.fail(definition.name, job.id, {
                  error: error instanceof Error ? error.message : String(error),
                });
                if (!retry && job.retryCount < job.retryLimit) {
                  // Permanent failures are not retried: the handler has already recorded them.
                  await boss.cancel(definition.name, job.id).catch(() => {});
                }
              }
            }),
          );
          for (const r of results)
            if (r.status === "rejected") logger.error({ err: r.reason }, "job bookkeeping failed");
        },
      );
    },
    async counts(name) {
      const rows = await database.executeSql(
        "select state, count(*)::int as n from pgboss.job where name = $1 group by state",
        [name],
      );
      const out: Record<string, number> = {};
      for (const row of rows.rows) out[String(row.state)] = Number(row.n);
      return out;
    },
  };
}

/**
 * pg-boss' worker completes (or fails) each fetched batch itself without awaiting the promise, so while
 * PostgreSQL is down that rejection is unhandled and Node would kill the process. Our handler settles
 * every job itself, so such a failure loses nothing: a service process calls this once at start to log
 * unhandled transient database errors and keep running; any other unhandled rejection still crashes it.
 */
export function surviveQueueBookkeepingErrors(logger: Logger): void {
  process.on("unhandledRejection", (reason) => {
    if (isTransientDbError(reason)) {
      logger.warn({ err: reason }, "an unawaited database call failed while the database was unreachable");
      return;
    }
    throw reason;
  });
}
