import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type CallScript, synthesizeCall } from "../../scripts/fixtures/synthesize-call.ts";
import { killAllInOne, type ServerProcess, startAllInOne } from "../harness/all-in-one-process.ts";
import { apiClient, pushRecording, registerOwner } from "../harness/api-client.ts";
import { createDatabaseOf, databaseKinds, type TestDatabase } from "../harness/test-database.ts";
import { freePort, until } from "../harness/wait.ts";

/**
 * Issue #13: what a person does to a running server. `./scripts/start`'s process is started as the leader
 * of its own process group (as a terminal starts it); three two-voice calls are pushed; while PocketSphinx
 * transcribes them the whole group gets Ctrl-C (SIGINT), or is killed (SIGKILL, as an OOM kill or a power
 * cut does); the server is started again on the same data. Every call must end `done`, charged exactly
 * once, with no orphan process and no TypeError or unhandled error in any log.
 */
const script: CallScript = {
  turns: [
    { speaker: "operator", text: "Good morning. Thank you for calling. How can I help you today?" },
    { speaker: "client", text: "Hello. I would like to know the price of the new service, please." },
    { speaker: "operator", text: "Of course. I will send you the price list today by email." },
  ],
};
const template = {
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
};
const BAD_LOG = /TypeError|Unhandled|unhandledRejection|uncaught/i;

let workDir: string;
let recording: string;

beforeAll(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-interrupt-"));
  recording = path.join(workDir, "call.wav");
  await synthesizeCall(script, recording, { sampleRate: 16000 });
});
let keepLogs = false;
afterAll(async () => {
  // The servers' logs are kept when a test failed (their folder is printed).
  if (keepLogs) console.error(`server logs kept in ${workDir}`);
  else await fs.rm(workDir, { recursive: true, force: true });
});

describe.each(databaseKinds)("interrupted work on %s", (kind) => {
  let db: TestDatabase | undefined;
  let env: Record<string, string>;
  const servers: ServerProcess[] = [];
  let logIndex = 0;

  async function start(): Promise<{ server: ServerProcess; baseUrl: string }> {
    const server = startAllInOne(env, path.join(workDir, `${kind}-${logIndex++}.log`));
    servers.push(server);
    const baseUrl = await server.ready;
    return { server, baseUrl };
  }

  beforeAll(async () => {
    const port = await freePort();
    const dataDir = await fs.mkdtemp(path.join(workDir, `${kind}-data-`));
    env = {
      HOST: "127.0.0.1",
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir,
      LOG_LEVEL: "info",
      TYNDAU_DEMO: "0",
      PIPELINE_CONCURRENCY: "2",
      SHUTDOWN_GRACE_SEC: "10",
    };
    if (kind === "postgres") {
      db = await createDatabaseOf("postgres");
      // Several processes of one deployment: a dead one's jobs are taken over after the lease.
      Object.assign(env, { DATABASE_URL: db.url, QUEUE_LEASE_SEC: "10" });
    }
  });
  afterAll(async () => {
    for (const s of servers) await killAllInOne(s);
    await db?.drop();
  });

  it("Ctrl-C, then kill -9, in the middle of transcription: after each restart every call finishes, charged once", async () => {
    onTestFailed(() => {
      keepLogs = true;
    });
    let { server, baseUrl } = await start();
    const owner = await registerOwner(baseUrl);
    expect((await owner.client.post("/api/v1/templates", template)).status).toBe(201);
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    expect(source.status).toBe(201);
    const ingestUrl = source.body.ingestUrl.replace("localhost", "127.0.0.1");
    const callIds: string[] = [];
    const pushThree = async (round: string) => {
      for (let i = 1; i <= 3; i++) {
        const pushed = await pushRecording(ingestUrl, recording, {
          externalId: `${round}-${i}`,
          startedAt: "2026-12-01T10:00:00+05:00",
          direction: "inbound",
          operator: { externalId: "op-1", name: "Anna" },
        });
        expect(pushed.status).toBe(202);
        callIds.push(String(pushed.body.callId));
      }
    };
    const whilePocketSphinxRuns = () =>
      until("PocketSphinx to run", 90_000, () =>
        server.childNames().some((n) => n.startsWith("pocketsphinx")) ? true : undefined,
      );
    const allDone = async (client: ReturnType<typeof apiClient>, timeoutMs: number) =>
      until("every call to finish", timeoutMs, async () => {
        const statuses = await Promise.all(
          callIds.map(
            async (id) => (await client.get<{ status: string }>(`/api/v1/calls/${id}`)).body.status,
          ),
        );
        if (statuses.some((s) => s === "failed")) throw new Error(`a call failed: ${statuses.join(", ")}`);
        return statuses.every((s) => s === "done") ? statuses : undefined;
      });

    // 1. Ctrl-C: the terminal signals the whole group, PocketSphinx included.
    await pushThree("sigint");
    await whilePocketSphinxRuns();
    server.signalGroup("SIGINT");
    const stopped = await server.exited;
    expect(stopped).toEqual({ code: 0, signal: null });
    // No orphan: nothing of its group outlives it.
    await until("the group to be empty", 5_000, () =>
      server.groupChildren().length === 0 ? true : undefined,
    );
    const interruptedLog = server.output();
    expect(interruptedLog).toMatch(/shut down cleanly/);

    ({ server, baseUrl } = await start());
    const client = apiClient(baseUrl, owner.token);
    await allDone(client, 120_000);

    // 2. kill -9 of the whole group (OOM kill, power cut): no goodbye at all.
    await pushThree("sigkill");
    await whilePocketSphinxRuns();
    server.signalGroup("SIGKILL");
    await server.exited;
    const restartedAt = Date.now();
    ({ server, baseUrl } = await start());
    await allDone(apiClient(baseUrl, owner.token), 120_000);
    expect(Date.now() - restartedAt).toBeLessThan(120_000);

    // Charged exactly once each: one `charge` ledger entry per call, none released.
    const ledger = await client.get<{ items: { type: string; callId?: string }[] }>(
      "/api/v1/billing/ledger?limit=200",
    );
    expect(ledger.status).toBe(200);
    const charges = ledger.body.items.filter((e) => e.type === "charge").map((e) => e.callId);
    expect(charges.sort()).toEqual([...callIds].sort());
    expect(ledger.body.items.filter((e) => e.type === "release")).toEqual([]);

    // A clean stop at the end, and no crash signature in any log of the three runs.
    server.signalGroup("SIGTERM");
    expect(await server.exited).toEqual({ code: 0, signal: null });
    for (const s of servers) expect(s.output()).not.toMatch(BAD_LOG);
  }, 420_000);
});
