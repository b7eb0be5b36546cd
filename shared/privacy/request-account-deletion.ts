import { auditActorOf, type Caller } from "../accounts/caller.ts";
import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import { scheduleAccountDeletion } from "../db/repositories/privacy.repository.ts";
import { deletionDueAt } from "./data-lifecycle.ts";

/**
 * Schedules the deletion of the account and all its data after a cancellable grace period. Asking again
 * while one is pending answers the pending one and is not audited again.
 */
export async function requestAccountDeletion(
  deps: { db: Db; clock: () => Date },
  caller: Caller,
): Promise<{ requestedAt: Date; deleteBy: Date }> {
  const now = deps.clock();
  const account = await deps.db.transaction(async (tx) => {
    const scheduled = await scheduleAccountDeletion(tx, caller.account.id, now, deletionDueAt(now));
    if (!scheduled) return caller.account;
    await recordAudit(tx, {
      accountId: caller.account.id,
      actor: auditActorOf(caller),
      action: "account.deletion_request",
      objectType: "account",
      objectId: caller.account.id,
      details: { deleteBy: scheduled.deletionScheduledFor?.toISOString() },
    });
    return scheduled;
  });
  return { requestedAt: account.deletionRequestedAt!, deleteBy: account.deletionScheduledFor! };
}
