import { createHmac } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { type Readable, Transform } from "node:stream";
import type { Request } from "express";
import { z } from "zod";
import type { AccountRow } from "../../../../shared/db/repositories/accounts.repository.ts";
import { getAccount } from "../../../../shared/db/repositories/accounts.repository.ts";
import { findCallBySourceKey } from "../../../../shared/db/repositories/calls.repository.ts";
import {
  releaseDownloadSlot,
  takeDownloadSlot,
} from "../../../../shared/db/repositories/download-slots.repository.ts";
import {
  findSourceByTokenHash,
  type SourceRow,
} from "../../../../shared/db/repositories/sources.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import {
  type CallMetadata,
  callMetadataSchema,
  manualMetadataSchema,
} from "../../../../shared/ingest/call-metadata.ts";
import { downloadRecording } from "../../../../shared/ingest/download-recording.ts";
import { ingestRecording } from "../../../../shared/ingest/ingest-recording.ts";
import { assertAccountAcceptsCalls } from "../../../../shared/privacy/data-lifecycle.ts";
import { decryptSecret, hashToken, safeEqualHex } from "../../../../shared/security/tokens.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { discardUpload, onIdle, receiveMultipart } from "../../http/multipart.ts";
import { type AnyRoute, assertNoNul, defineRoute } from "../../http/route.ts";

const SIGNATURE_MAX_AGE_SEC = 5 * 60;

const ingestResult = z.object({ callId: z.uuid(), status: z.string(), duplicate: z.boolean() });
const urlBody = callMetadataSchema.extend({ recordingUrl: z.url() });

