import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { DEMO_EMAIL, DEMO_PASSWORD, demoTemplate } from "../../shared/demo/seed-demo.ts";
import { killAllInOne, type ServerProcess, startAllInOne } from "../harness/all-in-one-process.ts";
import { apiClient } from "../harness/api-client.ts";

/**
 * `./scripts/start` on embedded defaults, first run: the demo owner, its template and push source are
 * created and three synthesized calls are pushed through the real ingest endpoint; a second start on the
 * same data finds the demo account and seeds nothing again.
 */
let workDir: string;
let keepLogs = false;
const servers: ServerProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-demo-"));
});
afterAll(async () => {
  for (const s of servers) await killAllInOne(s);
  if (!keepLogs) await fs.rm(workDir, { recursive: true, force: true });
});

describe("demo seeding at first start", () => {
  it("creates the demo account and pushes it three sample calls, once", async () => {
    onTestFailed(() => {
      keepLogs = true;
    });
    const port = await freePort();
    // No TYNDAU_DEMO: embedded defaults turn the demo on, as ./scripts/start runs it.
    const env = {
      HOST: "127.0.0.1",
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: path.join(workDir, "data"),
      LOG_LEVEL: "info",
      SHUTDOWN_GRACE_SEC: "10",
    };
    const first = startAllInOne(env, path.join(workDir, "first.log"));
    servers.push(first);
    const baseUrl = await first.ready;
    // Written just after the "running" line, once the server has looked for the demo owner.
    const printed = (server: ServerProcess, text: string) =>
      until(`"${text}"`, 30_000, async () => (server.output().includes(text) ? true : undefined));
    await printed(first, `Sign in as ${DEMO_EMAIL} / ${DEMO_PASSWORD}`);

    const signIn = () =>
      apiClient(baseUrl).post<{ token: string }>("/api/v1/auth/login", {
        email: DEMO_EMAIL,
        password: DEMO_PASSWORD,
      });
    const token = await until("the demo owner", 60_000, async () => {
      const res = await signIn();
      return res.status === 200 ? res.body.token : undefined;
    });
    const owner = apiClient(baseUrl, token);
    const listCalls = async () =>
      (await owner.get<{ items: { id: string; externalId: string }[] }>("/api/v1/calls")).body.items;
    const calls = await until("three demo calls", 120_000, async () => {
      const items = await listCalls();
      return items.length >= 3 ? items : undefined;
    });
    expect(calls.map((c) => c.externalId).sort()).toEqual(["demo-1", "demo-2", "demo-3"]);
    await printed(first, "demo account ready");
    expect(first.output()).not.toContain("demo seeding failed");

    // Processing them is the pipeline's part (walking-skeleton and the rest); here: what seeding made.
    const templates = await owner.get<{ items: { name: string; questions: { key: string }[] }[] }>(
      "/api/v1/templates",
    );
    expect(templates.body.items.map((t) => [t.name, t.questions.map((q) => q.key)])).toEqual([
      [demoTemplate.name, demoTemplate.questions.map((q) => q.key)],
    ]);
    const sources = await owner.get<{ items: { name: string; kind: string }[] }>("/api/v1/sources");
    expect(sources.body.items).toEqual([expect.objectContaining({ name: "Demo PBX", kind: "push" })]);

    first.signalGroup("SIGTERM");
    await first.exited;
    const second = startAllInOne(env, path.join(workDir, "second.log"));
    servers.push(second);
    await second.ready;
    await printed(second, `Demo account: ${DEMO_EMAIL} / ${DEMO_PASSWORD}`);
    expect(second.output()).not.toContain("Creating the demo account");
    expect((await signIn()).status).toBe(200);
    expect(await listCalls()).toHaveLength(3);
  });
});
