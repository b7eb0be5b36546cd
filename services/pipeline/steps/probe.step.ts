import path from "node:path";
import { accountAcceptsCalls } from "../../../shared/accounts/assert-account-accepts-calls.ts";
import { getAccount } from "../../../shared/db/repositories/accounts.repository.ts";
import { findCall, lockCall, updateCall } from "../../../shared/db/repositories/calls.repository.ts";
import { AppError } from "../../../shared/errors/app-error.ts";
import { notifySuspended } from "../../../shared/notifications/notifications.ts";
import { type CallJobPayload, transcribeCallJob } from "../../../shared/queue/job-definitions.ts";
import { withScratchDir } from "../common/scratch-dir.ts";
import { secondsSince } from "../common/step-timing.ts";
import type { PipelineDeps } from "../pipeline-deps.ts";

/**
 * Step 2 (probe) and step 3 (charge): reads the stored recording's duration and channels, then reserves
 * its cost and hands the call to transcription in one transaction. Re-running it after any crash is safe:
 * a call already past `received` is left alone.
 */
export async function probeCall(deps: PipelineDeps, job: CallJobPayload): Promise<void> {
  const call = await findCall(deps.database.db, job.accountId, job.callId);
  if (!call || (call.status !== "received" && call.status !== "awaiting_funds")) return;
  // Its retention ended before it was processed: nothing left to process.
  if (call.purgedAt) return;
  if (!call.recordingKey) throw new AppError("MEDIA_UNREADABLE", "The call has no recording.");
  // Closed, deletion pending or processing blocked: the call waits as `received`, nothing reserved;
  // unblocking (or cancelling the deletion) queues it again.
  const account = await getAccount(deps.database.db, job.accountId);
  if (!accountAcceptsCalls(account)) {
    deps.logger.info({ callId: job.callId, accountId: job.accountId }, "processing stopped for the account");
    return;
  }

  const started = performance.now();
  const probe = await withScratchDir(deps.tmpDir, async (dir) => {
    const file = path.join(dir, "recording");
    await deps.storage.download(call.recordingKey!, file);
    return deps.audio.probe(file);
  });
  if (probe.durationSec > deps.limits.maxCallDurationSec) {
    throw new AppError(
      "MEDIA_TOO_LONG",
      `The recording lasts ${Math.round(probe.durationSec)} s; the limit is ${deps.limits.maxCallDurationSec} s.`,
    );
  }
  const probeSec = secondsSince(started);

  const status = await deps.database.db.transaction(async (tx) => {
    const locked = await lockCall(tx, job.accountId, job.callId);
    if (!locked || (locked.status !== "received" && locked.status !== "awaiting_funds")) return undefined;
    const measured = {
      durationSec: probe.durationSec,
      channels: probe.channels,
      sampleRate: probe.sampleRate,
      mono: probe.channels < 2,
    };
    const { outcome } = await deps.billing.reserve(tx, { ...locked, ...measured }, deps.clock());
    const status = outcome === "awaiting_funds" ? "awaiting_funds" : "processing";
    await updateCall(tx, job.accountId, job.callId, {
      ...measured,
      status,
      stepTimings: { ...locked.stepTimings, probe: probeSec },
    });
    if (status === "processing") await deps.queue.send(transcribeCallJob, job, { tx });
    return status;
  });
  if (status === "awaiting_funds") {
    // After the commit: the owners hear once per suspension (low-balance-notify retries a failed send).
    // The notice needs only the account's id, company and currency: the row read above will do.
    await notifySuspended({ db: deps.database.db, mailer: deps.mailer, logger: deps.logger }, account).catch(
      (err) => deps.logger.warn({ err, accountId: job.accountId }, "suspension notice deferred to the job"),
    );
  }
}
