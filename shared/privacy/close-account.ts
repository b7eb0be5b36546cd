import { auditActorOf, type Caller } from "../accounts/caller.ts";
import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import type { AccountRow } from "../db/repositories/accounts.repository.ts";
import { markAccountClosed } from "../db/repositories/privacy.repository.ts";

/**
 * Ends the agreement: no new calls are accepted or processed; data is kept until retention ends (at
 * most 3 years). Closing a closed account changes nothing and is not audited again.
 */
export async function closeAccount(deps: { db: Db; clock: () => Date }, caller: Caller): Promise<AccountRow> {
  const now = deps.clock();
  const closed = await deps.db.transaction(async (tx) => {
    const closed = await markAccountClosed(tx, caller.account.id, now);
    if (closed) {
      await recordAudit(tx, {
        accountId: caller.account.id,
        actor: auditActorOf(caller),
        action: "account.close",
        objectType: "account",
        objectId: caller.account.id,
        details: { closedAt: now.toISOString() },
      });
    }
    return closed;
  });
  return closed ?? caller.account;
}
