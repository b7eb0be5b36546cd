import {
  type Db as BossDb,
  type SendOptions as BossSendOptions,
  type JobWithMetadata,
  PgBoss,
} from "pg-boss";
import type { z } from "zod";
import type { Db, SqlExecutor } from "../db/client.ts";
import { sqlExecutorFor } from "../db/client.ts";
import { isTransientDbError } from "../db/transient-errors.ts";
import { isAppError, isInterruption } from "../errors/app-error.ts";
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
  /** Overrides every queue's `expireInSec` (the longest a job may run before it is stopped and retried). */
  jobExpireSec?: number | undefined;
  /** How often pg-boss' maintenance runs (its backstop for expired jobs); its default is 120 s. */
  maintenanceSec?: number | undefined;
  /**
   * Seconds a running job stays claimed without a heartbeat from its worker. Each worker renews the
   * claim of its jobs every leaseSec/4; a job whose claim ran out belonged to a dead worker (kill -9,
   * OOM, power cut) and is resumed by any live one. Default 45.
   */
  leaseSec?: number | undefined;
  /**
   * The database belongs to this process alone (embedded PGlite in ./data): every job found active at
   * start was cut off by a crash of this same process, and is resumed at once.
   */
  exclusive?: boolean | undefined;
  /** Queues created at start, so that any of them can be sent to from this process at once. */
  definitions?: readonly JobDefinition<z.ZodType>[] | undefined;
  /** The embedded database: pg-boss then uses its PGlite profile. */
  embedded?: boolean | undefined;
}

/** pg-boss' tables. A v10 schema found under this name at start is moved aside and its jobs carried over. */
export const QUEUE_SCHEMA = "pgboss";
/** Where a pg-boss 10 schema (version 24) is moved at the first start of pg-boss 12. */
export const RETIRED_QUEUE_SCHEMA = "pgboss_v10";
/** Arbitrary, fixed: replicas starting together move the old schema once. */
const SCHEMA_MOVE_LOCK_KEY = 7_310_442_002;

interface Running {
  queue: string;
  controller: AbortController;
  /** Set when this process gave the job back (stop) or lost its claim: its outcome is no longer ours. */
  released: boolean;
}

const DEFAULT_LEASE_SEC = 45;

/**
 * Our own fetch loop over pg-boss' fetch/complete/fail, rather than `boss.work()`: pg-boss settles a
 * worker's batch without awaiting it (an unhandled rejection on a stopping pool) and waits for a whole
 * batch before fetching again. Here every job settles on its own, inside our promise chain; a stop
 * hands unfinished jobs back without spending a retry; claims are renewed by a heartbeat so that a dead
 * worker's jobs are resumed within about a lease, and never by two live workers at once.
 */
