import { auditActorOf, type Caller } from "../accounts/caller.ts";
import { resumeWaitingCalls } from "../accounts/resume-waiting-calls.ts";
import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import type { AccountRow } from "../db/repositories/accounts.repository.ts";
import { clearAccountDeletion } from "../db/repositories/privacy.repository.ts";
import { AppError } from "../errors/app-error.ts";
import type { JobQueue } from "../queue/job-queue.ts";

/**
 * Cancels a pending deletion (during the grace period); the calls that waited meanwhile are queued
 * again. Throws CONFLICT when no deletion is pending.
 */
export async function cancelAccountDeletion(
  deps: { db: Db; queue: JobQueue; clock: () => Date },
  caller: Caller,
): Promise<AccountRow> {
  const account = await deps.db.transaction(async (tx) => {
    const cancelled = await clearAccountDeletion(tx, caller.account.id);
    if (!cancelled) throw new AppError("CONFLICT", "No deletion request is pending.");
    await recordAudit(tx, {
      accountId: caller.account.id,
      actor: auditActorOf(caller),
      action: "account.deletion_cancel",
      objectType: "account",
      objectId: caller.account.id,
    });
    return cancelled;
  });
  await resumeWaitingCalls(deps, caller.account.id);
  return account;
}
