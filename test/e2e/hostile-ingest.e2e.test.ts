import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushRecording, registerOwner } from "../harness/api-client.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

/**
 * Hostile input at the ingest endpoint: each gets its documented status and code, and none creates a
 * call or moves money. Runs on the embedded configuration (development: local URLs allowed), with a
 * 1 MiB upload limit so "too large" is cheap to provoke.
 */
let app: TestApp;
let workDir: string;
let goodWav: Buffer;
let files: http.Server;
let filesUrl: string;

beforeAll(async () => {
  app = await startTestApp("pglite", {
    MAX_UPLOAD_BYTES: String(1024 * 1024),
    MAX_UPLOADS_PER_MINUTE: "3",
    MAX_CONCURRENT_DOWNLOADS: "2",
    INGEST_BODY_TIMEOUT_MS: "700",
  });
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-hostile-"));
  const wavPath = path.join(workDir, "ok.wav");
  execFileSync("ffmpeg", [
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:duration=2",
    "-ac",
    "2",
    "-ar",
    "8000",
    wavPath,
  ]);
  goodWav = await fs.readFile(wavPath);
  // A file server for recordingUrl cases: a 404, a redirect loop, and a good file.
  files = http.createServer((req, res) => {
    if (req.url === "/loop") res.writeHead(302, { location: "/loop" }).end();
    else if (req.url === "/ok.wav") res.writeHead(200, { "content-type": "audio/wav" }).end(goodWav);
    else if (req.url === "/slow.wav")
      setTimeout(() => res.writeHead(200, { "content-type": "audio/wav" }).end(goodWav), 1500);
    else res.writeHead(404).end("not found");
  });
  await new Promise<void>((r) => files.listen(0, "127.0.0.1", r));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app?.close();
  await new Promise((r) => files?.close(r));
  await fs.rm(workDir, { recursive: true, force: true });
});

/**
 * A client that sends the headers and part of the body, then goes quiet: answers with what the server
 * said (it must not wait for the rest of the body).
 */
function stalledPost(
  url: string,
  contentType: string,
  partialBody: string,
): Promise<{ status: number; body: { error?: { code: string } } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "POST",
      headers: { "content-type": contentType, "content-length": String(partialBody.length + 100_000) },
    });
    req.on("response", (res) => {
      let text = "";
      res.on("data", (c: Buffer) => {
        text += c.toString();
      });
      res.on("end", () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { error?: { code: string } } });
      });
    });
    req.on("error", reject);
    req.write(partialBody);
  });
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string }; callId?: string } };
}

