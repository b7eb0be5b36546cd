import { auditActorOf, type Caller } from "../accounts/caller.ts";
import { resumeWaitingCalls } from "../accounts/resume-waiting-calls.ts";
import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import type { AccountRow } from "../db/repositories/accounts.repository.ts";
import { setProcessingBlocked } from "../db/repositories/privacy.repository.ts";
import type { JobQueue } from "../queue/job-queue.ts";

/**
 * The owner resumes processing: the calls that waited are queued again. Unblocking an account that was
 * not blocked changes nothing and is not audited.
 */
export async function unblockProcessing(
  deps: { db: Db; queue: JobQueue; clock: () => Date },
  caller: Caller,
): Promise<AccountRow> {
  const unblocked = await deps.db.transaction(async (tx) => {
    const unblocked = await setProcessingBlocked(tx, caller.account.id, null);
    if (unblocked) {
      await recordAudit(tx, {
        accountId: caller.account.id,
        actor: auditActorOf(caller),
        action: "account.processing_unblock",
        objectType: "account",
        objectId: caller.account.id,
      });
    }
    return unblocked;
  });
  if (!unblocked) return caller.account;
  await resumeWaitingCalls(deps, caller.account.id);
  return unblocked;
}
