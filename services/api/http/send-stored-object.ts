import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Request, Response } from "express";
import type { ObjectStorage } from "../../../shared/providers/storage/object-storage.ts";

/**
 * One `Range: bytes=…` header against an object of `size` bytes (RFC 9110 §14): the inclusive byte span
 * to serve, "unsatisfiable" (416), or undefined to serve the whole object (no header, several ranges or a
 * header we do not understand — a server may ignore Range).
 */
export function parseByteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return undefined;
  if (first === "") {
    // A suffix: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start) || start >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (!Number.isSafeInteger(end) || end < start) return undefined;
  return { start, end };
}

/**
 * Streams one stored object as the answer: 200 with its length, 206 for a single byte range (so an audio
 * player can seek), 416 for a range outside it; HEAD gets the headers only.
 */
export async function sendStoredObject(
  storage: ObjectStorage,
  key: string,
  req: Request,
  res: Response,
): Promise<void> {
  const size = storage.stat ? (await storage.stat(key)).bytes : undefined;
  const range = size !== undefined && storage.getRange ? parseByteRange(req.headers.range, size) : undefined;
  // The container is sniffed by the player; the stored object keeps the original format.
  res.setHeader("Content-Type", "application/octet-stream");
  res.setHeader("Cache-Control", "private, max-age=60");
  // A signed link works wherever it is used, like an S3 presigned URL: the player may sit on another
  // origin than PUBLIC_URL names (localhost vs 127.0.0.1, a proxy).
  res.setHeader("Cross-Origin-Resource-Policy", "cross-origin");
  if (size !== undefined && storage.getRange) res.setHeader("Accept-Ranges", "bytes");
  if (range === "unsatisfiable") {
    res.status(416).setHeader("Content-Range", `bytes */${size}`);
    res.end();
    return;
  }
  let stream: Readable | undefined;
  if (range && storage.getRange) {
    res.status(206);
    res.setHeader("Content-Range", `bytes ${range.start}-${range.end}/${size}`);
    res.setHeader("Content-Length", String(range.end - range.start + 1));
    if (req.method !== "HEAD") stream = await storage.getRange(key, range.start, range.end);
  } else {
    res.status(200);
    if (size !== undefined) res.setHeader("Content-Length", String(size));
    if (req.method !== "HEAD") stream = await storage.get(key);
  }
  if (!stream) {
    res.end();
    return;
  }
  try {
    await pipeline(stream, res);
  } catch {
    // The player dropped the connection (it does so on every seek) or storage failed mid-body; the
    // response is cut off either way, and pipeline has destroyed the file stream.
  }
}
