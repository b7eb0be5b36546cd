import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import {
  deleteAccountUser,
  getAccountUser,
  lockAndCountOwners,
} from "../db/repositories/users.repository.ts";
import { AppError } from "../errors/app-error.ts";
import { auditActorOf, type Caller } from "./caller.ts";

/**
 * Removes a user of the caller's account; their tokens stop working at once. Throws NOT_FOUND when the
 * account has no such user, CONFLICT when it is the last owner.
 */
export async function removeUser(deps: { db: Db }, caller: Caller, userId: string): Promise<void> {
  const accountId = caller.account.id;
  await deps.db.transaction(async (tx) => {
    const owners = await lockAndCountOwners(tx, accountId);
    const target = await getAccountUser(tx, accountId, userId);
    if (!target) throw new AppError("NOT_FOUND", "No such user.");
    if (target.role === "owner" && owners <= 1) {
      throw new AppError("CONFLICT", "The account must keep at least one owner.");
    }
    // Sessions go with the user (foreign key, on delete cascade).
    await deleteAccountUser(tx, accountId, userId);
    await recordAudit(tx, {
      accountId,
      actor: auditActorOf(caller),
      action: "user.delete",
      objectType: "user",
      objectId: userId,
      details: { role: target.role },
    });
  });
}
