import { auditActorOf, type Caller } from "../accounts/caller.ts";
import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import type { AccountRow } from "../db/repositories/accounts.repository.ts";
import { setProcessingBlocked } from "../db/repositories/privacy.repository.ts";

/**
 * The owner blocks processing of the account's data: new calls are refused (PROCESSING_BLOCKED), queued
 * ones wait; data is kept. Blocking a blocked account changes nothing and is not audited again.
 */
export async function blockProcessing(
  deps: { db: Db; clock: () => Date },
  caller: Caller,
): Promise<AccountRow> {
  const blocked = await deps.db.transaction(async (tx) => {
    const blocked = await setProcessingBlocked(tx, caller.account.id, deps.clock());
    if (blocked) {
      await recordAudit(tx, {
        accountId: caller.account.id,
        actor: auditActorOf(caller),
        action: "account.processing_block",
        objectType: "account",
        objectId: caller.account.id,
      });
    }
    return blocked;
  });
  return blocked ?? caller.account;
}
