import fs from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DownloadOptions, downloadRecording, isPrivateAddress } from "./download-recording.ts";

let server: http.Server;
let port: number;
let dir: string;
const hits = new Map<string, number>();
const body = Buffer.alloc(2000, 7);

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-download-"));
  server = http.createServer((req, res) => {
    const url = req.url ?? "";
    const n = (hits.get(url) ?? 0) + 1;
    hits.set(url, n);
    if (url === "/flaky-503") {
      if (n < 3) res.writeHead(503).end("busy");
      else res.writeHead(200).end(body);
    } else if (url === "/reset") {
      if (n < 2) req.socket.destroy();
      else res.writeHead(200).end(body);
    } else if (url === "/always-500") res.writeHead(500).end();
    else if (url === "/gone") res.writeHead(404).end();
    else if (url === "/forbidden") res.writeHead(403).end();
    else if (url === "/loop") res.writeHead(302, { location: "/loop" }).end();
    else if (url === "/to-other-host") res.writeHead(302, { location: `http://127.0.0.2:${port}/ok` }).end();
    else if (url === "/ok") res.writeHead(200).end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "0.0.0.0", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await fs.rm(dir, { recursive: true, force: true });
});

const base: DownloadOptions = {
  maxBytes: 1_000_000,
  timeoutMs: 5000,
  maxRedirects: 3,
  allowPrivateAddresses: true,
  retryBaseMs: 10,
};
const target = () => path.join(dir, `f-${Math.random()}`);

describe("downloadRecording", () => {
  it("retries 5xx and a reset connection with backoff, then succeeds", async () => {
    const a = await downloadRecording(`http://127.0.0.1:${port}/flaky-503`, target(), base);
    expect(a).toEqual({ bytes: body.length, attempts: 3 });
    const b = await downloadRecording(`http://127.0.0.1:${port}/reset`, target(), base);
    expect(b).toEqual({ bytes: body.length, attempts: 2 });
  });

  it("gives up after the retries on a 5xx, and never retries a 4xx", async () => {
    await expect(
      downloadRecording(`http://127.0.0.1:${port}/always-500`, target(), base),
    ).rejects.toMatchObject({
      code: "MEDIA_UNREADABLE",
    });
    expect(hits.get("/always-500")).toBe(3);
    for (const p of ["/gone", "/forbidden"]) {
      await expect(downloadRecording(`http://127.0.0.1:${port}${p}`, target(), base)).rejects.toMatchObject({
        code: "MEDIA_UNREADABLE",
        retryable: false,
      });
      expect(hits.get(p)).toBe(1);
    }
  });

  it("stops a redirect loop and refuses a body over the limit", async () => {
    await expect(downloadRecording(`http://127.0.0.1:${port}/loop`, target(), base)).rejects.toMatchObject({
      code: "MEDIA_UNREADABLE",
      message: expect.stringContaining("redirected"),
    });
    await expect(
      downloadRecording(`http://127.0.0.1:${port}/ok`, target(), { ...base, maxBytes: 100 }),
    ).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
  });

  it("refuses private addresses (production): literal, resolved by DNS, and on a redirect hop", async () => {
    const production = { ...base, allowPrivateAddresses: false };
    await expect(
      downloadRecording(`http://127.0.0.1:${port}/ok`, target(), production),
    ).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
    });
    // A host name is checked on the address the connection actually uses (custom lookup: no rebinding).
    await expect(
      downloadRecording(`http://localhost:${port}/ok`, target(), production),
    ).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
    });
    // Treat only 127.0.0.2 as private: the first hop is fetched, the redirect to 127.0.0.2 is refused.
    const only2 = { ...production, isBlocked: (a: string) => a === "127.0.0.2" };
    const before = hits.get("/ok") ?? 0;
    await expect(
      downloadRecording(`http://127.0.0.1:${port}/to-other-host`, target(), only2),
    ).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
    expect(hits.get("/ok") ?? 0).toBe(before);
    // …and a name that resolves to it through the lookup is refused too.
    const onlyLoopbackName = { ...production, isBlocked: (a: string) => a === "127.0.0.1" || a === "::1" };
    await expect(
      downloadRecording(`http://localhost:${port}/ok`, target(), onlyLoopbackName),
    ).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
  });
});

describe("isPrivateAddress", () => {
  it("tells private from public addresses, IPv4-mapped IPv6 included", () => {
    for (const a of ["10.1.2.3", "127.0.0.1", "169.254.169.254", "192.168.1.1", "::1", "fe80::1", "fd00::1"])
      expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ["::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:7f00:1", "not-an-ip"])
      expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ["8.8.8.8", "1.1.1.1", "::ffff:8.8.8.8", "2a00:1450:4010::200e"])
      expect(isPrivateAddress(a), a).toBe(false);
  });
});
