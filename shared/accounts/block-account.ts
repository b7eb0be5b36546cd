import { createLedgerCallBilling } from "../billing/call-charges.ts";
import type { Db } from "../db/client.ts";
import { type AccountRow, setAccountStatus } from "../db/repositories/accounts.repository.ts";
import { lockProcessingCalls, updateCall } from "../db/repositories/calls.repository.ts";
import { findAwaitingCallCount, findReceivedCalls } from "../db/repositories/privacy.repository.ts";
import { probeCallJob, resumeAwaitingCallsJob } from "../queue/job-definitions.ts";
import type { JobQueue } from "../queue/job-queue.ts";

export const ACCOUNT_BLOCKED_MESSAGE =
  "The account was blocked by the service's staff: its calls are not processed and it was not charged.";

/**
 * Staff block (PRODUCT.md "A blocked account"), in the caller's transaction: the account's users can no
 * longer sign in or use their tokens (checked at sign-in and on every request), no new call is accepted,
 * and every call holding funds is stopped now — its hold released, the call failed with
 * ACCOUNT_BLOCKED — so no money stays reserved for work that will not be done. A worker still busy with
 * such a call finds it no longer `processing` and writes nothing; calls that had not reserved yet
 * (`received`, `awaiting_funds`) wait, unreserved, until `unblockAccount`. The operator's own account
 * cannot be blocked. Undefined: no such customer account (or it is closed).
 */
export async function blockAccount(
  tx: Db,
  accountId: string,
  now: Date,
): Promise<{ account: AccountRow; releasedCalls: number } | undefined> {
  // Calls first, then the account row: the pipeline locks a call before anything else, so the same
  // order here cannot deadlock with a reservation or settlement in flight.
  const holding = await lockProcessingCalls(tx, accountId);
  const account = await setAccountStatus(tx, accountId, "blocked");
  if (!account) return undefined;
  const billing = createLedgerCallBilling();
  for (const call of holding) {
    await billing.release(tx, call, now);
    await updateCall(tx, accountId, call.id, {
      status: "failed",
      errorCode: "ACCOUNT_BLOCKED",
      errorMessage: ACCOUNT_BLOCKED_MESSAGE,
      processedAt: now,
    });
  }
  return { account, releasedCalls: holding.length };
}

/** Lifts a staff block; the caller then resumes the calls that waited (`resumeWaitingCalls`). */
export async function unblockAccount(tx: Db, accountId: string): Promise<AccountRow | undefined> {
  return setAccountStatus(tx, accountId, "active");
}

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
