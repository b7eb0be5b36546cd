import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { migrateDatabase, openPostgres } from "../../shared/db/client.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { ensureBucket } from "../../shared/providers/storage/s3-object-storage.ts";
import { createJobQueue } from "../../shared/queue/job-queue.ts";
import type { TestS3 } from "../harness/s3rver.ts";

const run = promisify(execFile);

/** Whatever a test started is stopped even when vitest exits abruptly (a timeout, Ctrl-C). */
const atExit = new Set<() => void>();
process.once("exit", () => {
  for (const fn of atExit) {
    try {
      fn();
    } catch {}
  }
});
const repoRoot = path.resolve(import.meta.dirname, "../..");

export type ServiceName = "api" | "pipeline" | "scheduler";

/** One Tyndau service as a real OS process (`node --import tsx services/<name>/main.ts`). */
export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  /** Resolves once the process logged that it is serving (api: listening; pipeline: workers started). */
  ready: Promise<void>;
  exited: Promise<number | null>;
  /** The last lines it wrote (for failure messages). */
  tail(): string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends a signal to its whole process group (started with `detached: true` only). */
  signalGroup(signal: NodeJS.Signals): void;
  /** PIDs of live processes in its process group other than the service itself (`detached: true`). */
  groupChildren(): number[];
  /** Names of its direct children (e.g. "pocketsphinx_co", "ffmpeg"). */
  childNames(): string[];
}

const READY_LINE: Record<ServiceName, RegExp> = {
  api: /"msg":"api listening"/,
  pipeline: /"msg":"pipeline workers started"/,
  scheduler: /"msg":"(schedules started|scheduler started)"|"component":"scheduler"/,
};

/**
 * `detached: true` starts the service as the leader of its own process group, as a terminal or a
 * container runtime starts it: a signal to the group reaches its children (PocketSphinx, ffmpeg) too.
 */
export function startService(
  service: ServiceName,
  label: string,
  env: Record<string, string>,
  logDir: string,
  options: { detached?: boolean } = {},
): ServiceProcess {
  const detached = options.detached ?? false;
  const child = spawn(process.execPath, ["--import", "tsx", `services/${service}/main.ts`], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached,
  });
  const pid = child.pid!;
  const log = fs.createWriteStream(path.join(logDir, `${label}.log`), { flags: "a" });
  let text = "";
  const lines: string[] = [];
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => {});
  const onData = (chunk: Buffer) => {
    const chunkText = chunk.toString("utf8");
    log.write(chunkText);
    text += chunkText;
    for (const line of chunkText.split("\n")) {
      if (!line) continue;
      lines.push(line);
      if (lines.length > 40) lines.shift();
      if (READY_LINE[service].test(line)) resolveReady();
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const killAtExit = () => {
    if (!detached) {
      child.kill("SIGKILL");
      return;
    }
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  };
  atExit.add(killAtExit);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => {
      atExit.delete(killAtExit);
      log.end();
      rejectReady(new Error(`${label} exited (${code ?? signal}) before it was ready:\n${lines.join("\n")}`));
      resolve(code);
    });
  });
  // The scheduler logs nothing of its own at start: it is ready when it is up for a moment.
  if (service === "scheduler") setTimeout(resolveReady, 3000).unref();
  const assertDetached = () => {
    if (!detached) throw new Error(`${label} was not started with detached: true`);
  };
  return {
    name: label,
    child,
    ready,
    exited,
    tail: () => lines.join("\n"),
    output: () => text,
    signalGroup(signal) {
      assertDetached();
      process.kill(-pid, signal);
    },
    groupChildren() {
      assertDetached();
      return psLines(["-o", "pid=", "-g", String(pid)])
        .map(Number)
        .filter((p) => p !== pid);
    },
    childNames: () => psLines(["-o", "comm=", "--ppid", String(pid)]),
  };
}

function psLines(args: string[]): string[] {
  try {
    return execFileSync("ps", args, { encoding: "utf8" })
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
  } catch {
    return []; // ps exits 1 when nothing matches
  }
}

/** SIGKILL (or another signal) and wait for the exit. */
export async function stopService(p: ServiceProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill("SIGKILL"), 15_000);
  await p.exited;
  clearTimeout(timer);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A PostgreSQL of its own (initdb into a temp dir, random port, trust auth): it may be restarted freely. */
