import { createHmac } from "node:crypto";
import { type Readable, Transform } from "node:stream";
import type { Request } from "express";
import { z } from "zod";
import type { SourceRow } from "../../../../shared/db/repositories/sources.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import type { PushedRecording } from "../../../../shared/ingest/accept-push.ts";
import { type CallMetadata, callMetadataSchema } from "../../../../shared/ingest/call-metadata.ts";
import type { IngestOutcome } from "../../../../shared/ingest/ingest-recording.ts";
import type { Logger } from "../../../../shared/logging/logger.ts";
import type { AppMetrics } from "../../../../shared/observability/metrics.ts";
import { decryptSecret, safeEqualHex } from "../../../../shared/security/tokens.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { discardUpload, onIdle, receiveMultipart } from "../../http/multipart.ts";
import { assertNoNul } from "../../http/route.ts";

const SIGNATURE_MAX_AGE_SEC = 5 * 60;
const JSON_BODY_MAX_BYTES = 64 * 1024;

const urlBody = callMetadataSchema.extend({ recordingUrl: z.url() });

/** A signed push: the body to read (hashed as it streams) and the check to run once it is read. */
export interface SignatureCheck {
  body: Readable;
  verify: () => void;
}

/** A push's body, read and verified: what it says, its recording, and how to drop what it left on disk. */
export interface ReceivedPush {
  metadata: CallMetadata;
  recording: PushedRecording;
  discard: () => Promise<void>;
}

/** Runs a check before the request body is read; a refusal drains the body so the answer reaches the client. */
export async function refuseUnread<T>(req: Request, check: () => T | Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    req.resume();
    throw error;
  }
}

/**
 * Counts each push's outcome (tyndau_ingest_total: accepted, duplicate or the error code), times the
 * accepted ones (tyndau_ingest_accept_seconds) and logs it.
 */
export function pushReport(
  metrics: Pick<AppMetrics, "ingested" | "ingestAcceptDuration">,
  log: Logger,
  sourceKind: string,
  startedAt: number,
) {
  const count = (outcome: string) => metrics.ingested.inc({ source_kind: sourceKind, outcome });
  return {
    accepted(outcome: IngestOutcome, recording: PushedRecording): void {
      count(outcome.duplicate ? "duplicate" : "accepted");
      if (!outcome.duplicate) {
        const body = "url" in recording ? "url" : "multipart";
        const seconds = (performance.now() - startedAt) / 1000;
        metrics.ingestAcceptDuration.observe({ source_kind: sourceKind, body }, seconds);
      }
      log.info({ callId: outcome.callId, duplicate: outcome.duplicate }, "recording ingested");
    },
    refused(error: unknown): void {
      const code = error instanceof AppError ? error.code : "INTERNAL";
      count(code);
      log.info({ code }, "push refused");
    },
  };
}

/**
 * Reads a push body — JSON with a recordingUrl, or multipart with a recording file and a metadata field —
 * and verifies its signature (when the source requires one) before anything is stored.
 */
export async function receivePush(
  req: Request,
  signature: SignatureCheck | undefined,
  deps: Pick<ApiDeps, "config" | "scratchDir">,
): Promise<ReceivedPush> {
  const limits = deps.config.limits;
  const body = signature?.body ?? req;
  if ((req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json")) {
    const raw = await readBody(req, body, JSON_BODY_MAX_BYTES, limits.bodyTimeoutMs);
    signature?.verify();
    const { recordingUrl, ...metadata } = parseMetadata(urlBody, raw.toString("utf8"));
    return { metadata, recording: { url: recordingUrl }, discard: async () => {} };
  }
  const upload = await receiveMultipart(req, {
    fileField: "recording",
    maxFileBytes: limits.maxUploadBytes,
    scratchDir: deps.scratchDir,
    body,
    idleTimeoutMs: limits.bodyTimeoutMs,
  });
  try {
    signature?.verify();
    const metadata = parseMetadata(callMetadataSchema, upload.fields.metadata);
    if (!upload.file) throw new AppError("VALIDATION_FAILED", "The `recording` file is missing.");
    return { metadata, recording: { file: upload.file }, discard: () => discardUpload(upload) };
  } catch (error) {
    await discardUpload(upload);
    throw error;
  }
}

/** The `metadata` form field (or a JSON body) against its schema; issues are reported under `metadata.`. */
export function parseMetadata<S extends z.ZodType>(schema: S, raw: string | undefined): z.output<S> {
  if (raw === undefined) throw new AppError("VALIDATION_FAILED", "The `metadata` field is missing.");
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new AppError("VALIDATION_FAILED", "The `metadata` field is not valid JSON.");
  }
  assertNoNul(json, "metadata");
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new AppError("VALIDATION_FAILED", "The metadata is invalid.", {
      details: result.error.issues.map((i) => ({
        path: ["metadata", ...i.path].join("."),
        message: i.message,
      })),
    });
  }
  return result.data;
}

/**
 * HMAC-SHA256 over "<timestamp>.<raw body>" with the source's signing secret. The raw body is hashed as
 * it streams through (multipart is never buffered), and checked before anything is stored.
 */
export function startSignatureCheck(
  req: Request,
  source: Pick<SourceRow, "signingSecretEnc">,
  deps: Pick<ApiDeps, "config" | "clock">,
): SignatureCheck {
  const timestamp = String(req.headers["x-tyndau-timestamp"] ?? "");
  const signature = String(req.headers["x-tyndau-signature"] ?? "");
  const nowSec = Math.floor(deps.clock().getTime() / 1000);
  if (!/^\d{1,12}$/.test(timestamp) || !/^sha256=[0-9a-f]{64}$/.test(signature)) {
    req.resume();
    throw new AppError(
      "UNAUTHENTICATED",
      "This source requires X-Tyndau-Timestamp and X-Tyndau-Signature headers.",
    );
  }
  if (Math.abs(nowSec - Number(timestamp)) > SIGNATURE_MAX_AGE_SEC) {
    req.resume();
    throw new AppError(
      "UNAUTHENTICATED",
      "The signature timestamp is older than 5 minutes (or in the future).",
    );
  }
  const hmac = createHmac("sha256", decryptSecret(deps.config.appSecret, source.signingSecretEnc)).update(
    `${timestamp}.`,
  );
  const body = req.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hmac.update(chunk);
        done(null, chunk);
      },
    }),
  );
  return {
    body,
    verify: () => {
      if (!safeEqualHex(`sha256=${hmac.digest("hex")}`, signature)) {
        throw new AppError("UNAUTHENTICATED", "The request signature does not match.");
      }
    },
  };
}

/** Reads a small JSON body from a stream, refusing more than `maxBytes` and a body that stalls. */
async function readBody(req: Request, stream: Readable, maxBytes: number, idleMs: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let stop = () => {};
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      stop = onIdle(req, idleMs, reject);
      stream.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          req.res?.setHeader("Connection", "close");
          reject(new AppError("PAYLOAD_TOO_LARGE", "The JSON body is too large."));
        } else chunks.push(chunk);
      });
      stream.on("end", () => resolve(Buffer.concat(chunks)));
      stream.on("error", reject);
      req.on("aborted", () => reject(new AppError("VALIDATION_FAILED", "The request was interrupted.")));
    });
  } finally {
    stop();
  }
}
