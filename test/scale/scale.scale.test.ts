import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesizeMono } from "../../scripts/fixtures/synthesize-call.ts";
import { type Database, openPostgres } from "../../shared/db/client.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { scheduledJob } from "../../shared/queue/job-definitions.ts";
import { createJobQueue } from "../../shared/queue/job-queue.ts";
import { pushRecording, registerOwner } from "../harness/api-client.ts";
import { type OpenAiEmulator, startOpenAiEmulator } from "../harness/openai-emulator.ts";
import { type TestS3, useTestS3 } from "../harness/s3rver.ts";
import { adminUrl } from "../harness/test-database.ts";
import {
  clusterEnv,
  createMigratedDatabase,
  type ServiceProcess,
  startService,
  stopService,
} from "./cluster.ts";
import { assertInvariants, waitForTerminal } from "./invariants.ts";

/**
 * issue #8 item 3: separate processes — one API, three pipeline workers, one scheduler — over one
 * PostgreSQL database and one bucket process SCALE_CALLS (default 200) pushed calls: every call done
 * exactly once, charged once, the books balanced, no job lost.
 */
const CALLS = Number(process.env.SCALE_CALLS ?? 200);
const CALLS_PER_ACCOUNT = 50; // 50 × 3.00 KZT stays inside each account's welcome bonus
const PUSH_CONCURRENCY = 8;

let workDir: string;
let db: { url: string; drop(): Promise<void> };
let database: Database;
let emulator: OpenAiEmulator;
let s3: TestS3;
let baseUrl: string;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-scale-"));
  db = await createMigratedDatabase(adminUrl);
  database = openPostgres(db.url, 2);
  emulator = await startOpenAiEmulator({ apiKey: "local-key" });
  s3 = await useTestS3();
  const { env, apiPort } = await clusterEnv({
    databaseUrl: db.url,
    s3,
    s3Endpoint: s3.endpoint,
    bucketEndpoint: s3.endpoint,
    openAiBaseUrl: emulator.baseUrl,
    dataDir: workDir,
  });
  baseUrl = `http://127.0.0.1:${apiPort}`;
  processes.push(startService("api", "api", env, workDir));
  for (let i = 1; i <= 3; i++) processes.push(startService("pipeline", `pipeline-${i}`, env, workDir));
  processes.push(startService("scheduler", "scheduler", env, workDir));
  await Promise.all(processes.map((p) => p.ready));
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => stopService(p)));
  await database?.close();
  await db?.drop();
  await emulator?.close();
  await s3?.close();
  if (process.env.SCALE_KEEP_LOGS) console.log(`scale logs kept in ${workDir}`);
  else await fs.rm(workDir, { recursive: true, force: true });
});

describe("scale: separate services over one PostgreSQL", () => {
  it(`processes ${CALLS} calls with 3 pipeline workers: each done once, charged once, nothing lost`, async () => {
    const started = performance.now();
    const recording = (
      await synthesizeMono(
        { turns: [{ speaker: "operator", text: "Hello, thank you for calling." }] },
        path.join(workDir, "call.wav"),
        { sampleRate: 16000 },
      )
    ).path;
    const owners = await Promise.all(
      Array.from({ length: Math.ceil(CALLS / CALLS_PER_ACCOUNT) }, (_, i) =>
        registerOwner(baseUrl, `Scale ${i}`),
      ),
    );
    const sources = await Promise.all(
      owners.map(
        async (o) =>
          (await o.client.post<{ ingestUrl: string }>("/api/v1/sources", { name: "PBX", kind: "push" })).body
            .ingestUrl,
      ),
    );

    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: PUSH_CONCURRENCY }, async () => {
        for (let i = next++; i < CALLS; i = next++) {
          const res = await pushRecording(sources[i % sources.length]!, recording, {
            externalId: `scale-${i}`,
          });
          statuses.push(res.status);
        }
      }),
    );
    expect(statuses.filter((s) => s !== 202)).toEqual([]);
    const pushedAt = performance.now();

    const accountIds = owners.map((o) => o.accountId);
    await waitForTerminal(database, accountIds, CALLS, 600_000);
    const doneAt = performance.now();

    // The scheduler process runs the ledger check from the queue, as it does on its schedule.
    const queue = createJobQueue(database, createLogger({ level: "silent" }));
    await queue.start();
    const jobId = await queue.send(scheduledJob, { name: "ledger-check" });
    await queue.stop(1000);
    for (let i = 0; i < 60; i++) {
      const { rows } = await database.executeSql("select state from pgboss.job where id = $1", [jobId]);
      if (rows[0]?.state === "completed") break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const { rows } = await database.executeSql("select state, output from pgboss.job where id = $1", [jobId]);
    expect(rows[0]?.state).toBe("completed");

    const result = await assertInvariants(database, accountIds, { expectedCalls: CALLS });
    expect(result.done).toBe(CALLS);
    // Nothing crashed.
    for (const p of processes) expect(p.child.exitCode, `${p.name} exited:\n${p.tail()}`).toBeNull();
    // Transcription went to the emulator once per call (no step ran twice to completion).
    expect(emulator.requests.length).toBe(CALLS);

    console.log(
      `scale: ${CALLS} calls, ${owners.length} accounts; pushed in ${((pushedAt - started) / 1000).toFixed(1)} s, ` +
        `all done in ${((doneAt - started) / 1000).toFixed(1)} s (${(CALLS / ((doneAt - started) / 1000)).toFixed(1)} calls/s)`,
    );
  }, 660_000);
});
