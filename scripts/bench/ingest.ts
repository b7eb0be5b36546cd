// Ingest acceptance throughput: accepted pushes per second and latency percentiles for JSON pushes
// (recordingUrl downloaded from a local file server) and for 5 MB multipart uploads, against local disk
// and against s3rver, on PostgreSQL. Only the API runs (no pipeline workers): it measures acceptance.
//   npm run bench:ingest -- [--seconds 10] [--long] [--json-workers 32] [--upload-workers 8]
//                           [--storage local,s3] [--database-url postgres://…] [--upload-mb 5]
// --long runs each phase for 10 minutes. Memory (RSS, heap) is sampled every second over each run;
// the load generator shares the process, so its memory is included.
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

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    long: { type: "boolean", default: false },
    "json-workers": { type: "string", default: "32" },
    "upload-workers": { type: "string", default: "8" },
    storage: { type: "string", default: "local,s3" },
    "database-url": { type: "string", default: "postgres://postgres@127.0.0.1:5432/postgres" },
    "upload-mb": { type: "string", default: "5" },
  },
});
const seconds = values.long ? 600 : Number(values.seconds);
const uploadBytes = Number(values["upload-mb"]) * 1024 * 1024;
const work = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-bench-ingest-"));

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

interface PhaseResult {
  storage: string;
  phase: string;
  accepted: number;
  refused: Record<string, number>;
  perSec: number;
  p50: number;
  p99: number;
  rssMiB: { first: number; max: number; last: number };
  heapMiB: { first: number; max: number; last: number };
}
const results: PhaseResult[] = [];

for (const storage of values.storage!.split(",")) {
  const dbName = `tyndau_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: values["database-url"] });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(values["database-url"]!);
  dbUrl.pathname = `/${dbName}`;
  const s3 = storage === "s3" ? await startS3rver() : undefined;
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
  const api = await startApi(config, infra, logger, createAppMetrics({ service: "bench" }));
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

  let seq = 0;
  const phases: [string, number, () => Promise<Response>][] = [
    [
      "JSON push (recordingUrl, 3 s WAV)",
      Number(values["json-workers"]),
      () =>
        fetch(ingestUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ externalId: `j-${seq++}`, recordingUrl: fileUrl }),
        }),
    ],
    [
      `multipart upload (${(big.length / 1048576).toFixed(1)} MiB WAV)`,
      Number(values["upload-workers"]),
      () => {
        const form = new FormData();
        form.set("metadata", JSON.stringify({ externalId: `m-${seq++}` }));
        form.set("recording", new Blob([big]), "call.wav");
        return fetch(ingestUrl, { method: "POST", body: form });
      },
    ],
  ];
  for (const [phase, workers, push] of phases) {
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
    const end = t0 + seconds * 1000;
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          try {
            const res = await push();
            await res.arrayBuffer();
            if (res.status === 202) latencies.push(performance.now() - t);
            else refused[String(res.status)] = (refused[String(res.status)] ?? 0) + 1;
          } catch (error) {
            const key = (error as Error).message.slice(0, 40);
            refused[key] = (refused[key] ?? 0) + 1;
          }
        }
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    sample();
    latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
    const stats = (xs: number[]) => ({
      first: Math.round(xs[0]!),
      max: Math.round(Math.max(...xs)),
      last: Math.round(xs.at(-1)!),
    });
    const row: PhaseResult = {
      storage,
      phase,
      accepted: latencies.length,
      refused,
      perSec: latencies.length / wall,
      p50: pct(0.5),
      p99: pct(0.99),
      rssMiB: stats(rss),
      heapMiB: stats(heap),
    };
    results.push(row);
    console.log(
      `${storage.padEnd(5)} ${phase.padEnd(38)} ${row.perSec.toFixed(1).padStart(7)}/s  p50 ${row.p50.toFixed(0)} ms  p99 ${row.p99.toFixed(0)} ms  accepted ${row.accepted}  refused ${JSON.stringify(refused)}  rss ${row.rssMiB.first}→${row.rssMiB.max}→${row.rssMiB.last} MiB  heap ${row.heapMiB.first}→${row.heapMiB.max}→${row.heapMiB.last} MiB`,
    );
  }
  await api.close();
  await infra.close();
  await s3?.close();
  await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
  await admin.end();
}
await new Promise((r) => files.close(r));
await fs.rm(work, { recursive: true, force: true });
console.log(JSON.stringify({ seconds, cpus: os.cpus().length, node: process.version, results }));
