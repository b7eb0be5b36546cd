// Ingest acceptance throughput: accepted pushes per second and latency percentiles for JSON pushes
// (recordingUrl downloaded from a local file server) and for 5 MB multipart uploads, against local disk
// and against s3rver, on PostgreSQL. Only the API runs (no pipeline workers): it measures acceptance.
// Before them, the baseline: a bare Express 5 JSON echo in the same process, loaded by the same client
// with the JSON push's concurrency and body; it prints accepted/s ÷ echo req/s against issue #17's goals.
//   npm run bench:ingest -- [--seconds 10] [--long] [--json-workers 32] [--upload-workers 8]
//                           [--storage local,s3] [--database-url postgres://…] [--upload-mb 5]
//                           [--echo-seconds <min(seconds, 60)>]
// --long runs each phase for 10 minutes. Memory (RSS, heap) is sampled every second over each run;
// the load generator shares the process, so its memory is included. Ctrl-C drops the scratch databases
// and stops the servers.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { startApi } from "../../services/api/main.ts";
import { loadConfig } from "../../shared/config/config.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { createAppMetrics } from "../../shared/observability/metrics.ts";
import { ensureBucket } from "../../shared/providers/storage/s3-object-storage.ts";
import { openInfrastructure } from "../../shared/runtime/infrastructure.ts";
import { S3RVER_ACCESS_KEY_ID, S3RVER_SECRET_ACCESS_KEY, startS3rver } from "../../test/harness/s3rver.ts";
import {
  loadAverage,
  machine,
  markdownTable,
  quantile,
  runBench,
  type Teardown,
  yesNo,
} from "./bench-run.ts";
import { startJsonEcho } from "./json-echo-baseline.ts";

// Issue #17's goals. JSON: accepted/s ÷ echo req/s of the same run, and the push's own p99.
const GOAL_JSON_RATIO = 0.3;
const GOAL_JSON_P99_MS = 100;
const GOAL_UPLOADS_PER_SEC = 50;
const GOAL_UPLOAD_P99_MS = 1000;

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    long: { type: "boolean", default: false },
    "json-workers": { type: "string", default: "32" },
    "upload-workers": { type: "string", default: "8" },
    storage: { type: "string", default: "local,s3" },
    "database-url": { type: "string", default: "postgres://postgres@127.0.0.1:5432/postgres" },
    "upload-mb": { type: "string", default: "5" },
    "echo-seconds": { type: "string" },
  },
});
const seconds = values.long ? 600 : Number(values.seconds);
// The echo's rate settles within seconds; a 10-minute echo would only delay the phases that matter.
const echoSeconds = values["echo-seconds"] ? Number(values["echo-seconds"]) : Math.min(seconds, 60);
const jsonWorkers = Number(values["json-workers"]);
const uploadWorkers = Number(values["upload-workers"]);
const uploadBytes = Number(values["upload-mb"]) * 1024 * 1024;

interface MiB {
  first: number;
  max: number;
  last: number;
}
interface LoadResult {
  accepted: number;
  refused: Record<string, number>;
  perSec: number;
  p50: number;
  p99: number;
  rssMiB: MiB & { maxFirstHalf: number; maxSecondHalf: number; trace: number[] };
  heapMiB: MiB;
}
interface PhaseResult extends LoadResult {
  storage: string;
  kind: "json" | "upload";
  phase: string;
}

/**
 * `workers` clients each send `push()` back to back for `secs` seconds; a response with status `ok`
 * counts (latency from send to the whole body read), anything else is tallied by status or error.
 */
async function load(
  teardown: Teardown,
  workers: number,
  secs: number,
  ok: number,
  push: () => Promise<Response>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const refused: Record<string, number> = {};
  const rss: number[] = [];
  const heap: number[] = [];
  const sample = () => {
    const m = process.memoryUsage();
    rss.push(m.rss / 1048576);
    heap.push(m.heapUsed / 1048576);
  };
  sample();
  const sampler = setInterval(sample, 1000);
  const t0 = performance.now();
  const end = t0 + secs * 1000;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < end && !teardown.interrupted) {
        const t = performance.now();
        try {
          const res = await push();
          await res.arrayBuffer();
          if (res.status === ok) latencies.push(performance.now() - t);
          else refused[String(res.status)] = (refused[String(res.status)] ?? 0) + 1;
        } catch (error) {
          const key = (error as Error).message.slice(0, 40);
          refused[key] = (refused[key] ?? 0) + 1;
        }
      }
    }),
  );
  clearInterval(sampler);
  // A phase cut short by Ctrl-C has no figures worth printing.
  if (teardown.interrupted) throw new Error("interrupted");
  const wall = (performance.now() - t0) / 1000;
  sample();
  latencies.sort((a, b) => a - b);
  const stats = (xs: number[]) => ({
    first: Math.round(xs[0]!),
    max: Math.round(Math.max(...xs)),
    last: Math.round(xs.at(-1)!),
  });
  const half = Math.ceil(rss.length / 2);
  // Eleven evenly spaced samples: enough to see a climb over a 10-minute phase.
  const points = Math.min(11, rss.length);
  const trace = Array.from({ length: points }, (_, i) =>
    Math.round(rss[Math.round((i * (rss.length - 1)) / Math.max(1, points - 1))]!),
  );
  return {
    accepted: latencies.length,
    refused,
    perSec: latencies.length / wall,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    rssMiB: {
      ...stats(rss),
      maxFirstHalf: Math.round(Math.max(...rss.slice(0, half))),
      maxSecondHalf: Math.round(Math.max(...rss.slice(half))),
      trace,
    },
    heapMiB: stats(heap),
  };
}

