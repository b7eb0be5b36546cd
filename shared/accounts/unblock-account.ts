import { type AuditActor, recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import { type AccountRow, setAccountStatus } from "../db/repositories/accounts.repository.ts";
import { AppError } from "../errors/app-error.ts";
import type { JobQueue } from "../queue/job-queue.ts";
import { resumeWaitingCalls } from "./resume-waiting-calls.ts";

/**
 * Staff lift a block; the calls that waited are then queued again in arrival order. NOT_FOUND for no
 * such customer account (or a closed one).
 */
export async function unblockAccount(
  deps: { db: Db; queue: JobQueue; clock: () => Date },
  input: { accountId: string; actor: AuditActor },
): Promise<AccountRow> {
  const { accountId } = input;
  const account = await deps.db.transaction(async (tx) => {
    const account = await setAccountStatus(tx, accountId, "active");
    if (!account) throw new AppError("NOT_FOUND", "Account not found (or closed).");
    await recordAudit(tx, {
      accountId: account.id,
      actor: input.actor,
      action: "staff.account_unblock",
      objectType: "account",
      objectId: account.id,
    });
    return account;
  });
  await resumeWaitingCalls(deps, account.id);
  return account;
}
