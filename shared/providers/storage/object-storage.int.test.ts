import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestS3 } from "../../../test/harness/s3rver.ts";
import { AppError, type ErrorCode } from "../../errors/app-error.ts";
import { createObjectStorage } from "./create-object-storage.ts";
import { createLocalObjectStorage, type LocalObjectStorage } from "./local-object-storage.ts";
import type { ObjectStorage } from "./object-storage.ts";
import { createS3ObjectStorage, ensureBucket, type S3ObjectStorageOptions } from "./s3-object-storage.ts";

/**
 * One contract, two adapters: local files and S3 (an s3rver started here, or TEST_S3_ENDPOINT when set:
 * see useTestS3 in test/harness/s3rver.ts).
 */

const MiB = 1024 * 1024;
const PUBLIC_URL = "http://tyndau.test:3000";
const SECRET = "contract-test-secret-0123456789";

interface Fixture {
  storage: ObjectStorage;
  local?: LocalObjectStorage;
  root?: string;
  close(): Promise<void>;
}

interface Generated {
  stream: Readable;
  /** sha256 of everything generated; valid once the stream has been read to the end. */
  sha256(): string;
  generated(): number;
}

/**
 * A stream produced on the fly by an async generator (never a whole Buffer): `total` random bytes in
 * `chunkSize` pieces. `onProgress` runs before each chunk is yielded, with the bytes yielded so far.
 */
function generatedStream(
  total: number,
  options: {
    chunkSize?: number;
    onProgress?: (bytesSoFar: number) => Promise<void> | void;
    failAt?: number;
  } = {},
): Generated {
  const chunkSize = options.chunkSize ?? 64 * 1024;
  const hash = createHash("sha256");
  let produced = 0;
  async function* gen() {
    while (produced < total) {
      if (options.failAt !== undefined && produced >= options.failAt) throw new Error("source went away");
      await options.onProgress?.(produced);
      const chunk = randomBytes(Math.min(chunkSize, total - produced));
      hash.update(chunk);
      produced += chunk.length;
      yield chunk;
    }
  }
  let digest: string | undefined;
  return {
    stream: Readable.from(gen(), { objectMode: false, highWaterMark: chunkSize }),
    sha256: () => {
      digest ??= hash.digest("hex");
      return digest;
    },
    generated: () => produced,
  };
}