const describe = (label: string, r: LoadResult, unit: string) =>
  `${label.padEnd(44)} ${r.perSec.toFixed(1).padStart(7)} ${unit}  p50 ${r.p50.toFixed(0)} ms  p99 ${r.p99.toFixed(0)} ms  ok ${r.accepted}  refused ${JSON.stringify(r.refused)}  rss ${r.rssMiB.first}→${r.rssMiB.max}→${r.rssMiB.last} MiB (trace ${r.rssMiB.trace.join(" ")})  heap ${r.heapMiB.first}→${r.heapMiB.max}→${r.heapMiB.last} MiB`;

runBench(async (teardown) => {
  const loadAtStart = loadAverage();
  console.log(`load average at start: ${loadAtStart}`);
  console.log(`machine: ${machine()}`);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-bench-ingest-"));
  teardown.add("scratch files", () => fs.rm(work, { recursive: true, force: true }));

  // Audio: a 3 s recording for JSON pushes, and a WAV of ~5 MB (16 kHz mono PCM) for uploads.
  const smallPath = path.join(work, "small.wav");
  const bigPath = path.join(work, "big.wav");
  const ff = (dur: number, out: string) =>
    execFileSync("ffmpeg", [
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      `sine=frequency=300:duration=${dur}`,
      "-ac",
      "2",
      "-ar",
      "8000",
      "-c:a",
      "pcm_s16le",
      out,
    ]);
  ff(3, smallPath);
  ff(Math.floor(uploadBytes / 32000), bigPath);
  const small = await fs.readFile(smallPath);
  const big = await fs.readFile(bigPath);

  const files = http.createServer((_req, res) =>
    res.writeHead(200, { "content-type": "audio/wav" }).end(small),
  );
  await new Promise<void>((r) => files.listen(0, "127.0.0.1", r));
  const fileUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/call.wav`;

  teardown.add("file server", () => new Promise((r) => files.close(r)));
  let seq = 0;
  const jsonPush = (url: string) => () =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ externalId: `j-${seq++}`, recordingUrl: fileUrl }),
    });

  // Baseline first, on its own: same client, concurrency and body as the JSON push.
  const echoMark = teardown.mark();
  const echoServer = await startJsonEcho();
  teardown.add("echo server", () => echoServer.close());
  const echo = await load(teardown, jsonWorkers, echoSeconds, 200, jsonPush(echoServer.url));
  console.log(describe(`echo  bare Express 5 JSON echo (${jsonWorkers} clients)`, echo, "req/s"));
  await teardown.unwind(echoMark);

  const results: PhaseResult[] = [];
  for (const storage of values.storage!.split(",")) {
    const mark = teardown.mark();
    const dbName = `tyndau_bench_${randomBytes(4).toString("hex")}`;
    const admin = new pg.Client({ connectionString: values["database-url"] });
    await admin.connect();
    teardown.add("admin connection", () => admin.end());
    await admin.query(`CREATE DATABASE ${dbName}`);
    teardown.add(`drop database ${dbName}`, () =>
      admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`),
    );
    const dbUrl = new URL(values["database-url"]!);
    dbUrl.pathname = `/${dbName}`;
    const s3 = storage === "s3" ? await startS3rver() : undefined;
    if (s3) teardown.add("s3rver", () => s3.close());
    const dataDir = await fs.mkdtemp(path.join(work, "data-"));
    const config = loadConfig({
      DATA_DIR: dataDir,
      PORT: "0",
      HOST: "127.0.0.1",
      TYNDAU_DEMO: "0",
      LOG_LEVEL: "warn",
      DATABASE_URL: dbUrl.toString(),
      DATABASE_POOL_MAX: "40",
      MAX_UPLOADS_PER_MINUTE: "100000000",
      MAX_CONCURRENT_DOWNLOADS: "10000",
      MAX_UPLOAD_BYTES: String(uploadBytes * 2),
      ...(s3
        ? {
            S3_ENDPOINT: s3.endpoint,
            S3_BUCKET: "bench",
            S3_REGION: "us-east-1",
            S3_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID,
            S3_SECRET_ACCESS_KEY: S3RVER_SECRET_ACCESS_KEY,
            S3_FORCE_PATH_STYLE: "true",
          }
        : {}),
    });
    if (config.storage.kind === "s3")
      await ensureBucket({ ...config.storage, endpoint: config.storage.endpoint });
    const logger = createLogger({ level: "warn" });
    const infra = await openInfrastructure(config, logger);
    teardown.add("infrastructure", () => infra.close());
    const api = await startApi(config, infra, logger, createAppMetrics({ service: "bench" }));
    teardown.add("api", () => api.close());
    const base = `http://127.0.0.1:${api.port}`;
    const reg = (await (
      await fetch(`${base}/api/v1/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "bench@example.com", password: "bench-password-1", company: "Bench" }),
      })
    ).json()) as { token: string };
    const source = (await (
      await fetch(`${base}/api/v1/sources`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${reg.token}` },
        body: JSON.stringify({ name: "bench", kind: "push" }),
      })
    ).json()) as { ingestUrl: string };
    const ingestUrl = source.ingestUrl.replace(config.publicUrl, base);

    const phases: [PhaseResult["kind"], string, number, () => Promise<Response>][] = [
      ["json", `JSON push (recordingUrl, 3 s WAV, ${jsonWorkers} clients)`, jsonWorkers, jsonPush(ingestUrl)],
      [
        "upload",
        `multipart upload (${(big.length / 1048576).toFixed(1)} MiB WAV, ${uploadWorkers} clients)`,
        uploadWorkers,
        () => {
          const form = new FormData();
          form.set("metadata", JSON.stringify({ externalId: `m-${seq++}` }));
          form.set("recording", new Blob([big]), "call.wav");
          return fetch(ingestUrl, { method: "POST", body: form });
        },
      ],
    ];
    for (const [kind, phase, workers, push] of phases) {
      const row: PhaseResult = {
        storage,
        kind,
        phase,
        ...(await load(teardown, workers, seconds, 202, push)),
      };
      results.push(row);
      console.log(describe(`${storage.padEnd(5)} ${phase}`, row, "accepted/s"));
    }
    await teardown.unwind(mark);
  }

  const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);
  const rows = results.map((r) => {
    if (r.kind === "json") {
      const ratio = r.perSec / echo.perSec;
      return [
        `${r.phase}, ${r.storage}`,
        `${r.perSec.toFixed(1)} accepted/s, p99 ${ms(r.p99)}`,
        `echo ${echo.perSec.toFixed(0)} req/s, p99 ${ms(echo.p99)}`,
        ratio.toFixed(3),
        `≥ ${GOAL_JSON_RATIO}, p99 ≤ ${GOAL_JSON_P99_MS} ms`,
        yesNo(ratio >= GOAL_JSON_RATIO && r.p99 <= GOAL_JSON_P99_MS),
      ];
    }
    const m = r.rssMiB;
    return [
      `${r.phase}, ${r.storage}`,
      `${r.perSec.toFixed(1)}/s, p99 ${ms(r.p99)}; RSS ${m.first} → max ${m.max} → ${m.last} MiB (max 1st half ${m.maxFirstHalf}, 2nd half ${m.maxSecondHalf})`,
      "—",
      "—",
      `≥ ${GOAL_UPLOADS_PER_SEC}/s, p99 ≤ ${ms(GOAL_UPLOAD_P99_MS)}, RSS flat`,
      `${yesNo(r.perSec >= GOAL_UPLOADS_PER_SEC && r.p99 <= GOAL_UPLOAD_P99_MS)} (rate, p99); RSS: judge on --long`,
    ];
  });
  console.log("\nRatios to the baseline of this run (issue #17 goals):");
  console.log(markdownTable(["what", "now", "baseline, same run", "ratio", "goal", "met"], rows));
  const loadAtEnd = loadAverage();
  console.log(`load average at end: ${loadAtEnd}`);
  console.log(
    JSON.stringify({
      seconds,
      echoSeconds,
      cpus: os.cpus().length,
      node: process.version,
      loadAverage: { start: loadAtStart, end: loadAtEnd },
      echo,
      results: results.map((r) => ({
        ...r,
        ...(r.kind === "json" ? { ratioToEcho: r.perSec / echo.perSec } : {}),
      })),
    }),
  );
  return 0;
});
