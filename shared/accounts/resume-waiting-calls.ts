import type { Db } from "../db/client.ts";
import { findAwaitingCallCount, findReceivedCalls } from "../db/repositories/privacy.repository.ts";
import { probeCallJob, resumeAwaitingCallsJob } from "../queue/job-definitions.ts";
import type { JobQueue } from "../queue/job-queue.ts";

/**
 * Queues again, in arrival order, the calls that waited while the account could not process: `received`
 * ones go back to the probe (a source's processing delay still holds), `awaiting_funds` ones to the
 * top-up resumer (which reserves oldest first). Repeats of jobs already queued are harmless.
 */
export async function resumeWaitingCalls(
  deps: { db: Db; queue: JobQueue; clock: () => Date },
  accountId: string,
): Promise<number> {
  const waiting = await findReceivedCalls(deps.db, accountId);
  const now = deps.clock();
  for (const call of waiting) {
    const startAfter = call.startAt > now ? call.startAt : undefined;
    await deps.queue.send(probeCallJob, { accountId, callId: call.id }, { startAfter });
  }
  const awaiting = await findAwaitingCallCount(deps.db, accountId);
  if (awaiting > 0) await deps.queue.send(resumeAwaitingCallsJob, { accountId });
  return waiting.length + awaiting;
}
