// Processing time of the demo calls on embedded defaults (PGlite, local disk, PocketSphinx, rules):
// seconds of wall time per minute of audio, end to end (push → done) and per pipeline step.
//   tsx scripts/bench/demo-calls.ts [--rounds 1]
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startApi } from "../../services/api/main.ts";
import { startPipeline } from "../../services/pipeline/main.ts";
import { loadConfig } from "../../shared/config/config.ts";
import { demoTemplate } from "../../shared/demo/seed-demo.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { createAppMetrics } from "../../shared/observability/metrics.ts";
import { openInfrastructure } from "../../shared/runtime/infrastructure.ts";
import { sampleDialogues, synthesizeCall } from "../fixtures/synthesize-call.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "1" } } });
const rounds = Number(values.rounds);
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-bench-"));
const config = loadConfig({
  DATA_DIR: dataDir,
  PORT: "0",
  HOST: "127.0.0.1",
  TYNDAU_DEMO: "0",
  LOG_LEVEL: "warn",
});
const logger = createLogger({ level: "warn" });
const infra = await openInfrastructure(config, logger);
const api = await startApi(config, infra, logger, createAppMetrics({ service: "bench" }));
await startPipeline(config, infra, logger);
const base = `http://127.0.0.1:${api.port}`;

const json = async (method: string, url: string, token?: string, body?: unknown) => {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as Record<string, unknown>;
};
const reg = await json("POST", "/api/v1/auth/register", undefined, {
  email: "bench@example.com",
  password: "bench-password-1",
  company: "Bench",
});
const token = String(reg.token);
await json("POST", "/api/v1/templates", token, demoTemplate);
const source = await json("POST", "/api/v1/sources", token, { name: "bench", kind: "push" });
const ingestUrl = String(source.ingestUrl).replace(config.publicUrl, base);

const files = await Promise.all(
  sampleDialogues.map((d, i) =>
    synthesizeCall(d, path.join(dataDir, `call-${i}.wav`), { sampleRate: 16000 }),
  ),
);
const rows: { durationSec: number; wallSec: number; steps: Record<string, number> }[] = [];
for (let r = 0; r < rounds; r++) {
  for (const [i, file] of files.entries()) {
    const form = new FormData();
    form.set("metadata", JSON.stringify({ externalId: `bench-${r}-${i}` }));
    form.set("recording", new Blob([await fs.readFile(file.path)]), "call.wav");
    const t0 = performance.now();
    const pushed = (await (await fetch(ingestUrl, { method: "POST", body: form })).json()) as {
      callId: string;
    };
    for (;;) {
      const call = await json("GET", `/api/v1/calls/${pushed.callId}`, token);
      if (call.status === "done" || call.status === "failed") {
        rows.push({
          durationSec: Number(call.durationSec),
          wallSec: (performance.now() - t0) / 1000,
          steps: call.stepTimings as Record<string, number>,
        });
        break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  }
}

const audioMin = rows.reduce((s, r) => s + r.durationSec, 0) / 60;
const wall = rows.reduce((s, r) => s + r.wallSec, 0);
const stepSums: Record<string, number> = {};
for (const r of rows) for (const [k, v] of Object.entries(r.steps)) stepSums[k] = (stepSums[k] ?? 0) + v;
console.log(
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
);
console.log(
  `calls: ${rows.length}, audio: ${(audioMin * 60).toFixed(1)} s, wall (push → done, one call at a time): ${wall.toFixed(1)} s`,
);
console.log(`seconds of processing per minute of audio: ${(wall / audioMin).toFixed(2)}`);
for (const [k, v] of Object.entries(stepSums))
  console.log(`  ${k.padEnd(10)} ${(v / audioMin).toFixed(2)} s per audio minute`);
for (const r of rows) console.log(`  call ${r.durationSec.toFixed(1)} s → ${r.wallSec.toFixed(1)} s`);

await api.close();
await infra.close();
await fs.rm(dataDir, { recursive: true, force: true });
process.exit(0);
