import fs from "node:fs/promises";
import path from "node:path";
import { findCallBySourceKey } from "../db/repositories/calls.repository.ts";
import { releaseDownloadSlot, takeDownloadSlot } from "../db/repositories/download-slots.repository.ts";
import type { SourceRow } from "../db/repositories/sources.repository.ts";
import { AppError } from "../errors/app-error.ts";
import type { CallMetadata } from "./call-metadata.ts";
import { downloadRecording } from "./download-recording.ts";
import {
  type IngestDeps,
  type IngestInput,
  type IngestOutcome,
  ingestRecording,
} from "./ingest-recording.ts";

export interface AcceptPushDeps extends IngestDeps {
  clock: () => Date;
  /** Where a recordingUrl is downloaded to. */
  scratchDir: string;
  limits: IngestDeps["limits"] & {
    maxUploadBytes: number;
    maxConcurrentDownloads: number;
    downloadTimeoutMs: number;
  };
  /** Production refuses recording URLs on private, loopback and link-local addresses (SSRF). */
  allowPrivateAddresses: boolean;
}

/** A pushed recording: a multipart file already on scratch disk, or a URL to fetch it from. */
export type PushedRecording = { file: { path: string; bytes: number } } | { url: string };

export interface AcceptPushInput {
  source: Pick<SourceRow, "id" | "accountId" | "operatorChannel" | "processingDelaySec">;
  /** The source's account, read when the push was authenticated. */
  account: IngestInput["account"];
  metadata: CallMetadata;
  recording: PushedRecording;
}

/**
 * A push from telephony (API.md "Ingest"): the recording, uploaded or fetched from its URL, becomes a
 * call. A replayed delivery of a call already received answers with that call and downloads nothing.
 * The caller removes an uploaded file; a downloaded one is removed here.
 */
export async function acceptPush(deps: AcceptPushDeps, input: AcceptPushInput): Promise<IngestOutcome> {
  const ingest = (file: { path: string; bytes: number }) =>
    ingestRecording(deps, {
      account: input.account,
      source: {
        id: input.source.id,
        operatorChannel: input.source.operatorChannel,
        processingDelaySec: input.source.processingDelaySec,
      },
      metadata: input.metadata,
      filePath: file.path,
      bytes: file.bytes,
    });
  if ("file" in input.recording) return ingest(input.recording.file);

  const known = await findCallBySourceKey(
    deps.database.db,
    input.account.id,
    input.source.id,
    input.metadata.externalId,
  );
  if (known) return { callId: known.id, status: known.status, duplicate: true };
  await fs.mkdir(deps.scratchDir, { recursive: true });
  const dir = await fs.mkdtemp(path.join(deps.scratchDir, "download-"));
  try {
    return await ingest(await downloadWithSlot(deps, input.account.id, input.recording.url, dir));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Downloads into `dir` holding one of the account's concurrent-download slots, counted in the database
 * so the bound holds across replicas; the slot is given back as soon as the download ends.
 */
async function downloadWithSlot(
  deps: AcceptPushDeps,
  accountId: string,
  url: string,
  dir: string,
): Promise<{ path: string; bytes: number }> {
  const { limits } = deps;
  const slot = await deps.database.db.transaction((tx) =>
    takeDownloadSlot(tx, {
      accountId,
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
  try {
    const target = path.join(dir, "recording");
    const { bytes, attempts } = await downloadRecording(url, target, {
      maxBytes: limits.maxUploadBytes,
      timeoutMs: limits.downloadTimeoutMs,
      maxRedirects: 5,
      allowPrivateAddresses: deps.allowPrivateAddresses,
    });
    if (attempts > 1) deps.logger.info({ attempts }, "recording downloaded after retries");
    return { path: target, bytes };
  } finally {
    await releaseDownloadSlot(deps.database.db, accountId, slot).catch((err) =>
      deps.logger.warn({ err }, "download slot not released (it expires)"),
    );
  }
}
