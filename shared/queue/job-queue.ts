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
  /**
   * With singletonKey: at most one job per key in each window of this many seconds (windows follow
   * the database clock), whatever its state; e.g. 60 → once per minute across all replicas.
   */
  singletonSeconds?: number;
  startAfter?: Date;
}

export interface JobQueue {
  start(): Promise<void>;
  /**
   * Stops fetching jobs, waits up to `graceMs` for running handlers, then hands back the ones still
   * running (their jobs become available to another worker at once, without using up a retry).
   */
  stop(graceMs?: number): Promise<{ finished: number; handedBack: number }>;
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
  let stopping = false;
  /** Set once stop() has returned: the caller may close the database next. */
  let stopped = false;
  const boss = new PgBoss({
    db: {
      // After stop() the pool may be closed while a handed-back handler is still running; pg-boss then
      // completes its batch unawaited. Its bookkeeping is moot by then (the job was handed back), so it
      // is dropped instead of surfacing as an unhandled rejection on an ended pool.
      executeSql: (text: string, values: unknown[]) =>
        stopped ? Promise.resolve({ rows: [] }) : database.executeSql(text, values),
    },
    schema: "pgboss",
    // pg-boss' own cron is off: schedules live in services/scheduler (node-cron + singleton jobs).
    schedule: false,
    supervise: true,
    migrate: true,
    ...(queueOptions.maintenanceSec ? { maintenanceIntervalSeconds: queueOptions.maintenanceSec } : {}),
  });
  boss.on("error", (error) => logger.error({ err: error }, "job queue error"));
  const registered = new Set<string>();
  /** Jobs whose handlers run in this process, by id. */
  const inFlight = new Map<string, { queue: string; done: Promise<unknown>; controller: AbortController }>();
  /** Jobs handed back on shutdown: their late handlers must not complete or fail them any more. */
  const handedBack = new Set<string>();

  return {
    async start() {
      await boss.start();
    },
    async stop(graceMs = 10_000) {
      stopping = true;
      const started = inFlight.size;
      // pg-boss stops fetching now; its own deadline is set past ours so that it never fails (and so
      // uses up a retry of) a job we hand back below.
      const bossStopped = boss
        .stop({ graceful: true, timeout: graceMs + 60_000, wait: true, close: false })
        .catch((err) => logger.warn({ err }, "job queue stop failed"));
      const settled = Promise.allSettled([...inFlight.values()].map((j) => j.done));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        settled,
        new Promise((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
      const left = [...inFlight.entries()];
      if (left.length > 0) {
        for (const [id, job] of left) {
          handedBack.add(id);
          job.controller.abort(new Error("worker shutting down"));
        }
        await database.executeSql(
          `update pgboss.job set state = 'created', started_on = null, start_after = now()
            where id = any($1::uuid[]) and state = 'active'`,
          [left.map(([id]) => id)],
        );
        logger.warn(
          { jobs: left.map(([id, j]) => ({ id, queue: j.queue })) },
          "shutdown grace over; running jobs handed back to the queue",
        );
      } else {
        await bossStopped;
      }
      stopped = true;
      return { finished: started - left.length, handedBack: left.length };
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
      if (options.singletonSeconds) jobOptions.singletonSeconds = options.singletonSeconds;
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
              if (stopping) {
                // Fetched as the queue was stopping: give it straight back.
                await database.executeSql(
                  `update pgboss.job set state = 'created', started_on = null, start_after = now()
                    where id = $1::uuid and state = 'active'`,
                  [job.id],
                );
                return;
              }
              const parsed = definition.payload.safeParse(job.data);
              if (!parsed.success) {
                logger.error({ jobId: job.id, queue: definition.name }, "job payload invalid; dropped");
                await boss.fail(definition.name, job.id, { error: "payload invalid" });
                return;
              }
              const controller = new AbortController();
              const done = handler(parsed.data, {
                jobId: job.id,
                retryCount: job.retryCount,
                isLastAttempt: job.retryCount >= job.retryLimit,
                signal: controller.signal,
              });
              inFlight.set(job.id, { queue: definition.name, done, controller });
              try {
                await done;
                if (handedBack.has(job.id)) return;
                await boss.complete(definition.name, job.id);
              } catch (error) {
                if (handedBack.has(job.id)) return;
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
              } finally {
                inFlight.delete(job.id);
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
