import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { constants, createWriteStream } from "node:fs";
import { access, mkdir, open, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { type Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AppError, isAppError } from "../../errors/app-error.ts";
import type { ObjectStorage, PutOptions } from "./object-storage.ts";

/** Signed links live at most this long, whatever the caller asks for. */
export const MAX_SIGNED_URL_TTL_SEC = 900;

const MAX_KEY_BYTES = 1024;

/**
 * The key rules both adapters share, so a key that works on local disk works on S3 and back:
 * non-empty, ≤ 1024 bytes, `/`-separated relative segments, no empty, `.`-leading (`.`, `..`, hidden,
 * temp files) segments, no backslash, no NUL or other control characters. Throws VALIDATION_FAILED.
 */
export function assertValidObjectKey(key: string): void {
  const fail = (why: string): never => {
    throw new AppError("VALIDATION_FAILED", `Invalid storage key: ${why}.`, { details: { key } });
  };
  if (typeof key !== "string" || key.length === 0) fail("empty");
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) fail("longer than 1024 bytes");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
  if (/[\u0000-\u001f\u007f]/.test(key)) fail("control characters");
  if (key.includes("\\")) fail("backslash");
  if (key.startsWith("/") || path.isAbsolute(key)) fail("absolute path");
  for (const segment of key.split("/")) {
    if (segment.length === 0) fail("empty path segment");
    if (segment.startsWith(".")) fail("path segment starting with '.'");
  }
}

/** Counts bytes passing through and fails with PAYLOAD_TOO_LARGE once more than maxBytes arrived. */
export class ByteLimitTransform extends Transform {
  bytes = 0;
  exceeded = false;
  private readonly maxBytes: number | undefined;

  constructor(maxBytes: number | undefined) {
    super();
    this.maxBytes = maxBytes;
  }

  override _transform(chunk: unknown, encoding: BufferEncoding, callback: TransformCallback): void {
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : typeof chunk === "string"
        ? Buffer.from(chunk, encoding)
        : chunk instanceof Uint8Array
          ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
          : undefined;
    if (buf === undefined) {
      callback(new AppError("INTERNAL", "Storage body must be a byte stream."));
      return;
    }
    this.bytes += buf.length;
    if (this.maxBytes !== undefined && this.bytes > this.maxBytes) {
      this.exceeded = true;
      callback(
        new AppError("PAYLOAD_TOO_LARGE", `The file is larger than the limit of ${this.maxBytes} bytes.`, {
          context: { maxBytes: this.maxBytes },
        }),
      );
      return;
    }
    callback(null, buf);
  }
}

/**
 * Pipes `body` into a byte-limit transform. Errors of `body` fail the transform. `release()` (call it on
 * failure) stops feeding the transform and drains the rest of `body` without destroying it, so an HTTP
 * handler that passed its request can still answer (e.g. 413) on the same connection.
 */
export function feedThroughLimit(
  body: Readable,
  maxBytes: number | undefined,
): { counter: ByteLimitTransform; sourceError(): unknown; release(): void } {
  const counter = new ByteLimitTransform(maxBytes);
  let sourceError: unknown;
  const onSourceError = (err: unknown) => {
    sourceError ??= err;
    counter.destroy(err instanceof Error ? err : new Error(String(err)));
  };
  body.on("error", onSourceError);
  // The consumer (pipeline, Upload) reports the counter's errors; this only keeps one raised before the
  // consumer attached from becoming an uncaught exception.
  counter.on("error", () => {});
  body.pipe(counter);
  return {
    counter,
    sourceError: () => sourceError,
    release() {
      body.unpipe(counter);
      body.off("error", onSourceError);
      // Keep a listener so a late error of a body nobody reads any more cannot crash the process.
      body.on("error", () => {});
      if (!body.destroyed) body.resume();
      if (!counter.destroyed) counter.destroy();
    },
  };
}

function errnoOf(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string"
    ? err.code
    : undefined;
}

function mapFsError(err: unknown, op: string, key: string): unknown {
  if (isAppError(err)) return err;
  const code = errnoOf(err);
  if (code === "ENOSPC" || code === "EIO" || code === "EMFILE" || code === "ENFILE" || code === "EAGAIN") {
    return new AppError("UNAVAILABLE", `Local storage ${op} failed (${code}).`, {
      retryable: true,
      cause: err,
      context: { key },
    });
  }
  if (code === "ENOTDIR" || code === "EISDIR" || code === "EEXIST") {
    return new AppError("CONFLICT", `Storage key conflicts with an existing key (${code}).`, {
      cause: err,
      context: { key },
    });
  }
  return new AppError("INTERNAL", `Local storage ${op} failed${code ? ` (${code})` : ""}.`, {
    cause: err,
    context: { key },
  });
}

function hmacHex(secret: string, key: string, expires: number): string {
  return createHmac("sha256", secret).update(`${key}\n${expires}`).digest("hex");
}

/** A byte range as HTTP has it: both ends inclusive, 0 ≤ start ≤ end. */
export function assertValidRange(start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new AppError("VALIDATION_FAILED", "Invalid byte range.", { details: { start, end } });
  }
}

export function clampTtl(ttlSec: number): number {
  if (!Number.isFinite(ttlSec) || ttlSec <= 0) {
    throw new AppError("VALIDATION_FAILED", "Signed URL lifetime must be a positive number of seconds.");
  }
  return Math.max(1, Math.min(MAX_SIGNED_URL_TTL_SEC, Math.floor(ttlSec)));
}

