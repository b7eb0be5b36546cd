import { type AuditActor, recordAudit } from "../audit/audit-log.ts";
import { createLedgerCallBilling } from "../billing/call-charges.ts";
import type { Db } from "../db/client.ts";
import { type AccountRow, setAccountStatus } from "../db/repositories/accounts.repository.ts";
import { lockProcessingCalls, updateCall } from "../db/repositories/calls.repository.ts";
import { AppError } from "../errors/app-error.ts";

export const ACCOUNT_BLOCKED_MESSAGE =
  "The account was blocked by the service's staff: its calls are not processed and it was not charged.";

/**
 * Staff block an account (PRODUCT.md "A blocked account"): the account's users can no longer sign in or
 * use their tokens (checked at sign-in and on every request), no new call is accepted, and every call
 * holding funds is stopped now — its hold released, the call failed with ACCOUNT_BLOCKED — so no money
 * stays reserved for work that will not be done. A worker still busy with such a call finds it no
 * longer `processing` and writes nothing; calls that had not reserved yet (`received`,
 * `awaiting_funds`) wait, unreserved, until `unblockAccount`. The operator's own account cannot be
 * blocked: NOT_FOUND, as for no such customer account (or a closed one).
 */
export async function blockAccount(
  deps: { db: Db; clock: () => Date },
  input: { accountId: string; actor: AuditActor },
): Promise<{ account: AccountRow; releasedCalls: number }> {
  const { accountId } = input;
  const now = deps.clock();
  return deps.db.transaction(async (tx) => {
    // Calls first, then the account row: the pipeline locks a call before anything else, so the same
    // order here cannot deadlock with a reservation or settlement in flight.
    const holding = await lockProcessingCalls(tx, accountId);
    const account = await setAccountStatus(tx, accountId, "blocked");
    if (!account) throw new AppError("NOT_FOUND", "Account not found (or closed).");
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
    await recordAudit(tx, {
      accountId: account.id,
      actor: input.actor,
      action: "staff.account_block",
      objectType: "account",
      objectId: account.id,
      details: { releasedCalls: holding.length },
    });
    return { account, releasedCalls: holding.length };
  });
}