export function createJobQueue(
  database: SqlExecutor,
  logger: Logger,
  queueOptions: JobQueueOptions = {},
): JobQueue {
  const leaseSec = queueOptions.leaseSec ?? DEFAULT_LEASE_SEC;
  let stopping = false;
  let stopped = false;
  const boss = new PgBoss({
    db: {
      executeSql: async (text: string, values?: unknown[]) => {
        // After stop() the caller may close the pool: nothing of ours may reach it any more.
        if (stopped) throw new Error("job queue is stopped");
        return database.executeSql(text, values ?? []);
      },
    },
    schema: QUEUE_SCHEMA,
    ...(queueOptions.embedded ? { backend: "pglite" as const } : {}),
    // pg-boss' own cron is off: schedules live in services/scheduler (node-cron + singleton jobs).
    schedule: false,
    supervise: true,
    migrate: true,
    // Informational only, and one more write per process every 30 s; our leases find dead workers.
    registerInstance: false,
    // pg-boss' monitor (the backstop that expires jobs past their limit) runs on the supervisor's beat.
    ...(queueOptions.maintenanceSec
      ? {
          superviseIntervalSeconds: queueOptions.maintenanceSec,
          monitorIntervalSeconds: queueOptions.maintenanceSec,
        }
      : {}),
  });
  boss.on("error", (error) => {
    if (!stopped) logger.error({ err: error }, "job queue error");
  });
  boss.on("warning", (warning) => {
    if (!stopped) logger.warn({ warning }, "job queue warning");
  });
  const registered = new Map<string, JobDefinition<z.ZodType>>();
  /** Jobs whose handlers run in this process, by id. */
  const running = new Map<string, Running>();
  /** Each work() call's fetch loop, and its wake-up (a freed slot or a stop). */
  const loops: Promise<void>[] = [];
  const wakers = new Set<() => void>();
  const wakeAll = () => {
    for (const wake of wakers) wake();
  };
  /** Every in-flight handler, settled or not, so stop() can wait for them. */
  const handlers = new Set<Promise<void>>();
  let heartbeat: NodeJS.Timeout | undefined;
  let beating = false;

  /** True when a retired pg-boss 10 schema may still hold jobs to carry over (checked at start). */
  let carryOver = false;

  /**
   * pg-boss 12 cannot migrate a pg-boss 10 schema (version 24): at the first start of this release the
   * old schema is renamed aside (once, under a lock), pg-boss 12 installs its own, and each queue's
   * waiting jobs are carried over when the queue is registered (see carryOverJobs).
   */
  async function retireV10Schema(): Promise<void> {
    await database.executeSql(
      `do $$
       declare v int;
       begin
         perform pg_advisory_xact_lock(${SCHEMA_MOVE_LOCK_KEY});
         if to_regclass('${QUEUE_SCHEMA}.version') is null
            or to_regnamespace('${RETIRED_QUEUE_SCHEMA}') is not null then
           return;
         end if;
         -- dynamic: the table may not exist when this block is planned
         execute 'select max(version) from ${QUEUE_SCHEMA}.version' into v;
         if v < 25 then
           alter schema ${QUEUE_SCHEMA} rename to ${RETIRED_QUEUE_SCHEMA};
         end if;
       end $$`,
      [],
    );
  }

  /** Moves a queue's unfinished pg-boss 10 jobs into pg-boss 12, each once (delete … returning → insert). */
  async function carryOverJobs(name: string): Promise<void> {
    if (!carryOver) return;
    const { rows } = await database.executeSql(
      `with moved as (
         delete from ${RETIRED_QUEUE_SCHEMA}.job
          where name = $1 and state in ('created', 'retry', 'active')
          returning *
       ), inserted as (
         insert into ${QUEUE_SCHEMA}.job (id, name, priority, data, state, retry_limit, retry_count,
                retry_delay, retry_backoff, expire_seconds, singleton_key, singleton_on, start_after,
                created_on, keep_until, policy)
         select id, name, priority, data, 'created', retry_limit, retry_count, retry_delay, retry_backoff,
                greatest(1, extract(epoch from expire_in)::int), singleton_key, singleton_on,
                least(start_after, now()), created_on, keep_until, policy
           from moved
         on conflict do nothing
         returning id
       )
       select count(*)::int as n from inserted`,
      [name],
    );
    const n = Number(rows[0]?.n ?? 0);
    if (n > 0) logger.info({ queue: name, jobs: n }, "carried pg-boss 10 jobs over to pg-boss 12");
  }

  /** Back to `created`, as if never fetched: fetch counts a retry only for jobs with a start time. */
  async function giveBack(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await database.executeSql(
      `update ${QUEUE_SCHEMA}.job set state = 'created', started_on = null, heartbeat_on = null,
          start_after = now()
        where id = any($1::uuid[]) and state = 'active'`,
      [ids],
    );
  }

  /**
   * Renews this process' claims and resumes jobs whose claim ran out (their worker died). A job of ours
   * that is no longer active was taken over (we were unreachable past the lease): its handler is aborted
   * and its outcome ignored.
   */
  async function beat(): Promise<void> {
    if (beating || stopped) return;
    beating = true;
    try {
      const mine = [...running.entries()].filter(([, r]) => !r.released).map(([id]) => id);
      if (mine.length > 0) {
        const { rows } = await database.executeSql(
          `update ${QUEUE_SCHEMA}.job set heartbeat_on = now(), heartbeat_seconds = $2
            where id = any($1::uuid[]) and state = 'active' returning id`,
          [mine, leaseSec],
        );
        const alive = new Set(rows.map((r) => String(r.id)));
        for (const id of mine) {
          const job = running.get(id);
          if (job && !alive.has(id) && !job.released) {
            job.released = true;
            job.controller.abort(new Error("job claim lost"));
            logger.warn({ jobId: id, queue: job.queue }, "job claim lost; another worker resumes it");
          }
        }
      }
      await resumeOrphans(false);
    } catch (error) {
      if (!stopped) logger.warn({ err: error }, "job heartbeat failed; will try again");
    } finally {
      beating = false;
    }
  }

  /** Jobs active with an expired claim (or, on an exclusive database at start, every active job). */
  async function resumeOrphans(all: boolean): Promise<void> {
    const names = [...registered.keys()];
    if (names.length === 0 && !all) return;
    const { rows } = await database.executeSql(
      `update ${QUEUE_SCHEMA}.job set state = 'created', started_on = null, heartbeat_on = null,
          start_after = now()
        where state = 'active' and ${
          all
            ? "true"
            : "name = any($1::text[]) and coalesce(heartbeat_on, started_on) + make_interval(secs => coalesce(heartbeat_seconds, expire_seconds)) < now()"
        }
          ${all ? "" : "and not (id = any($2::uuid[]))"}
        returning id, name`,
      all ? [] : [names, [...running.keys()]],
    );
    if (rows.length > 0)
      logger.warn(
        { jobs: rows.map((r) => ({ id: r.id, queue: r.name })) },
        "resumed jobs whose worker stopped without finishing them",
      );
  }

  async function runJob(
    definition: JobDefinition<z.ZodType>,
    job: JobWithMetadata<object>,
    handler: (payload: unknown, context: JobContext) => Promise<void>,
  ): Promise<void> {
    const log = logger.child({ jobId: job.id, queue: definition.name });
    const entry: Running = { queue: definition.name, controller: new AbortController(), released: false };
    running.set(job.id, entry);
    const expireSec = queueOptions.jobExpireSec ?? definition.expireInSec;
    // A handler that outruns its queue's limit is stopped and the job retried (a retry is spent).
    const limit = setTimeout(
      () => entry.controller.abort(new Error(`job ran longer than ${expireSec} s`)),
      expireSec * 1000,
    );
    try {
      // Claim it for one lease now: until the first heartbeat the queue's long expiry would apply.
      await database.executeSql(
        `update ${QUEUE_SCHEMA}.job set heartbeat_on = now(), heartbeat_seconds = $2
          where id = $1::uuid and state = 'active'`,
        [job.id, leaseSec],
      );
      const parsed = definition.payload.safeParse(job.data);
      if (!parsed.success) {
        log.error("job payload invalid; dropped");
        await boss.fail(definition.name, job.id, { error: "payload invalid" });
        await boss.cancel(definition.name, job.id);
        return;
      }
      try {
        await handler(parsed.data, {
          jobId: job.id,
          retryCount: job.retryCount,
          isLastAttempt: job.retryCount >= job.retryLimit,
          signal: entry.controller.signal,
        });
        if (entry.released) return;
        await boss.complete(definition.name, job.id);
      } catch (error) {
        if (entry.released) return;
        if (isInterruption(error) || (stopping && isRetryable(error))) {
          // Cut off by a stop, not failed: back to the queue as it was, no retry spent.
          entry.released = true;
          await giveBack([job.id]);
          log.info({ code: isAppError(error) ? error.code : undefined }, "job interrupted; handed back");
          return;
        }
        const retry = isRetryable(error);
        log.warn({ code: isAppError(error) ? error.code : "INTERNAL", retry }, "job failed");
        await boss.fail(definition.name, job.id, {
          error: error instanceof Error ? error.message : String(error),
        });
        if (!retry && job.retryCount < job.retryLimit) {
          // Permanent failures are not retried: the handler has already recorded them.
          await boss.cancel(definition.name, job.id);
        }
      }
    } catch (bookkeeping) {
      // The database went away between the work and its bookkeeping: the job stays active, its claim
      // runs out, and it is resumed; every handler is idempotent.
      if (!stopped) log.warn({ err: bookkeeping }, "job bookkeeping failed; the job resumes after its lease");
    } finally {
      clearTimeout(limit);
      running.delete(job.id);
    }
  }

  return {
    async start() {
      await retireV10Schema();
      await boss.start();
      const { rows } = await database.executeSql(
        `select to_regclass('${RETIRED_QUEUE_SCHEMA}.job') is not null as "hasOld"`,
        [],
      );
      carryOver = rows[0]?.hasOld === true;
      for (const definition of queueOptions.definitions ?? []) await this.register(definition);
      if (queueOptions.exclusive) await resumeOrphans(true);
      heartbeat = setInterval(() => void beat(), Math.max(1000, (leaseSec * 1000) / 4));
      heartbeat.unref();
    },
    async stop(graceMs = 10_000) {
      if (stopped) return { finished: 0, handedBack: 0 };
      stopping = true;
      wakeAll();
      await Promise.allSettled(loops);
      const started = running.size;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...handlers]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
      clearInterval(heartbeat);
      const left = [...running.entries()].filter(([, r]) => !r.released);
      for (const [, job] of left) {
        job.released = true;
        job.controller.abort(new Error("worker shutting down"));
      }
      try {
        await giveBack(left.map(([id]) => id));
      } catch (error) {
        logger.warn({ err: error }, "could not hand jobs back; they resume after their lease");
      }
      if (left.length > 0)
        logger.warn(
          { jobs: left.map(([id, j]) => ({ id, queue: j.queue })) },
          "shutdown grace over; running jobs handed back to the queue",
        );
      // Our handlers run outside pg-boss' workers, so its stop waits for nothing but its own timers.
      await boss
        .stop({ graceful: false, close: false })
        .catch((err) => logger.warn({ err }, "job queue stop failed"));
      stopped = true;
      return { finished: Math.max(0, started - left.length), handedBack: left.length };
    },
    async register(definition) {
      if (registered.has(definition.name)) return;
      const options = {
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
      await carryOverJobs(definition.name);
      registered.set(definition.name, definition);
    },
    async send(definition, payload, options = {}) {
      const data = definition.payload.parse(payload) as object;
      const jobOptions: BossSendOptions = {};
      if (options.tx) jobOptions.db = sqlExecutorFor(options.tx) as BossDb;
      if (options.singletonKey) jobOptions.singletonKey = options.singletonKey;
      if (options.singletonSeconds) jobOptions.singletonSeconds = options.singletonSeconds;
      if (options.startAfter) jobOptions.startAfter = options.startAfter;
      return boss.send(definition.name, data, jobOptions);
    },
    async work(definition, options, handler) {
      if (stopping) throw new Error("job queue is stopping");
      const pollMs = (options.pollingIntervalSec ?? 0.5) * 1000;
      const mine = new Set<Promise<void>>();
      const loop = async () => {
        let idleMs = pollMs;
        while (!stopping) {
          if (mine.size >= options.concurrency) {
            await waitFor(Number.POSITIVE_INFINITY);
            continue;
          }
          let jobs: JobWithMetadata<object>[];
          try {
            jobs = await boss.fetch<object>(definition.name, {
              batchSize: options.concurrency - mine.size,
              includeMetadata: true,
            });
            idleMs = pollMs;
          } catch (error) {
            if (stopping) break;
            // The database is unreachable (restart, failover): back off, up to 10 s between tries.
            logger.warn({ err: error, queue: definition.name }, "could not fetch jobs; will try again");
            idleMs = Math.min(idleMs * 2, 10_000);
            await waitFor(idleMs);
            continue;
          }
          if (stopping) {
            await giveBack(jobs.map((j) => j.id)).catch((err) =>
              logger.warn({ err }, "could not hand fetched jobs back; they resume after their lease"),
            );
            break;
          }
          if (jobs.length === 0) {
            await waitFor(pollMs);
            continue;
          }
          for (const job of jobs) {
            const done: Promise<void> = runJob(definition, job, handler as never).finally(() => {
              mine.delete(done);
              handlers.delete(done);
              wakeAll(); // a slot is free
            });
            mine.add(done);
            handlers.add(done);
          }
        }
      };
      /** Sleeps up to ms, waking early when a slot frees or the queue stops. */
      const waitFor = (ms: number) =>
        new Promise<void>((resolve) => {
          if (stopping) return resolve();
          const wake = () => {
            clearTimeout(timer);
            wakers.delete(wake);
            resolve();
          };
          const timer = Number.isFinite(ms) ? setTimeout(wake, ms) : undefined;
          wakers.add(wake);
        });
      loops.push(
        loop().catch((error) => {
          logger.error({ err: error, queue: definition.name }, "job loop stopped on an unexpected error");
        }),
      );
    },
    async counts(name) {
      const rows = await database.executeSql(
        `select state, count(*)::int as n from ${QUEUE_SCHEMA}.job where name = $1 group by state`,
        [name],
      );
      const out: Record<string, number> = {};
      for (const row of rows.rows) out[String(row.state)] = Number(row.n);
      return out;
    },
  };
}

/** Worth another attempt: a retryable AppError, or a database that is briefly unreachable. */
function isRetryable(error: unknown): boolean {
  return (isAppError(error) && error.retryable) || isTransientDbError(error);
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
