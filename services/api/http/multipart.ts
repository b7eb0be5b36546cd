import { createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import busboy from "busboy";
import type { Request } from "express";
import { AppError } from "../../../shared/errors/app-error.ts";

export interface ReceivedUpload {
  fields: Record<string, string>;
  /** The file streamed to local scratch disk; undefined when the form had no such file field. */
  file: { path: string; bytes: number; fileName: string } | undefined;
}

/**
 * Streams a multipart form to scratch disk (never into memory). Refuses by Content-Length before reading
 * when it is known to be too large, and stops reading the moment the file passes `maxFileBytes`.
 */
export async function receiveMultipart(
  req: Request,
  options: {
    fileField: string;
    maxFileBytes: number;
    scratchDir: string;
    body?: Readable;
    /** No body data for this long → 408 REQUEST_TIMEOUT (a client that stalls mid-body). */
    idleTimeoutMs?: number;
  },
): Promise<ReceivedUpload> {
  const contentType = req.headers["content-type"] ?? "";
  if (!contentType.toLowerCase().startsWith("multipart/form-data")) {
    throw new AppError(
      "UNSUPPORTED_MEDIA",
      "Send multipart/form-data with a `recording` file and a `metadata` field.",
    );
  }
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  const formOverhead = 256 * 1024;
  if (Number.isFinite(declared) && declared > options.maxFileBytes + formOverhead) {
    throw tooLarge(options.maxFileBytes);
  }

  await fs.mkdir(options.scratchDir, { recursive: true });
  const dir = await fs.mkdtemp(path.join(options.scratchDir, "upload-"));
  const fields: Record<string, string> = {};
  let file: ReceivedUpload["file"];
  let failure: AppError | undefined;
  const writes: Promise<void>[] = [];
  let parser: busboy.Busboy | undefined;
  let stopTimer = () => {};

  try {
    await new Promise<void>((resolve, reject) => {
      if (options.idleTimeoutMs) stopTimer = onIdle(req, options.idleTimeoutMs, reject);
      try {
        parser = busboy({
          headers: req.headers,
          limits: { files: 1, fields: 20, fieldSize: 64 * 1024, fileSize: options.maxFileBytes, parts: 30 },
        });
      } catch {
        reject(new AppError("VALIDATION_FAILED", "The multipart body is malformed."));
        return;
      }
      parser.on("field", (name, value, info) => {
        if (info.valueTruncated)
          failure ??= new AppError("PAYLOAD_TOO_LARGE", `The field ${name} is too long.`);
        fields[name] = value;
      });
      parser.on("file", (name, stream, info) => {
        if (name !== options.fileField || file) {
          stream.resume();
          return;
        }
        // The client's file name is kept for display only; the scratch file gets a fixed name.
        const target = path.join(dir, "upload");
        const record = {
          path: target,
          bytes: 0,
          fileName: path.basename(info.filename ?? "recording").slice(0, 200),
        };
        file = record;
        stream.on("data", (chunk: Buffer) => {
          record.bytes += chunk.length;
        });
        stream.on("limit", () => {
          failure ??= tooLarge(options.maxFileBytes);
        });
        const write = pipeline(stream, createWriteStream(target));
        write.catch(() => {}); // awaited below; a failed form must not leave an unhandled rejection
        writes.push(write);
      });
      parser.on("filesLimit", () => {
        failure ??= new AppError("VALIDATION_FAILED", "Send exactly one recording per request.");
      });
      parser.on("error", () => reject(new AppError("VALIDATION_FAILED", "The multipart body is malformed.")));
      parser.on("close", () => resolve());
      req.on("aborted", () => reject(new AppError("VALIDATION_FAILED", "The upload was interrupted.")));
      (options.body ?? req).pipe(parser);
    });
    stopTimer();
    await Promise.all(writes);
    if (failure) throw failure;
    return { fields, file };
  } catch (error) {
    stopTimer();
    if (parser) {
      (options.body ?? req).unpipe(parser);
      parser.destroy();
    }
    await Promise.allSettled(writes);
    await fs.rm(dir, { recursive: true, force: true });
    req.unpipe();
    req.resume();
    throw error;
  }
}

export async function discardUpload(upload: ReceivedUpload): Promise<void> {
  if (upload.file) await fs.rm(path.dirname(upload.file.path), { recursive: true, force: true });
}

/**
 * Calls `fail` with 408 REQUEST_TIMEOUT when the request body sends nothing for `ms`; returns a stop
 * function. The connection is closed after the answer (the stalled body is never read to its end).
 */
export function onIdle(req: Request, ms: number, fail: (error: AppError) => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      req.res?.setHeader("Connection", "close");
      fail(new AppError("REQUEST_TIMEOUT", `The request body stalled for more than ${ms} ms.`));
    }, ms);
  };
  const onData = () => arm();
  arm();
  req.on("data", onData);
  return () => {
    clearTimeout(timer);
    req.off("data", onData);
  };
}

function tooLarge(max: number): AppError {
  return new AppError(
    "PAYLOAD_TOO_LARGE",
    `The recording is larger than the limit of ${Math.floor(max / 1048576)} MiB.`,
  );
}
