import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../shared/logging/logger.ts";
import { ensureBucket } from "../../shared/providers/storage/s3-object-storage.ts";
import { createJobQueue, type JobQueue } from "../../shared/queue/job-queue.ts";
import { useTestS3 } from "../harness/s3rver.ts";
import { createTestDatabase, type TestDatabase } from "../harness/test-database.ts";
import { sleepJob } from "./fixtures/lifecycle-jobs.ts";

/**
 * Real processes (node --import tsx, as `npm run` and the container start them) on a real PostgreSQL and
 * S3: SIGTERM during jobs, readiness when the database goes away, and two schedulers ticking together.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const workerScript = path.join(root, "test/integration/fixtures/lifecycle-worker.ts");

interface Proc {
  child: ChildProcess;
  output: () => string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ["--import", "tsx", workerScript], {
    cwd: root,
    env: { ...process.env, NODE_ENV: "test", LOG_LEVEL: "warn", HEALTH_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of waiters) w();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; output:\n${out}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** A TCP proxy to PostgreSQL that the test can cut, making the database unreachable for one process. */
async function startProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

async function readyz(port: number) {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks?: Record<string, string> } };
}

describe("service processes: shutdown, readiness, schedules", () => {
  let t: TestDatabase;
  let queue: JobQueue;
  let env: Record<string, string>;
  let closeS3: () => Promise<void>;
  const started: Proc[] = [];
  const run = (extra: Record<string, string>) => {
    const p = start({ ...env, ...extra });
    started.push(p);
    return p;
  };

  beforeAll(async () => {
    t = await createTestDatabase();
    await t.database.executeSql(
      "create table lifecycle_done (label text not null, pid int not null, at timestamptz default now())",
      [],
    );
    const s3 = await useTestS3();
    closeS3 = s3.close;
    const bucket = `tyndau-lifecycle-${randomBytes(4).toString("hex")}`;
    await ensureBucket({ ...s3, bucket, forcePathStyle: true });
    env = {
      DATABASE_URL: t.url,
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: bucket,
      S3_REGION: s3.region,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: "1",
    };
    queue = createJobQueue(t.database, createLogger({ level: "silent" }));
    await queue.start();
    await queue.register(sleepJob);
  });

  afterAll(async () => {
    for (const p of started)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await queue?.stop(500);
    await t?.drop();
    await closeS3?.();
  });

  async function jobRow(id: string) {
    const { rows } = await t.database.executeSql(
      "select state, retry_count::int as retries from pgboss.job where id = $1",
      [id],
    );
    return rows[0] as { state: string; retries: number };
  }
  async function doneBy(label: string) {
    const { rows } = await t.database.executeSql("select pid from lifecycle_done where label = $1", [label]);
    return rows.map((r) => Number(r.pid));
  }

  it("on SIGTERM finishes a job that fits the grace, hands back one that does not, exits 0 in time; another worker completes it; readiness follows the database", async () => {
    // A second worker, reaching PostgreSQL through a proxy the test can cut; it starts now (startup is
    // the slow part) but takes jobs only once the first has stopped.
    const proxy = await startProxy(new URL(t.url));
    const viaProxy = new URL(t.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const gate = path.join(os.tmpdir(), `tyndau-lifecycle-${randomBytes(4).toString("hex")}`);
    const w2 = run({
      DATABASE_URL: viaProxy.toString(),
      JOB_SLEEP_SCALE: "0.001",
      SHUTDOWN_GRACE_SEC: "5",
      WORK_WHEN_FILE: gate,
      SCHEDULE_EVERY_SECOND: "1",
    });
    // Both also tick a one-second schedule (one-second singleton window) from their start.
    const w1 = run({ SHUTDOWN_GRACE_SEC: "3", SCHEDULE_EVERY_SECOND: "1" });
    const schedulers = [w1, w2];
    await w1.waitFor(/WORKING/);
    // Both tick together for at least one whole second (a window in which one enqueue must be refused):
    // once w2 ticks, w1 ticks twice more.
    await w2.waitFor(/^TICK (sent|deduped)$/m);
    const w1Ticks = w1.output().match(/^TICK (sent|deduped)$/gm)?.length ?? 0;
    await w1.waitFor(new RegExp(`(?:^TICK (?:sent|deduped)$[\\s\\S]*?){${w1Ticks + 2}}`, "m"));
    const shortJob = (await queue.send(sleepJob, { ms: 1000, label: "short" })) as string;
    const longJob = (await queue.send(sleepJob, { ms: 120_000, label: "long" })) as string;
    await w1.waitFor(/START short/);
    await w1.waitFor(/START long/);

    const sigtermAt = Date.now();
    w1.child.kill("SIGTERM");
    const exit = await w1.exited;
    const tookMs = Date.now() - sigtermAt;
    expect(exit, w1.output()).toEqual({ code: 0, signal: null });
    expect(tookMs).toBeLessThan(3000 + 1000);
    expect(await doneBy("short")).toEqual([w1.child.pid]);
    expect((await jobRow(shortJob)).state).toBe("completed");
    // Handed back as new: available at once, no retry used, and not completed by the stopped worker.
    expect(await jobRow(longJob)).toEqual({ state: "created", retries: 0 });
    expect(await doneBy("long")).toEqual([]);

    // The second worker picks it up and completes it.
    const port = Number((await w2.waitFor(/READY (\d+)/))[1]);
    fs.writeFileSync(gate, "");
    await w2.waitFor(/DONE long/);
    fs.rmSync(gate);
    await expect.poll(async () => (await jobRow(longJob)).state, { timeout: 5000 }).toBe("completed");
    expect(await doneBy("long")).toEqual([w2.child.pid]);

    expect(await readyz(port)).toEqual({
      status: 200,
      body: { status: "ready", checks: { database: "ok", storage: "ok", migrations: "ok" } },
    });
    await proxy.cut();
    const down = await readyz(port);
    expect(down.status).toBe(503);
    expect(down.body.checks?.database).toBe("unavailable");
    w2.child.kill("SIGTERM");
    expect(await w2.exited).toEqual({ code: 0, signal: null });

    // Both processes enqueued at every tick while they ran together: each one-second window got exactly
    // one job, and the other process's enqueue in that window was refused.
    const count = (what: string) =>
      schedulers.reduce((n, s) => n + (s.output().match(new RegExp(`^TICK ${what}$`, "gm"))?.length ?? 0), 0);
    const { rows } = await t.database.executeSql(
      `select count(*)::int as jobs, count(distinct singleton_on)::int as windows
         from pgboss.job where name = 'scheduled-job' and singleton_key = 'lifecycle-tick'`,
      [],
    );
    const { jobs, windows } = rows[0] as { jobs: number; windows: number };
    expect(jobs).toBe(windows);
    expect(jobs).toBeGreaterThanOrEqual(3);
    expect(count("sent")).toBe(jobs);
    expect(count("deduped")).toBeGreaterThanOrEqual(1);
  }, 180_000);
});
