import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  type AccountCallState,
  assertAccountAcceptsCalls,
} from "../accounts/assert-account-accepts-calls.ts";
import type { AudioTools } from "../audio/audio-tools.ts";
import { readCompleteWavFile } from "../audio/wav-header.ts";
import type { Database } from "../db/client.ts";
import {
  countCallsReceivedSince,
  findCallBySourceKey,
  insertCallOnce,
} from "../db/repositories/calls.repository.ts";
import { AppError } from "../errors/app-error.ts";
import type { Logger } from "../logging/logger.ts";
import type { ObjectStorage } from "../providers/storage/object-storage.ts";
import { probeCallJob } from "../queue/job-definitions.ts";
import type { JobQueue } from "../queue/job-queue.ts";
import type { CallMetadata } from "./call-metadata.ts";

export interface IngestDeps {
  database: Database;
  storage: ObjectStorage;
  audio: AudioTools;
  queue: JobQueue;
  logger: Logger;
  limits: { maxCallDurationSec: number; maxUploadsPerMinute: number };
  clock?: () => Date;
}

export interface IngestInput {
  /**
   * The receiving account as its caller read it (once per push, upload or pull run: the row is not
   * read again here).
   */
  account: AccountCallState & { id: string };
  source: { id: string; operatorChannel: "left" | "right"; processingDelaySec?: number } | null;
  metadata: CallMetadata & { externalId: string };
  /** The recording on local scratch disk. */
  filePath: string;
  bytes: number;
}

export interface IngestOutcome {
  callId: string;
  status: string;
  duplicate: boolean;
}

export const recordingKey = (accountId: string, callId: string) =>
  `accounts/${accountId}/calls/${callId}/recording`;

/**
 * PRODUCT.md step 1: refuses accounts that may not take calls (closed, deletion pending, blocked); checks the file is audio (by content, with ffprobe) before anything is stored, so bad
 * input creates no call; stores it; then writes the call row and its first job in one transaction. The
 * same (source, externalId) twice returns the first call, also when both arrive at once.
 */
export async function ingestRecording(deps: IngestDeps, input: IngestInput): Promise<IngestOutcome> {
  const accountId = input.account.id;
  if (input.source) {
    const existing = await findCallBySourceKey(
      deps.database.db,
      accountId,
      input.source.id,
      input.metadata.externalId,
    );
    if (existing) return { callId: existing.id, status: existing.status, duplicate: true };
  }
  // Closed, deletion pending or processing blocked: refused with a clear 409 (a repeat of a call
  // already received above still gets its first answer).
  assertAccountAcceptsCalls(input.account);
  // Per-account upload rate, counted in the database so it holds across API replicas (approximate
  // under a burst of simultaneous uploads: each sees the count before the others commit).
  const now = deps.clock?.() ?? new Date();
  const recent = await countCallsReceivedSince(deps.database.db, accountId, new Date(now.getTime() - 60_000));
  if (recent >= deps.limits.maxUploadsPerMinute) {
    throw new AppError(
      "RATE_LIMITED",
      `At most ${deps.limits.maxUploadsPerMinute} recordings a minute per account; try again shortly.`,
      {
        headers: { "Retry-After": "60" },
        retryable: true,
      },
    );
  }
  if (input.bytes === 0) throw new AppError("MEDIA_UNREADABLE", "The recording is empty.");
  // Uncompressed WAV whose header proves it complete is accepted without running ffmpeg (cheap enough
  // for a burst of pushes); everything else gets the full ffprobe + decode check here. The pipeline's
  // probe step runs the full check on every call anyway before anything is charged.
  const probe =
    (await readCompleteWavFile(input.filePath, input.bytes)) ?? (await deps.audio.probe(input.filePath));
  if (probe.durationSec > deps.limits.maxCallDurationSec) {
    throw new AppError(
      "MEDIA_TOO_LONG",
      `The recording lasts ${Math.round(probe.durationSec)} s; the limit is ${deps.limits.maxCallDurationSec} s.`,
    );
  }

  const callId = randomUUID();
  const key = recordingKey(accountId, callId);
  await deps.storage.put(key, createReadStream(input.filePath), { contentType: "application/octet-stream" });

  const { call, duplicate } = await deps.database.db.transaction(async (tx) => {
    const result = await insertCallOnce(tx, {
      id: callId,
      accountId,
      sourceId: input.source?.id ?? null,
      externalId: input.metadata.externalId,
      startedAt: input.metadata.startedAt ? new Date(input.metadata.startedAt) : null,
      direction: input.metadata.direction ?? null,
      operatorExternalId: input.metadata.operator?.externalId ?? null,
      operatorName: input.metadata.operator?.name ?? null,
      clientPhone: input.metadata.client?.phone ?? null,
      operatorChannel: input.source?.operatorChannel ?? "left",
      recordingKey: key,
      recordingBytes: input.bytes,
    });
    if (!result.duplicate) {
      // A source may ask for a delay (e.g. so its CRM can update the call first): the job waits.
      const delaySec = input.source?.processingDelaySec ?? 0;
      const startAfter = delaySec > 0 ? new Date(now.getTime() + delaySec * 1000) : undefined;
      await deps.queue.send(probeCallJob, { accountId, callId }, { tx, startAfter });
    }
    return result;
  });
  if (duplicate) {
    // Lost a race with a concurrent delivery of the same call: keep theirs, drop our copy.
    await deps.storage
      .delete(key)
      .catch((err) => deps.logger.warn({ err, callId }, "orphan recording not deleted"));
  }
  return { callId: call.id, status: call.status, duplicate };
}
