import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSource } from "../../shared/db/repositories/sources.repository.ts";
import { type PullKind, sealPullConfig } from "../../shared/ingest/connectors/index.ts";
import { type ApiClient, registerOwner } from "../harness/api-client.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

/**
 * Pull sources on the production configuration (NODE_ENV=production, PostgreSQL, S3, real secrets): an
 * owner-configured feed, API or bucket endpoint on a non-public address is refused when the source is
 * created or changed (400), and a name that resolves to one is refused when the pull connects: the
 * listener on loopback never sees a connection, and `lastError` says no more than for a host that does
 * not exist (no oracle).
 */
let app: TestApp;
let owner: { client: ApiClient; accountId: string };
let listener: net.Server;
let port: number;
let connections = 0;

beforeAll(async () => {
  app = await startTestApp("postgres");
  expect(app.config.env).toBe("production");
  owner = await registerOwner(app.baseUrl);
  // Anything that connects is counted, whatever it says (an internal service would answer it).
  listener = net.createServer((socket) => {
    connections++;
    socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"items":[]}');
  });
  await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
  port = (listener.address() as net.AddressInfo).port;
}, 60_000);
afterAll(async () => {
  await app?.close();
  await new Promise((r) => listener?.close(r));
});

interface SourceBody {
  id: string;
  config: Record<string, unknown>;
  status?: { lastError: { code: string; message: string } | null };
}
type ErrorBody = { error: { code: string; details: { path: string; message: string }[] } };

describe("pull source endpoints in production", () => {
  it("refuses loopback, private and metadata addresses at create time with 400, naming the field", async () => {
    const before = (await owner.client.get<{ items: unknown[] }>("/api/v1/sources")).body.items.length;
    const cases: [PullKind, Record<string, unknown>, string][] = [
      ["http_pull", { url: `http://127.0.0.1:${port}/calls` }, "body.config.url"],
      ["http_pull", { url: `http://localhost:${port}/calls` }, "body.config.url"],
      ["http_pull", { url: "http://[::ffff:7f00:1]/calls" }, "body.config.url"],
      ["http_pull", { url: "http://169.254.169.254/latest/meta-data/" }, "body.config.url"],
      [
        "zadarma",
        { baseUrl: `http://127.0.0.1:${port}`, apiKey: "k", apiSecret: "s" },
        "body.config.baseUrl",
      ],
      [
        "s3_pull",
        { bucket: "calls", endpoint: "http://10.0.0.5:9000", accessKeyId: "a", secretAccessKey: "s" },
        "body.config.endpoint",
      ],
    ];
    const problems: string[] = [];
    for (const [kind, config, path] of cases) {
      const res = await owner.client.post<ErrorBody>("/api/v1/sources", { name: "Internal", kind, config });
      if (res.status !== 400 || !res.body.error?.details?.some((d) => d.path === path))
        problems.push(`${kind} ${JSON.stringify(config)}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    expect(problems).toEqual([]);
    expect((await owner.client.get<{ items: unknown[] }>("/api/v1/sources")).body.items).toHaveLength(before);
    expect(connections).toBe(0);
  });

  it("refuses a PATCH that moves a source's endpoint to loopback, keeping the old one", async () => {
    const created = await owner.client.post<SourceBody>("/api/v1/sources", {
      name: "Feed",
      kind: "http_pull",
      config: { url: "https://feed.example.com/calls" },
    });
    expect(created.status).toBe(201);
    const res = await owner.client.patch<ErrorBody>(`/api/v1/sources/${created.body.id}`, {
      config: { url: `http://127.0.0.1:${port}/calls` },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d) => d.path)).toContain("body.config.url");
    const list = await owner.client.get<{ items: SourceBody[] }>("/api/v1/sources");
    expect(list.body.items.find((s) => s.id === created.body.id)?.config.url).toBe(
      "https://feed.example.com/calls",
    );
  });

  it("refuses at pull time a name that resolves to loopback: the listener receives nothing, lastError is generic", async () => {
    // Sources stored before their names resolved to loopback (DNS changes after creation): written
    // directly, as the API would now refuse them.
    const direct = async (kind: PullKind, config: Record<string, unknown>) =>
      createSource(app.database.db, {
        accountId: owner.accountId,
        name: `direct ${kind}`,
        kind,
        tokenHash: `hash-${crypto.randomUUID()}`,
        signingSecretEnc: "unused",
        config: sealPullConfig(kind, config, app.config.appSecret, new Date()),
      });
    const feed = await direct("http_pull", { url: `http://localhost:${port}/calls` });
    const api = await direct("zadarma", { baseUrl: `http://127.0.0.1:${port}`, apiKey: "k", apiSecret: "s" });
    const bucket = await direct("s3_pull", {
      bucket: "calls",
      endpoint: `http://localhost:${port}`,
      forcePathStyle: true,
      accessKeyId: "a",
      secretAccessKey: "s",
    });
    const nowhere = await direct("http_pull", { url: "http://no-such-feed.invalid/calls" });

    const run = await app.pullSources();
    expect(connections).toBe(0);
    const byId = new Map(run.results.map((r) => [r.sourceId, r]));
    for (const source of [feed, api, bucket, nowhere]) {
      expect(byId.get(source.id)?.error?.code, source.kind).toBe("SOURCE_UNAVAILABLE");
    }

    const list = await owner.client.get<{ items: SourceBody[] }>("/api/v1/sources");
    const lastError = (id: string) => list.body.items.find((s) => s.id === id)?.status?.lastError;
    // A loopback name reads exactly like a host that does not exist: nothing to learn from it.
    expect(lastError(feed.id)).toMatchObject({ code: "SOURCE_UNAVAILABLE" });
    expect(lastError(feed.id)?.message).toBe(lastError(nowhere.id)?.message);
    expect(lastError(feed.id)?.message).toBe("The call feed is unavailable: it could not be reached.");
    for (const source of [feed, api, bucket]) {
      const message = lastError(source.id)?.message ?? "";
      expect(message, source.kind).toMatch(/could not be reached/);
      expect(message, source.kind).not.toMatch(/127\.0\.0\.1|localhost|::1|private|ECONN|EAI_|ENOTFOUND/i);
    }
  });
});