describe("hostile input at ingest", () => {
  it("refuses each with its status and code, creating no call and moving no money", async () => {
    const owner = await registerOwner(app.baseUrl);
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    const url = source.body.ingestUrl;
    const balanceBefore = (await owner.client.get("/api/v1/billing/balance")).body;
    const zeroSec = goodWav.subarray(0, 44); // a WAV header with no samples
    const boundary = "----tyndau-stall";
    const stalledForm = `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"externalId":"h16"}\r\n--${boundary}\r\nContent-Disposition: form-data; name="recording"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\nRIFF`;

    const cases: [
      string,
      () => Promise<{ status: number; body: { error?: { code: string } } }>,
      number,
      string,
    ][] = [
      [
        "empty file",
        () => pushRecording(url, Buffer.alloc(0), { externalId: "h1" }),
        422,
        "MEDIA_UNREADABLE",
      ],
      [
        "truncated file",
        () => pushRecording(url, goodWav.subarray(0, goodWav.length / 3), { externalId: "h2" }),
        422,
        "MEDIA_UNREADABLE",
      ],
      [
        "text named .wav",
        () =>
          pushRecording(
            url,
            Buffer.from("just some text\n".repeat(100)),
            { externalId: "h3" },
            {},
            "call.wav",
          ),
        422,
        "MEDIA_UNREADABLE",
      ],
      ["0-second audio", () => pushRecording(url, zeroSec, { externalId: "h4" }), 422, "MEDIA_UNREADABLE"],
      [
        "unknown token",
        () =>
          pushRecording(url.replace(/src_[\w-]+/, "src_unknown-token-0000"), goodWav, { externalId: "h5" }),
        401,
        "UNAUTHENTICATED",
      ],
      ["missing metadata", () => pushRecording(url, goodWav, "", {}), 400, "VALIDATION_FAILED"],
      ["metadata not JSON", () => pushRecording(url, goodWav, "{not json"), 400, "VALIDATION_FAILED"],
      [
        "wrong JSON types",
        () => pushRecording(url, goodWav, { externalId: 42, direction: "sideways" }),
        400,
        "VALIDATION_FAILED",
      ],
      [
        "unknown metadata fields",
        () => pushRecording(url, goodWav, { externalId: "h9", secret: "x" }),
        400,
        "VALIDATION_FAILED",
      ],
      [
        "body over the limit",
        () => pushRecording(url, Buffer.alloc(3 * 1024 * 1024, 1), { externalId: "h10" }),
        413,
        "PAYLOAD_TOO_LARGE",
      ],
      [
        "recording URL that 404s",
        () => postJson(url, { externalId: "h11", recordingUrl: `${filesUrl}/missing.wav` }),
        422,
        "MEDIA_UNREADABLE",
      ],
      [
        "redirects in a loop",
        () => postJson(url, { externalId: "h12", recordingUrl: `${filesUrl}/loop` }),
        422,
        "MEDIA_UNREADABLE",
      ],
      [
        "client stalls mid-body (multipart)",
        () => stalledPost(url, `multipart/form-data; boundary=${boundary}`, stalledForm),
        408,
        "REQUEST_TIMEOUT",
      ],
      [
        "client stalls mid-body (JSON)",
        () => stalledPost(url, "application/json", '{"externalId":"h17","recordingUrl":'),
        408,
        "REQUEST_TIMEOUT",
      ],
      [
        "not a URL",
        () => postJson(url, { externalId: "h13", recordingUrl: "file:///etc/passwd" }),
        400,
        "VALIDATION_FAILED",
      ],
      [
        "not JSON nor multipart",
        () =>
          fetch(url, { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" }).then(
            async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code: string } } }),
          ),
        415,
        "UNSUPPORTED_MEDIA",
      ],
    ];
    const problems: string[] = [];
    for (const [name, run, status, code] of cases) {
      const res = await run();
      if (res.status !== status || res.body.error?.code !== code)
        problems.push(`${name}: ${res.status} ${res.body.error?.code}`);
    }
    expect(problems).toEqual([]);
    expect((await owner.client.get<{ items: unknown[] }>("/api/v1/calls")).body.items).toEqual([]);
    expect((await owner.client.get("/api/v1/billing/balance")).body).toEqual(balanceBefore);

    // A path-like file name is only a label: the call is accepted and stored under its own key.
    const sneaky = await pushRecording(url, goodWav, { externalId: "h14" }, {}, "../../../etc/passwd");
    expect(sneaky.status).toBe(202);
    const sneakyKey = (await app.database.db.execute(
      sql`select recording_key from calls where id = ${sneaky.body.callId}`,
    )) as unknown as { rows: { recording_key: string }[] };
    expect(sneakyKey.rows[0]?.recording_key).toMatch(/^accounts\/[\w-]+\/calls\/[\w-]+\/recording$/);
    // A good recording URL is downloaded right away.
    expect((await postJson(url, { externalId: "h15", recordingUrl: `${filesUrl}/ok.wav` })).status).toBe(202);
  });

  it("checks signatures: missing, wrong, stale and replayed-with-another-body are refused", async () => {
    const owner = await registerOwner(app.baseUrl);
    const source = await owner.client.post<{ ingestUrl: string; signingSecret: string }>("/api/v1/sources", {
      name: "Signed PBX",
      kind: "push",
      requireSignature: true,
    });
    const { ingestUrl, signingSecret } = source.body;
    const sign = (ts: number, raw: string) =>
      `sha256=${createHmac("sha256", signingSecret).update(`${ts}.${raw}`).digest("hex")}`;
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ externalId: "s1", recordingUrl: `${filesUrl}/ok.wav` });
    const send = (raw: string, headers: Record<string, string>) =>
      fetch(ingestUrl, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: raw,
      }).then((r) => r.status);

    expect(await send(body, {})).toBe(401);
    expect(
      await send(body, {
        "x-tyndau-timestamp": String(now),
        "x-tyndau-signature": `sha256=${"0".repeat(64)}`,
      }),
    ).toBe(401);
    expect(
      await send(body, {
        "x-tyndau-timestamp": String(now - 600),
        "x-tyndau-signature": sign(now - 600, body),
      }),
    ).toBe(401);
    const other = JSON.stringify({ externalId: "s2", recordingUrl: `${filesUrl}/ok.wav` });
    expect(
      await send(other, { "x-tyndau-timestamp": String(now), "x-tyndau-signature": sign(now, body) }),
    ).toBe(401);
    expect((await owner.client.get<{ items: unknown[] }>("/api/v1/calls")).body.items).toEqual([]);
    expect(
      await send(body, { "x-tyndau-timestamp": String(now), "x-tyndau-signature": sign(now, body) }),
    ).toBe(202);
  });

  it("limits uploads per account per minute with 429 and Retry-After", async () => {
    const owner = await registerOwner(app.baseUrl);
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    for (const n of [1, 2, 3])
      expect((await pushRecording(source.body.ingestUrl, goodWav, { externalId: `r${n}` })).status).toBe(202);
    const res = await fetch(source.body.ingestUrl, {
      method: "POST",
      body: (() => {
        const form = new FormData();
        form.set("metadata", JSON.stringify({ externalId: "r4" }));
        form.set("recording", new Blob([goodWav]), "r4.wav");
        return form;
      })(),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("60");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    // A repeat of an accepted call is still answered: duplicates are not new uploads.
    expect((await pushRecording(source.body.ingestUrl, goodWav, { externalId: "r1" })).status).toBe(200);
  });

  it("applies per-source settings: a processing delay holds calls, a disabled source is refused, status counts", async () => {
    const owner = await registerOwner(app.baseUrl);
    const source = await owner.client.post<{ id: string; ingestUrl: string; processingDelaySec: number }>(
      "/api/v1/sources",
      {
        name: "CRM-synced PBX",
        kind: "push",
      },
    );
    expect(source.body.processingDelaySec).toBe(0);
    const patched = await owner.client.patch(`/api/v1/sources/${source.body.id}`, {
      processingDelaySec: 3600,
      operatorChannel: "right",
    });
    expect(patched.body).toMatchObject({ processingDelaySec: 3600, operatorChannel: "right" });
    const pushed = await pushRecording(source.body.ingestUrl, goodWav, { externalId: "d1" });
    expect(pushed.status).toBe(202);
    // Without the delay the probe runs within a second; with it the call waits.
    await new Promise((r) => setTimeout(r, 3000));
    const held = (await owner.client.get(`/api/v1/calls/${pushed.body.callId}`)).body;
    expect(held, JSON.stringify(held).slice(0, 300)).toMatchObject({ status: "received" });

    const listed = await owner.client.get<{
      items: { id: string; status: { received: number; failed: number; lastReceivedAt: string | null } }[];
    }>("/api/v1/sources");
    expect(listed.body.items.find((i) => i.id === source.body.id)?.status).toMatchObject({
      received: 1,
      failed: 0,
    });

    await owner.client.patch(`/api/v1/sources/${source.body.id}`, { enabled: false });
    const refused = await pushRecording(source.body.ingestUrl, goodWav, { externalId: "d2" });
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe("FORBIDDEN");
    const other = await registerOwner(app.baseUrl);
    expect((await other.client.patch(`/api/v1/sources/${source.body.id}`, { enabled: true })).status).toBe(
      404,
    );
  });

  it("limits concurrent recording downloads per account with 429 and Retry-After", async () => {
    const owner = await registerOwner(app.baseUrl);
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    // MAX_CONCURRENT_DOWNLOADS=2: a third download while two slow ones run is refused.
    const slow = [1, 2].map((n) =>
      postJson(source.body.ingestUrl, { externalId: `c${n}`, recordingUrl: `${filesUrl}/slow.wav` }),
    );
    await new Promise((r) => setTimeout(r, 400));
    const third = await fetch(source.body.ingestUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ externalId: "c3", recordingUrl: `${filesUrl}/ok.wav` }),
    });
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("5");
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([202, 202]);
    // The slots are released: the next download goes through.
    expect(
      (await postJson(source.body.ingestUrl, { externalId: "c3", recordingUrl: `${filesUrl}/ok.wav` }))
        .status,
    ).toBe(202);
  });

  it("10 concurrent deliveries of one externalId make one call (JSON and multipart)", async () => {
    const owner = await registerOwner(app.baseUrl);
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    const url = source.body.ingestUrl;
    const multipart = await Promise.all(
      Array.from({ length: 10 }, () => pushRecording(url, goodWav, { externalId: "same-m" })),
    );
    expect(multipart.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 202]);
    expect(new Set(multipart.map((r) => r.body.callId)).size).toBe(1);
    // JSON deliveries also compete for the 2 download slots: the refused ones (429) change nothing.
    const json = await Promise.all(
      Array.from({ length: 10 }, () =>
        postJson(url, { externalId: "same-j", recordingUrl: `${filesUrl}/ok.wav` }),
      ),
    );
    const statuses = json.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.every((s) => s === 200 || s === 202 || s === 429)).toBe(true);
    expect(new Set(json.filter((r) => r.status !== 429).map((r) => r.body.callId)).size).toBe(1);
    const calls = (await owner.client.get<{ items: { externalId: string }[] }>("/api/v1/calls")).body.items;
    expect(calls.map((c) => c.externalId).sort()).toEqual(["same-j", "same-m"]);
  });

  it("counts pushes by source kind and outcome in /metrics", async () => {
    const owner = await registerOwner(app.baseUrl);
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    const read = async () => {
      const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
      const value = (pattern: RegExp) =>
        Number(
          text
            .split("\n")
            .find((l) => pattern.test(l))
            ?.split(" ")
            .pop() ?? 0,
        );
      return {
        accepted: value(/^tyndau_ingest_total\{.*source_kind="push".*outcome="accepted"/),
        unreadable: value(/^tyndau_ingest_total\{.*source_kind="push".*outcome="MEDIA_UNREADABLE"/),
        latency: value(/^tyndau_ingest_accept_seconds_count\{.*source_kind="push".*body="multipart"/),
      };
    };
    const before = await read();
    expect((await pushRecording(source.body.ingestUrl, goodWav, { externalId: "m1" })).status).toBe(202);
    expect((await pushRecording(source.body.ingestUrl, Buffer.alloc(0), { externalId: "m2" })).status).toBe(
      422,
    );
    const after = await read();
    expect(after.accepted - before.accepted).toBe(1);
    expect(after.unreadable - before.unreadable).toBe(1);
    expect(after.latency - before.latency).toBe(1);
  });
});
