import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finishPullRun, savePullCursor } from "../../shared/db/repositories/sources.repository.ts";
import { sources } from "../../shared/db/schema/index.ts";
import { decryptSecret } from "../../shared/security/tokens.ts";
import { type ApiClient, registerOwner } from "../harness/api-client.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

let app: TestApp;
let owner: ApiClient;

beforeAll(async () => {
  app = await startTestApp("pglite");
  owner = (await registerOwner(app.baseUrl)).client;
});
afterAll(async () => {
  await app?.close();
});

interface SourceBody {
  id: string;
  kind: string;
  config: Record<string, unknown>;
  status?: { lastPullAt: string | null; lastError: { code: string } | null; failed: number };
}

describe("POST/GET /api/v1/sources for pull kinds", () => {
  it("creates each pull kind with validated settings and never shows its credentials", async () => {
    const created = [
      await owner.post<SourceBody>("/api/v1/sources", {
        name: "Feed",
        kind: "http_pull",
        config: { url: "https://feed.example.com/calls", bearerToken: "feed-secret-token", pageSize: 50 },
      }),
      await owner.post<SourceBody>("/api/v1/sources", {
        name: "Bucket",
        kind: "s3_pull",
        config: {
          bucket: "calls",
          prefix: "pbx/",
          accessKeyId: "AKIAEXAMPLE",
          secretAccessKey: "s3-secret-key",
          since: "2026-01-01T00:00:00Z",
        },
      }),
      await owner.post<SourceBody>("/api/v1/sources", {
        name: "Zadarma",
        kind: "zadarma",
        config: { apiKey: "zadarma-key-123", apiSecret: "zadarma-secret-456" },
      }),
    ];
    for (const res of created) expect(res.status).toBe(201);
    expect(created[0]!.body.config).toMatchObject({ url: "https://feed.example.com/calls", pageSize: 50 });
    expect(created[1]!.body.config).toMatchObject({ since: "2026-01-01T00:00:00Z", metadata: "sidecar" });
    expect(typeof created[2]!.body.config.since).toBe("string"); // defaults to the creation instant

    const list = await owner.get<{ items: SourceBody[] }>("/api/v1/sources");
    const everything = JSON.stringify([created.map((c) => c.body), list.body]);
    for (const secret of ["feed-secret-token", "s3-secret-key", "zadarma-key-123", "zadarma-secret-456"]) {
      expect(everything).not.toContain(secret);
    }
    expect(everything).not.toContain("secretsEnc");
    expect(list.body.items.find((s) => s.id === created[0]!.body.id)?.status).toMatchObject({
      lastPullAt: null,
      lastError: null,
    });
  });

  it("refuses bad settings per kind with 400 and the field's path, creating nothing", async () => {
    const before = (await owner.get<{ items: unknown[] }>("/api/v1/sources")).body.items.length;
    const cases: [string, Record<string, unknown>, string][] = [
      ["http_pull", {}, "body.config.url"],
      ["http_pull", { url: "ftp://example.com/x" }, "body.config.url"],
      ["zadarma", { apiKey: "k" }, "body.config.apiSecret"],
      [
        "s3_pull",
        { bucket: "b", accessKeyId: "a", secretAccessKey: "s", metadata: "filename" },
        "body.config.fileNamePattern",
      ],
      ["s3_pull", { bucket: "b", accessKeyId: "a", secretAccessKey: "s", surprise: 1 }, "body.config"],
    ];
    for (const [kind, config, path] of cases) {
      const res = await owner.post<{ error: { code: string; details: { path: string }[] } }>(
        "/api/v1/sources",
        {
          name: "Bad",
          kind,
          config,
        },
      );
      expect(res.status, `${kind} ${JSON.stringify(config)}`).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
      expect(res.body.error.details.map((d) => d.path)).toContain(path);
    }
    expect((await owner.get<{ items: unknown[] }>("/api/v1/sources")).body.items).toHaveLength(before);
  });

  it("shows a pull run's time, error and failed count in the source's status", async () => {
    const source = await owner.post<SourceBody>("/api/v1/sources", {
      name: "Feed 2",
      kind: "http_pull",
      config: { url: "https://feed.example.com/calls" },
    });
    const at = new Date("2026-03-01T10:00:00Z");
    await finishPullRun(app.database.db, source.body.id, {
      at,
      error: { code: "SOURCE_AUTH_FAILED", message: "The call feed refused the source's credentials." },
      failedItems: 2,
    });
    const list = await owner.get<{ items: SourceBody[] }>("/api/v1/sources");
    expect(list.body.items.find((s) => s.id === source.body.id)?.status).toMatchObject({
      lastPullAt: at.toISOString(),
      failed: 2,
      lastError: { code: "SOURCE_AUTH_FAILED", at: at.toISOString() },
    });
  });

  it("PATCH changes a pull source's settings and credentials, keeps the rest, and restarts from a new since", async () => {
    const source = await owner.post<SourceBody>("/api/v1/sources", {
      name: "Feed 3",
      kind: "http_pull",
      config: {
        url: "https://feed.example.com/v1",
        bearerToken: "old-token",
        pageSize: 20,
        since: "2026-01-01T00:00:00Z",
      },
    });
    const id = source.body.id;
    const row = async () => (await app.database.db.select().from(sources).where(eq(sources.id, id)))[0]!;
    const secrets = async () =>
      JSON.parse(decryptSecret(app.config.appSecret, String((await row()).config.secretsEnc)));
    await savePullCursor(app.database.db, id, "page-7", new Date());

    // A new token only: the URL and page size stay, the cursor too.
    const token = await owner.patch<SourceBody>(`/api/v1/sources/${id}`, {
      config: { bearerToken: "new-token" },
    });
    expect(token.status).toBe(200);
    expect(token.body.config).toMatchObject({ url: "https://feed.example.com/v1", pageSize: 20 });
    expect(JSON.stringify(token.body)).not.toContain("new-token");
    expect(await secrets()).toEqual({ bearerToken: "new-token" });
    expect((await row()).pullCursor).toBe("page-7");

    // Invalid settings change nothing.
    const bad = await owner.patch<{ error: { code: string; details: { path: string }[] } }>(
      `/api/v1/sources/${id}`,
      { config: { url: "ftp://nope" } },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d) => d.path)).toContain("body.config.url");
    expect((await row()).config).toMatchObject({ url: "https://feed.example.com/v1" });

    // A new since: backfill from that date (the cursor is dropped); null removes the token.
    const since = await owner.patch<SourceBody>(`/api/v1/sources/${id}`, {
      config: { since: "2025-06-01T00:00:00Z", bearerToken: null },
      enabled: false,
    });
    expect(since.status).toBe(200);
    expect(since.body.config).toMatchObject({
      since: "2025-06-01T00:00:00Z",
      url: "https://feed.example.com/v1",
    });
    expect((await row()).pullCursor).toBeNull();
    expect((await row()).enabled).toBe(false);
    expect(await secrets()).toEqual({});

    // Push sources have no config to change.
    const push = await owner.post<SourceBody>("/api/v1/sources", { name: "PBX", kind: "push" });
    const refused = await owner.patch(`/api/v1/sources/${push.body.id}`, { config: { url: "https://x" } });
    expect(refused.status).toBe(400);
  });
});