async function sha256Of(stream: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

async function expectAppError(promise: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected AppError ${code}`).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  return err as AppError;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

const fixtures: Record<"local" | "s3", () => Promise<Fixture>> = {
  async local() {
    const root = await mkdtemp(path.join(os.tmpdir(), "tyndau-storage-"));
    const local = createLocalObjectStorage({ root, publicUrl: `${PUBLIC_URL}/`, secret: SECRET });
    return { storage: local, local, root, close: () => rm(root, { recursive: true, force: true }) };
  },
  async s3() {
    const target = await useTestS3();
    const options: S3ObjectStorageOptions = {
      endpoint: target.endpoint,
      bucket: `tyndau-contract-${randomBytes(4).toString("hex")}`,
      region: target.region,
      accessKeyId: target.accessKeyId,
      secretAccessKey: target.secretAccessKey,
      forcePathStyle: true,
    };
    await ensureBucket(options);
    await ensureBucket(options); // idempotent
    return { storage: createS3ObjectStorage(options), close: () => target.close() };
  },
};

describe.each(["local", "s3"] as const)("ObjectStorage contract: %s", (kind) => {
  let fx: Fixture;
  const prefix = `contract/${randomUUID()}`;
  const key = (name: string) => `${prefix}/${name}`;

  beforeAll(async () => {
    fx = await fixtures[kind]();
  });
  afterAll(async () => {
    await fx?.close();
  });

  it("is the adapter it claims to be and pings", async () => {
    expect(fx.storage.kind).toBe(kind);
    await fx.storage.ping();
  });

  it("round-trips a 5 MB generated stream (put, get, download) without a half-written object visible", async () => {
    const k = key("big/original");
    const total = 5 * MiB + 12_345; // over one 5 MiB part: exercises multipart uploads on S3
    const midpointChecks: boolean[] = [];
    const body = generatedStream(total, {
      onProgress: async (soFar) => {
        // Halfway through the body the object must not exist yet (atomic put).
        if (soFar >= total / 2 && midpointChecks.length === 0)
          midpointChecks.push(await fx.storage.exists(k));
      },
    });
    const put = await fx.storage.put(k, body.stream, { contentType: "audio/wav" });
    expect(put.bytes).toBe(total);
    expect(body.generated()).toBe(total);
    expect(midpointChecks).toEqual([false]);
    expect(await fx.storage.exists(k)).toBe(true);

    const got = await sha256Of(await fx.storage.get(k));
    expect(got).toEqual({ sha256: body.sha256(), bytes: total });

    const dir = await mkdtemp(path.join(os.tmpdir(), "tyndau-dl-"));
    try {
      const file = path.join(dir, "copy.wav");
      await fx.storage.download(k, file);
      expect((await stat(file)).size).toBe(total);
      expect((await sha256Of(createReadStream(file))).sha256).toBe(body.sha256());
      expect(await readdir(dir)).toEqual(["copy.wav"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("streams while reading the body (local: partial data lands in a temp file, not under the key)", async () => {
    if (!fx.local || !fx.root) return;
    const k = key("streaming/original");
    const total = 3 * MiB;
    const seen: { tmpBytes: number; keyVisible: boolean }[] = [];
    const root = fx.root;
    const local = fx.local;
    const body = generatedStream(total, {
      onProgress: async (soFar) => {
        if (soFar >= 2 * MiB && seen.length === 0) {
          const dir = path.join(root, ...k.split("/").slice(0, -1));
          const tmps = (await readdir(dir)).filter((n) => n.startsWith(".tmp-"));
          const sizes = await Promise.all(tmps.map(async (n) => (await stat(path.join(dir, n))).size));
          seen.push({ tmpBytes: sizes.reduce((a, b) => a + b, 0), keyVisible: await local.exists(k) });
        }
      },
    });
    await fx.storage.put(k, body.stream);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.tmpBytes).toBeGreaterThan(0);
    expect(seen[0]!.keyVisible).toBe(false);
    expect(await listFiles(root)).not.toContainEqual(expect.stringContaining(".tmp-"));
  });

  it("overwrites, deletes idempotently, and answers exists", async () => {
    const k = key("small/object");
    expect(await fx.storage.exists(k)).toBe(false);
    await fx.storage.put(k, Readable.from([Buffer.from("first")]));
    await fx.storage.put(k, Readable.from([Buffer.from("second version")]));
    expect((await sha256Of(await fx.storage.get(k))).bytes).toBe("second version".length);
    expect(await fx.storage.exists(k)).toBe(true);
    await fx.storage.delete(k);
    expect(await fx.storage.exists(k)).toBe(false);
    await fx.storage.delete(k);
    await fx.storage.delete(key("never/existed"));
  });

  it("get and download of a missing key fail NOT_FOUND (and leave no file)", async () => {
    await expectAppError(fx.storage.get(key("missing")), "NOT_FOUND");
    await expectAppError(fx.storage.get(`${prefix}`), "NOT_FOUND"); // a "directory" is not an object
    const dir = await mkdtemp(path.join(os.tmpdir(), "tyndau-dl-"));
    try {
      await expectAppError(fx.storage.download(key("missing"), path.join(dir, "x")), "NOT_FOUND");
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("accepts a body of exactly maxBytes", async () => {
    const k = key("limit/exact");
    const body = generatedStream(4096, { chunkSize: 1000 });
    expect(await fx.storage.put(k, body.stream, { maxBytes: 4096 })).toEqual({ bytes: 4096 });
    expect((await sha256Of(await fx.storage.get(k))).sha256).toBe(body.sha256());
  });

  it("refuses a small body over maxBytes with PAYLOAD_TOO_LARGE and leaves nothing", async () => {
    const k = key("limit/small");
    const body = generatedStream(4000, { chunkSize: 100 });
    await expectAppError(fx.storage.put(k, body.stream, { maxBytes: 1000 }), "PAYLOAD_TOO_LARGE");
    expect(await fx.storage.exists(k)).toBe(false);
  });

  it("refuses a multi-part body over maxBytes with PAYLOAD_TOO_LARGE and leaves nothing", async () => {
    const k = key("limit/large");
    const body = generatedStream(9 * MiB);
    const err = await expectAppError(
      fx.storage.put(k, body.stream, { maxBytes: 6 * MiB }),
      "PAYLOAD_TOO_LARGE",
    );
    expect(err.retryable).toBe(false);
    expect(await fx.storage.exists(k)).toBe(false);
    if (fx.root) expect(await listFiles(fx.root)).not.toContainEqual(expect.stringContaining(".tmp-"));
  });

  it("keeps the previous object when a replacing put fails", async () => {
    const k = key("limit/keep-previous");
    await fx.storage.put(k, Readable.from([Buffer.from("previous")]));
    await expectAppError(
      fx.storage.put(k, generatedStream(3000, { chunkSize: 500 }).stream, { maxBytes: 1000 }),
      "PAYLOAD_TOO_LARGE",
    );
    expect((await sha256Of(await fx.storage.get(k))).bytes).toBe("previous".length);
  });

  it("passes a failing body's error through and leaves nothing", async () => {
    const k = key("broken/body");
    const body = generatedStream(2 * MiB, { failAt: MiB });
    await expect(fx.storage.put(k, body.stream)).rejects.toThrow("source went away");
    expect(await fx.storage.exists(k)).toBe(false);
    if (fx.root) expect(await listFiles(fx.root)).not.toContainEqual(expect.stringContaining(".tmp-"));
  });

  it("refuses path-traversal and malformed keys with VALIDATION_FAILED", async () => {
    const bad = [
      "",
      "../escape",
      "a/../../escape",
      "/etc/passwd",
      "a\\b",
      "a\u0000b",
      "a//b",
      "a/",
      ".hidden/x",
      "a/./b",
    ];
    for (const k of bad) {
      await expectAppError(fx.storage.put(k, Readable.from([Buffer.from("x")])), "VALIDATION_FAILED");
      await expectAppError(fx.storage.get(k), "VALIDATION_FAILED");
      await expectAppError(fx.storage.exists(k), "VALIDATION_FAILED");
      await expectAppError(fx.storage.delete(k), "VALIDATION_FAILED");
      await expectAppError(fx.storage.signedUrl(k, 60), "VALIDATION_FAILED");
      await expectAppError(fx.storage.download(k, path.join(os.tmpdir(), "never")), "VALIDATION_FAILED");
    }
    if (fx.root) {
      expect(await readdir(path.dirname(fx.root))).not.toContain("escape");
      expect(await listFiles(fx.root)).not.toContainEqual(expect.stringMatching(/escape|passwd/));
    }
  });

  it("signs URLs that serve the object, for at most 900 seconds", async () => {
    const k = key("signed/rec ording+1.wav");
    const content = randomBytes(100_000);
    await fx.storage.put(k, Readable.from([content]));
    const before = Math.floor(Date.now() / 1000);
    const url = new URL(await fx.storage.signedUrl(k, 300, { contentType: "audio/wav" }));
    const capped = new URL(await fx.storage.signedUrl(k, 3600));

    if (fx.local) {
      expect(`${url.origin}${url.pathname}`).toBe(`${PUBLIC_URL}/api/v1/files/${encodeURIComponent(k)}`);
      const expires = Number(url.searchParams.get("expires"));
      const signature = url.searchParams.get("signature") ?? "";
      expect(expires - before).toBeGreaterThanOrEqual(299);
      expect(expires - before).toBeLessThanOrEqual(301);
      expect(signature).toMatch(/^[0-9a-f]{64}$/);
      const key = decodeURIComponent(url.pathname.slice("/api/v1/files/".length));
      expect(key).toBe(k);
      expect(fx.local.verifySignature(key, expires, signature)).toBe(true);
      expect(fx.local.verifySignature(`${key}x`, expires, signature)).toBe(false);
      expect(fx.local.verifySignature(key.replace("signed", "other"), expires, signature)).toBe(false);
      expect(fx.local.verifySignature(key, expires + 1, signature)).toBe(false);
      const flipped = `${signature.slice(0, -1)}${signature.endsWith("0") ? "1" : "0"}`;
      expect(fx.local.verifySignature(key, expires, flipped)).toBe(false);
      expect(fx.local.verifySignature(key, expires, signature.slice(0, 32))).toBe(false);
      expect(fx.local.verifySignature(key, expires, "zz".repeat(32))).toBe(false);
      expect(fx.local.verifySignature(key, expires, "")).toBe(false);
      expect(fx.local.verifySignature(key, expires, signature, new Date((expires - 1) * 1000))).toBe(true);
      expect(fx.local.verifySignature(key, expires, signature, new Date(expires * 1000))).toBe(false);
      expect(fx.local.verifySignature(key, expires, signature, new Date((expires + 60) * 1000))).toBe(false);
      const cappedExpires = Number(capped.searchParams.get("expires"));
      expect(cappedExpires - before).toBeGreaterThanOrEqual(899);
      expect(cappedExpires - before).toBeLessThanOrEqual(901);
      expect(fx.local.verifySignature(k, cappedExpires, capped.searchParams.get("signature") ?? "")).toBe(
        true,
      );
    } else {
      expect(url.searchParams.get("X-Amz-Expires")).toBe("300");
      expect(capped.searchParams.get("X-Amz-Expires")).toBe("900");
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("audio/wav");
      expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true);
      const res2 = await fetch(capped);
      expect(res2.status).toBe(200);
      expect(Buffer.from(await res2.arrayBuffer()).equals(content)).toBe(true);
      const tampered = new URL(url);
      tampered.pathname = tampered.pathname.replace("signed", "other");
      expect((await fetch(tampered)).ok).toBe(false);
    }
    await expectAppError(fx.storage.signedUrl(k, 0), "VALIDATION_FAILED");
  });
});

describe("S3 adapter failures", () => {
  it("maps an unreachable endpoint to UNAVAILABLE (retryable)", async () => {
    const storage = createS3ObjectStorage({
      endpoint: "http://127.0.0.1:1",
      bucket: "nowhere",
      region: "us-east-1",
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
      forcePathStyle: true,
    });
    const err = await expectAppError(storage.ping(), "UNAVAILABLE");
    expect(err.retryable).toBe(true);
    const err2 = await expectAppError(storage.get("a/b"), "UNAVAILABLE");
    expect(err2.retryable).toBe(true);
  });

  it("fails ping on a missing bucket", async () => {
    const target = await useTestS3();
    try {
      const storage = createS3ObjectStorage({
        endpoint: target.endpoint,
        bucket: `tyndau-missing-${randomBytes(4).toString("hex")}`,
        region: target.region,
        accessKeyId: target.accessKeyId,
        secretAccessKey: target.secretAccessKey,
        forcePathStyle: true,
      });
      await expectAppError(storage.ping(), "UNAVAILABLE");
    } finally {
      await target.close();
    }
  });
});

describe("createObjectStorage", () => {
  it("chooses the adapter from the configuration", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "tyndau-storage-"));
    try {
      const opts = { publicUrl: PUBLIC_URL, secret: SECRET };
      expect(createObjectStorage({ kind: "local", root }, opts).kind).toBe("local");
      const s3 = createObjectStorage(
        {
          kind: "s3",
          endpoint: "http://127.0.0.1:1",
          bucket: "b",
          region: "us-east-1",
          accessKeyId: "a",
          secretAccessKey: "s",
          forcePathStyle: true,
        },
        opts,
      );
      expect(s3.kind).toBe("s3");
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
