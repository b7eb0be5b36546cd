import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createDatabaseOf, databaseKinds, type TestDatabase } from "../../test/harness/test-database.ts";
import { AppError } from "../errors/app-error.ts";
import { createLogger } from "../logging/logger.ts";
import { createJobQueue, defineJob, type JobQueue } from "./job-queue.ts";

const testJob = defineJob({
  name: "queue-test",
  payload: z.object({ label: z.string() }),
  retryLimit: 3,
  retryDelaySec: 1,
  expireInSec: 600,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Unhandled rejections anywhere in the process during a test fail it: pg-boss used to raise them after stop. */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

describe.each(databaseKinds)("job queue on %s", (kind) => {
  let t: TestDatabase;
  const queues: JobQueue[] = [];
  const logger = createLogger({ level: "silent" });

  async function openQueue(options: Parameters<typeof createJobQueue>[2] = {}): Promise<JobQueue> {
    const queue = createJobQueue(t.database, logger, options);
    queues.push(queue);
    await queue.start();
    await queue.register(testJob);
    return queue;
  }
  async function jobRow(id: string) {
    const { rows } = await t.database.executeSql(
      "select state, retry_count::int as retries from pgboss.job where id = $1::uuid",
      [id],
    );
    return rows[0] as { state: string; retries: number };
  }

  beforeAll(async () => {
    t = await createDatabaseOf(kind);
    // pg-boss' schema (PostgreSQL's template has it; a fresh PGlite not yet).
    const setup = createJobQueue(t.database, logger);
    await setup.start();
    await setup.stop(0);
    process.on("unhandledRejection", onUnhandled);
  });
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.stop(100);
    await t.database.executeSql("delete from pgboss.job where name = $1", [testJob.name]);
    expect(unhandled).toEqual([]);
  });
  afterAll(async () => {
    process.off("unhandledRejection", onUnhandled);
    await t?.drop();
  });

  it("a handler that finishes after stop() handed its job back settles quietly: no bookkeeping, no unhandled error, no query on the closed pool", async () => {
    // Its own database connection, closed right after stop() as a service's shutdown does.
    const own = await createDatabaseOf(kind);
    try {
      const queue = createJobQueue(own.database, logger);
      await queue.start();
      await queue.register(testJob);
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let aborted = false;
      const id = await queue.send(testJob, { label: "late" });
      const started = new Promise<void>((resolve) => {
        void queue.work(testJob, { concurrency: 1, pollingIntervalSec: 0.1 }, async (_payload, context) => {
          context.signal.addEventListener("abort", () => {
            aborted = true;
          });
          resolve();
          await gate; // ignores the abort, like a provider call that cannot be cancelled
          throw new AppError("INTERNAL", "failed after the stop");
        });
      });
      await started;
      const result = await queue.stop(200);
      expect(result).toEqual({ finished: 0, handedBack: 1 });
      expect(aborted).toBe(true);
      const { rows } = await own.database.executeSql(
        "select state, retry_count::int as retries from pgboss.job where id = $1::uuid",
        [id],
      );
      expect(rows[0]).toEqual({ state: "created", retries: 0 });
      await own.database.close();
      release();
      await sleep(300);
      expect(unhandled).toEqual([]);
    } finally {
      await own.drop().catch(() => {});
    }
  });

  it("after stop() nothing reaches the database: work() and send() are refused with a clear error, not a crash in pg-boss", async () => {
    const queue = createJobQueue(t.database, logger);
    await queue.start();
    await queue.register(testJob);
    const id = await queue.send(testJob, { label: "x" });
    await queue.stop(100);
    await expect(queue.work(testJob, { concurrency: 1 }, async () => {})).rejects.toThrow(/stopping/);
    await expect(queue.send(testJob, { label: "y" })).rejects.toThrow(/stopped/);
    expect((await jobRow(id!)).state).toBe("created");
  });

  it("an interrupted handler (Ctrl-C reached its child process) hands its job back without spending a retry", async () => {
    const queue = await openQueue();
    const id = await queue.send(testJob, { label: "interrupted" });
    let runs = 0;
    await queue.work(testJob, { concurrency: 1, pollingIntervalSec: 0.1 }, async () => {
      runs++;
      if (runs === 1) throw new AppError("TRANSCRIPTION_FAILED", "stopped by SIGINT", { interrupted: true });
    });
    await until(async () => (await jobRow(id!)).state === "completed", 10_000, "the job to complete");
    expect(runs).toBe(2);
    expect((await jobRow(id!)).retries).toBe(0);
  });

  it("a retryable failure outside a stop spends a retry; a permanent one is not retried", async () => {
    const queue = await openQueue();
    const flaky = await queue.send(testJob, { label: "flaky" });
    const broken = await queue.send(testJob, { label: "broken" });
    const seen: string[] = [];
    await queue.work(testJob, { concurrency: 2, pollingIntervalSec: 0.1 }, async ({ label }) => {
      seen.push(label);
      if (label === "flaky" && seen.filter((l) => l === "flaky").length === 1)
        throw new AppError("UNAVAILABLE", "try again", { retryable: true });
      if (label === "broken") throw new AppError("MEDIA_UNREADABLE", "not audio");
    });
    await until(async () => (await jobRow(flaky!)).state === "completed", 15_000, "the retry");
    expect((await jobRow(flaky!)).retries).toBe(1);
    expect((await jobRow(broken!)).state).toBe("cancelled");
    expect(seen.filter((l) => l === "broken")).toHaveLength(1);
  });

  it("keeps `concurrency` jobs running: a slow job does not hold back the others", async () => {
    const queue = await openQueue();
    const ids = await Promise.all(
      ["slow", "a", "b", "c", "d"].map((label) => queue.send(testJob, { label })),
    );
    const finished: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    await queue.work(testJob, { concurrency: 2, pollingIntervalSec: 0.1 }, async ({ label }) => {
      if (label === "slow") await gate;
      finished.push(label);
    });
    await until(async () => finished.length === 4, 10_000, "the quick jobs beside the slow one");
    release();
    await until(async () => (await jobRow(ids[0]!)).state === "completed", 10_000, "the slow job");
  });

  it("a job left active by a dead worker is resumed once its lease runs out, by one worker only; a live worker's job is never taken over", async () => {
    // The dead worker: a job fetched and never heartbeaten again (its process was killed).
    const dead = createJobQueue(t.database, logger, { leaseSec: 5 });
    await dead.start();
    await dead.register(testJob);
    const orphan = await dead.send(testJob, { label: "orphan" });
    const live = await dead.send(testJob, { label: "long" });
    // Claim the orphan as a worker would, with a claim that already ran out.
    await t.database.executeSql(
      `update pgboss.job set state = 'active', started_on = now() - interval '10 seconds',
         heartbeat_on = now() - interval '10 seconds', heartbeat_seconds = 5 where id = $1::uuid`,
      [orphan],
    );
    await dead.stop(0);

    const runs: Record<string, number> = {};
    const handler = async ({ label }: { label: string }) => {
      runs[label] = (runs[label] ?? 0) + 1;
      // The long job outlives two leases while its worker keeps heartbeating.
      if (label === "long") await sleep(12_000);
    };
    const a = await openQueue({ leaseSec: 5 });
    const b = await openQueue({ leaseSec: 5 });
    await a.work(testJob, { concurrency: 2, pollingIntervalSec: 0.2 }, handler);
    await b.work(testJob, { concurrency: 2, pollingIntervalSec: 0.2 }, handler);
    await until(
      async () =>
        (await jobRow(orphan!)).state === "completed" && (await jobRow(live!)).state === "completed",
      40_000,
      "both jobs to complete",
    );
    expect(runs).toEqual({ orphan: 1, long: 1 });
    expect((await jobRow(orphan!)).retries).toBe(0);
  }, 60_000);

  it.runIf(kind === "pglite")(
    "on the embedded database every job found active at start was cut off by a crash and resumes at once",
    async () => {
      const before = createJobQueue(t.database, logger);
      await before.start();
      await before.register(testJob);
      const id = await before.send(testJob, { label: "crashed" });
      // As a kill -9 leaves it: active, with a long claim nobody will renew.
      await t.database.executeSql(
        `update pgboss.job set state = 'active', started_on = now(), heartbeat_on = now(),
           heartbeat_seconds = 3600 where id = $1::uuid`,
        [id],
      );
      await before.stop(0);
      const queue = await openQueue({ exclusive: true });
      const t0 = Date.now();
      await queue.work(testJob, { concurrency: 1, pollingIntervalSec: 0.1 }, async () => {});
      await until(async () => (await jobRow(id!)).state === "completed", 10_000, "the resumed job");
      expect(Date.now() - t0).toBeLessThan(5_000);
    },
  );

  it("moves a pg-boss 10 schema aside at the first start and carries its unfinished jobs over, each once", async () => {
    const own = await createDatabaseOf(kind);
    try {
      // The pg-boss 10.4 layout (schema version 24) as a deployment of the previous release has it.
      await own.database.executeSql(
        `drop schema if exists pgboss cascade;
         create schema pgboss;
         create table pgboss.version (version int primary key, maintained_on timestamptz, cron_on timestamptz);
         insert into pgboss.version (version) values (24);
         create table pgboss.job (
           id uuid primary key, name text not null, priority int not null default 0, data jsonb,
           state text not null, retry_limit int not null default 2, retry_count int not null default 0,
           retry_delay int not null default 0, retry_backoff bool not null default false,
           start_after timestamptz not null default now(), started_on timestamptz, singleton_key text,
           singleton_on timestamp, expire_in interval not null default interval '15 minutes',
           created_on timestamptz not null default now(), completed_on timestamptz,
           keep_until timestamptz not null default now() + interval '14 days', output jsonb,
           dead_letter text, policy text);
         insert into pgboss.job (id, name, data, state, retry_count, started_on) values
           ('00000000-0000-4000-8000-000000000001', 'queue-test', '{"label":"waiting"}', 'created', 0, null),
           ('00000000-0000-4000-8000-000000000002', 'queue-test', '{"label":"cut-off"}', 'active', 1, now()),
           ('00000000-0000-4000-8000-000000000003', 'queue-test', '{"label":"finished"}', 'completed', 0, now());`,
      );
      const seen: string[] = [];
      for (let start = 0; start < 2; start++) {
        // Two starts: the second (a replica, or a restart) moves and carries nothing again.
        const queue = createJobQueue(own.database, logger);
        await queue.start();
        await queue.register(testJob);
        await queue.work(testJob, { concurrency: 2, pollingIntervalSec: 0.1 }, async ({ label }) => {
          seen.push(label);
        });
        await until(async () => seen.length >= 2, 10_000, "the carried-over jobs");
        await sleep(300);
        await queue.stop(100);
      }
      expect(seen.sort()).toEqual(["cut-off", "waiting"]);
      const { rows } = await own.database.executeSql(
        "select count(*)::int as n from pgboss_v10.job where state in ('created', 'retry', 'active')",
      );
      expect(rows[0]?.n).toBe(0);
      const { rows: carried } = await own.database.executeSql(
        "select retry_count::int as r from pgboss.job where id = '00000000-0000-4000-8000-000000000002'",
      );
      expect(carried[0]?.r).toBe(1);
    } finally {
      await own.drop().catch(() => {});
    }
  });
});