export interface PrivatePostgres {
  adminUrl: string;
  port: number;
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error("no PostgreSQL server binaries under /usr/lib/postgresql");
  return path.join(root, versions[0]!, "bin");
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "tyndau-pg-"));
  const dataDir = path.join(dir, "data");
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  // initdb and postgres refuse to run as root: run them as the postgres user.
  const cmd = (file: string, args: string[]) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", path.join(bin, file), ...args])
      : run(path.join(bin, file), args);
  if (asRoot) await run("chown", ["postgres", dir]);
  await cmd("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const start = async () => {
    await cmd("pg_ctl", [
      "-D",
      dataDir,
      "-o",
      options,
      "-l",
      path.join(dir, "server.log"),
      "-w",
      "-t",
      "60",
      "start",
    ]);
  };
  const stop = async () => {
    await cmd("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "-t", "60", "stop"]);
  };
  await start();
  const stopAtExit = () => {
    const pgCtl = [path.join(bin, "pg_ctl"), "-D", dataDir, "-m", "immediate", "stop"];
    if (asRoot) execFileSync("runuser", ["-u", "postgres", "--", ...pgCtl], { stdio: "ignore" });
    else execFileSync(pgCtl[0]!, pgCtl.slice(1), { stdio: "ignore" });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  atExit.add(stopAtExit);
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    async restart(downMs) {
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async destroy() {
      atExit.delete(stopAtExit);
      await stop().catch(() => {});
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Creates a database on `adminUrl` with every migration and pg-boss' schema; returns its URL. */
export async function createMigratedDatabase(
  adminUrl: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tyndau_t_scale_${randomBytes(4).toString("hex")}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = openPostgres(url.toString(), 2);
  try {
    await migrateDatabase(database);
    const queue = createJobQueue(database, createLogger({ level: "silent" }));
    await queue.start();
    await queue.stop(1000);
  } finally {
    await database.close();
  }
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** The environment every process of one test cluster shares (production configuration on loopback). */
export async function clusterEnv(options: {
  databaseUrl: string;
  s3: Pick<TestS3, "region" | "accessKeyId" | "secretAccessKey">;
  s3Endpoint: string;
  /** The endpoint the bucket is created through (the real one when s3Endpoint is a proxy). */
  bucketEndpoint: string;
  /** The OpenAI emulator for speech and analysis; without it the offline providers (PocketSphinx, rules). */
  openAiBaseUrl?: string;
  dataDir: string;
  extra?: Record<string, string>;
}): Promise<{ env: Record<string, string>; apiPort: number }> {
  const bucket = `scale-${randomBytes(4).toString("hex")}`;
  const storage = {
    bucket,
    region: options.s3.region,
    accessKeyId: options.s3.accessKeyId,
    secretAccessKey: options.s3.secretAccessKey,
    forcePathStyle: true,
  };
  await ensureBucket({ ...storage, endpoint: options.bucketEndpoint });
  const apiPort = await freePort();
  const env: Record<string, string> = {
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: String(apiPort),
    PUBLIC_URL: `http://127.0.0.1:${apiPort}`,
    DATA_DIR: options.dataDir,
    LOG_LEVEL: "info",
    DATABASE_URL: options.databaseUrl,
    DATABASE_POOL_MAX: "5",
    S3_ENDPOINT: options.s3Endpoint,
    S3_BUCKET: bucket,
    S3_REGION: storage.region,
    S3_ACCESS_KEY_ID: storage.accessKeyId,
    S3_SECRET_ACCESS_KEY: storage.secretAccessKey,
    S3_FORCE_PATH_STYLE: "true",
    APP_SECRET: randomBytes(24).toString("hex"),
    PAYMENT_WEBHOOK_SECRET: randomBytes(24).toString("hex"),
    // Production refuses to start without SMTP; nothing listens there (mail failures are logged, not fatal).
    SMTP_URL: "smtp://127.0.0.1:9",
    ...(options.openAiBaseUrl
      ? {
          OPENAI_API_KEY: "local-key",
          OPENAI_BASE_URL: options.openAiBaseUrl,
          OPENAI_ANALYSIS_BASE_URL: options.openAiBaseUrl,
          SPEECH_PROVIDERS: "openai",
          ANALYSIS_PROVIDERS: "openai",
          TRANSCRIPTION_PROVIDER: "openai",
        }
      : { SPEECH_PROVIDERS: "pocketsphinx", TRANSCRIPTION_PROVIDER: "pocketsphinx" }),
    PIPELINE_CONCURRENCY: "2",
    MAX_UPLOADS_PER_MINUTE: "100000",
    ...options.extra,
  };
  return { env, apiPort };
}

/**
 * A TCP proxy in front of object storage that can be switched off: while down it cuts every open
 * connection and refuses new ones at once (as an unreachable S3 does).
 */
export async function startSwitchableProxy(target: { host: string; port: number }) {
  let down = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setDown(value: boolean) {
      down = value;
      if (value) for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
