import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type CallScript, synthesizeCall } from "../../scripts/fixtures/synthesize-call.ts";
import { type Database, openPostgres } from "../../shared/db/client.ts";
import { pushRecording, registerOwner } from "../harness/api-client.ts";
import { type TestS3, useTestS3 } from "../harness/s3rver.ts";
import { adminUrl } from "../harness/test-database.ts";
import { until } from "../harness/wait.ts";
import {
  clusterEnv,
  createMigratedDatabase,
  type ServiceProcess,
  startService,
  stopService,
} from "./cluster.ts";
import { assertInvariants, waitForTerminal } from "./invariants.ts";

/**
 * Issue #13 item 3, the scale tier: the API and a pipeline worker run as separate processes on the
 * shared test PostgreSQL, with offline speech (PocketSphinx, no OpenAI). The worker is the leader of
 * its own process group, as a container runtime or a terminal starts it. Three two-voice calls are
 * pushed; while PocketSphinx transcribes them the worker's whole group gets SIGTERM (what
 * `docker stop` or a Kubernetes rollout sends). The worker must exit 0 leaving no process of its group
 * behind; a new worker then finishes every call, each `done` and charged exactly once, and no log
 * shows a TypeError or an unhandled error.
 */
const script: CallScript = {
  turns: [
    { speaker: "operator", text: "Good morning. Thank you for calling. How can I help you today?" },
    { speaker: "client", text: "Hello. I would like to know the price of the new service, please." },
    { speaker: "operator", text: "Of course. I will send you the price list today by email." },
  ],
};
const BAD_LOG = /TypeError|Unhandled|unhandledRejection|uncaught/i;

let workDir: string;
let recording: string;
let database: Database;
let dropDatabase: (() => Promise<void>) | undefined;
let s3: TestS3;
let env: Record<string, string>;
let baseUrl: string;
const processes: ServiceProcess[] = [];
let keepLogs = false;

function startWorker(label: string): ServiceProcess {
  const worker = startService("pipeline", label, env, workDir, { detached: true });
  processes.push(worker);
  return worker;
}

beforeAll(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-interrupt-scale-"));
  recording = path.join(workDir, "call.wav");
  await synthesizeCall(script, recording, { sampleRate: 16000 });
  const db = await createMigratedDatabase(adminUrl);
  dropDatabase = db.drop;
  database = openPostgres(db.url, 2);
  s3 = await useTestS3();
  const cluster = await clusterEnv({
    databaseUrl: db.url,
    s3,
    s3Endpoint: s3.endpoint,
    bucketEndpoint: s3.endpoint,
    dataDir: workDir,
    extra: { SHUTDOWN_GRACE_SEC: "10", QUEUE_LEASE_SEC: "10" },
  });
  env = cluster.env;
  baseUrl = `http://127.0.0.1:${cluster.apiPort}`;
  const api = startService("api", "api", env, workDir);
  processes.push(api);
  await api.ready;
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => stopService(p, "SIGKILL")));
  await database?.close();
  await dropDatabase?.();
  await s3?.close();
  if (keepLogs) console.error(`service logs kept in ${workDir}`);
  else await fs.rm(workDir, { recursive: true, force: true });
});

describe("SIGTERM to a pipeline worker's process group in the middle of transcription", () => {
  it("exits 0 with no orphan; a new worker finishes every call, charged once", async () => {
    onTestFailed(() => {
      keepLogs = true;
    });
    const first = startWorker("pipeline-1");
    await first.ready;

    const owner = await registerOwner(baseUrl);
    const template = await owner.client.post("/api/v1/templates", {
      name: "Basics",
      provider: "rules",
      questions: [
        {
          key: "greeting",
          text: "Did the operator greet the client?",
          type: "boolean",
          keywords: { speaker: "operator", any: ["good morning", "hello"] },
        },
      ],
    });
    expect(template.status).toBe(201);
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    expect(source.status).toBe(201);
    for (let i = 1; i <= 3; i++) {
      const pushed = await pushRecording(source.body.ingestUrl, recording, {
        externalId: `sigterm-${i}`,
        startedAt: "2026-12-01T10:00:00+05:00",
        direction: "inbound",
        operator: { externalId: "op-1", name: "Anna" },
      });
      expect(pushed.status).toBe(202);
    }

    await until("PocketSphinx to run under the worker", 90_000, () =>
      first.childNames().some((n) => n.startsWith("pocketsphinx")) ? true : undefined,
    );
    first.signalGroup("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(first.child.signalCode).toBeNull();
    await until("the worker's group to be empty", 5_000, () =>
      first.groupChildren().length === 0 ? true : undefined,
    );
    expect(first.output()).toMatch(/shut down cleanly/);
    // Interrupted, not finished: at least one call was still in the pipeline when the worker stopped.
    const { rows } = await database.executeSql(
      "select count(*)::int as n from calls where account_id = $1 and status <> 'done'",
      [owner.accountId],
    );
    expect(rows[0]?.n).toBeGreaterThan(0);

    const second = startWorker("pipeline-2");
    await second.ready;
    await waitForTerminal(database, [owner.accountId], 3, 90_000);
    expect(await assertInvariants(database, [owner.accountId], { expectedCalls: 3 })).toEqual({
      done: 3,
      failed: 0,
    });

    // A clean stop of the others too, and no crash signature in any log.
    await Promise.all([stopService(second, "SIGTERM"), stopService(processes[0]!, "SIGTERM")]);
    for (const p of processes) {
      expect(p.child.exitCode, `${p.name} exit code`).toBe(0);
      expect(p.output(), `${p.name} log`).not.toMatch(BAD_LOG);
    }
  }, 240_000);
});
