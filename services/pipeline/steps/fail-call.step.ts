import { lockCall, updateCall } from "../../../shared/db/repositories/calls.repository.ts";
import { isAppError } from "../../../shared/errors/app-error.ts";
import type { CallJobPayload } from "../../../shared/queue/job-definitions.ts";
import type { PipelineDeps } from "../pipeline-deps.ts";

/** Ends a call as `failed` with a code and a human message, releasing its reservation (the user pays nothing). */
export async function failCall(deps: PipelineDeps, job: CallJobPayload, error: unknown): Promise<void> {
  const code = isAppError(error) ? error.code : "INTERNAL";
  const message = isAppError(error)
    ? error.message
    : "Processing failed because of an internal error; the call was not charged.";
  await deps.database.db.transaction(async (tx) => {
    const locked = await lockCall(tx, job.accountId, job.callId);
    if (!locked || locked.status === "done" || locked.status === "failed") return;
    await deps.billing.release(tx, locked, deps.clock());
    await updateCall(tx, job.accountId, job.callId, {
      status: "failed",
      errorCode: code,
      errorMessage: message,
      processedAt: deps.clock(),
    });
  });
}