export type LocalObjectStorage = ObjectStorage & {
  readonly kind: "local";
  /** True when `signature` was made by signedUrl for this key and `expires` (unix seconds) is still ahead. */
  verifySignature(key: string, expires: number, signature: string, now?: Date): boolean;
};

/**
 * Objects as files under `root` (development and tests). Writes go to a temp file in the target
 * directory and are renamed into place, so a reader never sees a half-written object. Signed URLs point
 * at `${publicUrl}/api/v1/files/<key>` and are checked with verifySignature by the HTTP route.
 */
export function createLocalObjectStorage(options: {
  root: string;
  publicUrl: string;
  secret: string;
}): LocalObjectStorage {
  const root = path.resolve(options.root);
  const publicUrl = options.publicUrl.replace(/\/+$/, "");
  const secret = options.secret;
  if (secret.length === 0) throw new AppError("INTERNAL", "Local storage needs a signing secret.");

  const fileOf = (key: string): string => {
    assertValidObjectKey(key);
    const file = path.resolve(root, ...key.split("/"));
    // Belt and braces: the key rules already make escaping root impossible.
    if (!file.startsWith(root + path.sep)) {
      throw new AppError("VALIDATION_FAILED", "Invalid storage key: outside the storage root.", {
        details: { key },
      });
    }
    return file;
  };

  const openForRead = async (key: string) => {
    const file = fileOf(key);
    try {
      const handle = await open(file, "r");
      try {
        const st = await handle.stat();
        if (!st.isFile()) throw new AppError("NOT_FOUND", "Object not found.", { context: { key } });
      } catch (err) {
        await handle.close();
        throw err;
      }
      return handle;
    } catch (err) {
      const code = errnoOf(err);
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") {
        throw new AppError("NOT_FOUND", "Object not found.", { context: { key } });
      }
      throw mapFsError(err, "get", key);
    }
  };

  const storage: LocalObjectStorage = {
    kind: "local",

    async put(key: string, body: Readable, putOptions: PutOptions = {}) {
      const file = fileOf(key);
      const dir = path.dirname(file);
      const tmp = path.join(dir, `.tmp-${randomUUID()}`);
      try {
        await mkdir(dir, { recursive: true });
      } catch (err) {
        throw mapFsError(err, "put", key);
      }
      const feed = feedThroughLimit(body, putOptions.maxBytes);
      try {
        await pipeline(feed.counter, createWriteStream(tmp, { flags: "wx", flush: true }));
        await rename(tmp, file);
        return { bytes: feed.counter.bytes };
      } catch (err) {
        feed.release();
        await rm(tmp, { force: true }).catch(() => {});
        const fromSource = feed.sourceError();
        if (fromSource !== undefined && !feed.counter.exceeded) throw fromSource;
        throw mapFsError(err, "put", key);
      }
    },

    async get(key: string) {
      const handle = await openForRead(key);
      return handle.createReadStream();
    },

    async stat(key: string) {
      const handle = await openForRead(key);
      try {
        return { bytes: (await handle.stat()).size };
      } finally {
        await handle.close().catch(() => {});
      }
    },

    async getRange(key: string, start: number, end: number) {
      assertValidRange(start, end);
      const handle = await openForRead(key);
      // The stream closes the handle when it ends or is destroyed (autoClose).
      return handle.createReadStream({ start, end });
    },

    async download(key: string, filePath: string) {
      const handle = await openForRead(key);
      const target = path.resolve(filePath);
      const tmp = path.join(path.dirname(target), `.tmp-${randomUUID()}-${path.basename(target)}`);
      try {
        await pipeline(handle.createReadStream(), createWriteStream(tmp, { flags: "wx" }));
        await rename(tmp, target);
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => {});
        throw mapFsError(err, "download", key);
      } finally {
        await handle.close().catch(() => {});
      }
    },

    async delete(key: string) {
      const file = fileOf(key);
      try {
        const st = await stat(file);
        if (!st.isFile()) return;
        await rm(file, { force: true });
      } catch (err) {
        const code = errnoOf(err);
        if (code === "ENOENT" || code === "ENOTDIR") return;
        throw mapFsError(err, "delete", key);
      }
    },

    async exists(key: string) {
      const file = fileOf(key);
      try {
        return (await stat(file)).isFile();
      } catch (err) {
        const code = errnoOf(err);
        if (code === "ENOENT" || code === "ENOTDIR") return false;
        throw mapFsError(err, "exists", key);
      }
    },

    async signedUrl(key: string, ttlSec: number) {
      assertValidObjectKey(key);
      const expires = Math.floor(Date.now() / 1000) + clampTtl(ttlSec);
      const signature = hmacHex(secret, key, expires);
      return `${publicUrl}/api/v1/files/${encodeURIComponent(key)}?expires=${expires}&signature=${signature}`;
    },

    verifySignature(key: string, expires: number, signature: string, now: Date = new Date()) {
      if (typeof key !== "string" || typeof signature !== "string") return false;
      if (!Number.isSafeInteger(expires) || expires <= 0) return false;
      if (expires <= Math.floor(now.getTime() / 1000)) return false;
      if (!/^[0-9a-f]{64}$/i.test(signature)) return false;
      const expected = Buffer.from(hmacHex(secret, key, expires), "hex");
      const given = Buffer.from(signature, "hex");
      return given.length === expected.length && timingSafeEqual(given, expected);
    },

    async ping() {
      try {
        await mkdir(root, { recursive: true });
        await access(root, constants.R_OK | constants.W_OK);
      } catch (err) {
        throw new AppError("UNAVAILABLE", "Local storage root is not writable.", {
          retryable: true,
          cause: err,
          context: { root },
        });
      }
    },
  };
  return storage;
}