export function ingestRoutes(deps: ApiDeps): AnyRoute[] {
  const ingestDeps = { ...deps, limits: deps.config.limits };

  const parseMetadata = <S extends z.ZodType>(schema: S, raw: string | undefined): z.output<S> => {
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
  };

  return [
    defineRoute({
      method: "post",
      path: "/api/v1/ingest/{token}/calls",
      summary: "Push one finished call: a multipart recording with metadata, or JSON with a recordingUrl.",
      tag: "ingest",
      access: "token",
      params: z.object({ token: z.string().min(1).max(200) }),
      rawBody: {
        contentType: "multipart/form-data",
        description: "fields: recording (file), metadata (JSON string)",
      },
      responses: {
        202: { description: "Accepted", schema: ingestResult },
        200: { description: "Duplicate externalId: the existing call", schema: ingestResult },
        400: {
          description: "Metadata missing or invalid, no recording, malformed multipart or bad recordingUrl",
        },
        401: { description: "Bad token or signature" },
        403: { description: "The source is disabled, or the account is blocked" },
        408: { description: "The body stalled" },
        409: { description: "The account is closed, scheduled for deletion or has processing blocked" },
        413: { description: "Too large" },
        415: { description: "Neither multipart/form-data nor JSON with a recordingUrl" },
        422: { description: "Not readable audio, or longer than the limit" },
        429: { description: "Too many uploads a minute, or downloads at once, for this account" },
      },
      handler: async ({ req, params, log }) => {
        const startedAt = performance.now();
        const source = await findSourceByTokenHash(deps.database.db, hashToken(params.token));
        if (!source) {
          req.resume();
          throw new AppError("UNAUTHENTICATED", "Unknown or revoked source token.");
        }
        if (!source.enabled) {
          req.resume();
          throw new AppError("FORBIDDEN", "This source is disabled; enable it in the source's settings.");
        }
        const sourceLog = log.child({ sourceId: source.id, accountId: source.accountId });
        const owner = await getAccount(deps.database.db, source.accountId);
        // Closed, deletion pending or processing blocked: a 409 naming why, before the body is read.
        if (owner) refuseBeforeUpload(req, owner);
        if (owner?.status !== "active") {
          req.resume();
          throw new AppError("FORBIDDEN", "This account is blocked or closed: recordings are not accepted.");
        }
        const signed = source.requireSignature ? startSignatureCheck(req, source, deps) : undefined;
        const bodyStream: Readable = signed?.body ?? req;
        const isJson = (req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json");
        const limits = deps.config.limits;
        const countOutcome = (outcome: string) =>
          deps.metrics.ingested.inc({ source_kind: source.kind, outcome });

        let metadata: CallMetadata;
        let file: { path: string; bytes: number };
        let cleanup: () => Promise<void> = async () => {};
        try {
          if (isJson) {
            const raw = await readBody(req, bodyStream, 64 * 1024, limits.bodyTimeoutMs);
            signed?.verify();
            const body = parseMetadata(urlBody, raw.toString("utf8"));
            const { recordingUrl, ...rest } = body;
            metadata = rest;
            // A replayed delivery of a call we already have needs no download.
            const known = await findCallBySourceKey(
              deps.database.db,
              source.accountId,
              source.id,
              metadata.externalId,
            );
            if (known) {
              countOutcome("duplicate");
              return { status: 200, body: { callId: known.id, status: known.status, duplicate: true } };
            }
            file = await (async () => {
              // Concurrent downloads per account, counted in the database (holds across replicas).
              const slot = await deps.database.db.transaction((tx) =>
                takeDownloadSlot(tx, {
                  accountId: source.accountId,
                  max: limits.maxConcurrentDownloads,
                  now: deps.clock(),
                  ttlMs: limits.downloadTimeoutMs + 30_000,
                }),
              );
              if (!slot) {
                throw new AppError(
                  "RATE_LIMITED",
                  `At most ${limits.maxConcurrentDownloads} recording downloads at once per account; try again shortly.`,
                  { headers: { "Retry-After": "5" }, retryable: true },
                );
              }
              await fs.mkdir(deps.scratchDir, { recursive: true });
              const dir = await fs.mkdtemp(path.join(deps.scratchDir, "download-"));
              cleanup = () => fs.rm(dir, { recursive: true, force: true });
              try {
                const target = path.join(dir, "recording");
                const { bytes, attempts } = await downloadRecording(recordingUrl, target, {
                  maxBytes: limits.maxUploadBytes,
                  timeoutMs: limits.downloadTimeoutMs,
                  maxRedirects: 5,
                  allowPrivateAddresses: deps.config.env !== "production",
                });
                if (attempts > 1) sourceLog.info({ attempts }, "recording downloaded after retries");
                return { path: target, bytes };
              } catch (error) {
                await cleanup();
                throw error;
              } finally {
                await releaseDownloadSlot(deps.database.db, source.accountId, slot).catch((err) =>
                  sourceLog.warn({ err }, "download slot not released (it expires)"),
                );
              }
            })();
          } else {
            const upload = await receiveMultipart(req, {
              fileField: "recording",
              maxFileBytes: limits.maxUploadBytes,
              scratchDir: deps.scratchDir,
              body: bodyStream,
              idleTimeoutMs: limits.bodyTimeoutMs,
            });
            cleanup = () => discardUpload(upload);
            try {
              signed?.verify();
              metadata = parseMetadata(callMetadataSchema, upload.fields.metadata);
              if (!upload.file) throw new AppError("VALIDATION_FAILED", "The `recording` file is missing.");
              file = upload.file;
            } catch (error) {
              await cleanup();
              throw error;
            }
          }
        } catch (error) {
          const code = error instanceof AppError ? error.code : "INTERNAL";
          countOutcome(code);
          sourceLog.info({ code }, "push refused");
          throw error;
        }

        try {
          const outcome = await ingestRecording(ingestDeps, {
            accountId: source.accountId,
            source: {
              id: source.id,
              operatorChannel: source.operatorChannel,
              processingDelaySec: source.processingDelaySec,
            },
            metadata,
            filePath: file.path,
            bytes: file.bytes,
          });
          countOutcome(outcome.duplicate ? "duplicate" : "accepted");
          if (!outcome.duplicate) {
            deps.metrics.ingestAcceptDuration.observe(
              { source_kind: source.kind, body: isJson ? "url" : "multipart" },
              (performance.now() - startedAt) / 1000,
            );
          }
          sourceLog.info({ callId: outcome.callId, duplicate: outcome.duplicate }, "recording ingested");
          return { status: outcome.duplicate ? 200 : 202, body: outcome };
        } catch (error) {
          const code = error instanceof AppError ? error.code : "INTERNAL";
          countOutcome(code);
          sourceLog.info({ code }, "push refused");
          throw error;
        } finally {
          await cleanup();
        }
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/calls",
      summary: "Upload a recording by hand (multipart: recording, metadata).",
      tag: "calls",
      access: ["owner", "manager"],
      rawBody: {
        contentType: "multipart/form-data",
        description: "fields: recording (file), metadata (JSON string, optional)",
      },
      responses: {
        202: { description: "Accepted", schema: z.object({ callId: z.uuid(), status: z.string() }) },
        400: { description: "Metadata invalid, no recording, or malformed multipart" },
        403: { description: "The account is blocked" },
        408: { description: "The body stalled" },
        409: { description: "The account is closed, scheduled for deletion or has processing blocked" },
        413: { description: "Too large" },
        415: { description: "Not multipart/form-data" },
        422: { description: "Not readable audio, or longer than the limit" },
        429: { description: "Too many uploads a minute for this account" },
      },
      handler: async ({ req, auth }) => {
        refuseBeforeUpload(req, auth.account);
        if (auth.account.status !== "active") {
          throw new AppError("FORBIDDEN", "This account is blocked or closed: recordings are not accepted.");
        }
        const upload = await receiveMultipart(req, {
          fileField: "recording",
          maxFileBytes: deps.config.limits.maxUploadBytes,
          scratchDir: deps.scratchDir,
        });
        try {
          const metadata =
            upload.fields.metadata === undefined
              ? {}
              : parseMetadata(manualMetadataSchema, upload.fields.metadata);
          if (!upload.file) throw new AppError("VALIDATION_FAILED", "The `recording` file is missing.");
          const outcome = await ingestRecording(ingestDeps, {
            accountId: auth.account.id,
            source: null,
            metadata: { ...metadata, externalId: metadata.externalId ?? `manual:${upload.file.fileName}` },
            filePath: upload.file.path,
            bytes: upload.file.bytes,
          });
          return { status: 202, body: { callId: outcome.callId, status: outcome.status } };
        } finally {
          await discardUpload(upload);
        }
      },
    }),
  ];
}

/**
 * HMAC-SHA256 over "<timestamp>.<raw body>" with the source's signing secret. The raw body is hashed as
 * it streams through (multipart is never buffered), and checked before anything is stored.
 */
function startSignatureCheck(
  req: Request,
  source: SourceRow,
  deps: ApiDeps,
): { body: Readable; verify: () => void } {
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

function refuseBeforeUpload(req: Request, account: AccountRow): void {
  try {
    assertAccountAcceptsCalls(account);
  } catch (error) {
    req.resume();
    throw error;
  }
}
