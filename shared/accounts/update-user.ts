import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import type { UserRow } from "../db/repositories/accounts.repository.ts";
import { getAccountUser, lockAndCountOwners, setUserRole } from "../db/repositories/users.repository.ts";
import { AppError } from "../errors/app-error.ts";
import { auditActorOf, type Caller } from "./caller.ts";

/**
 * Changes a user's role (owner ↔ manager). Throws NOT_FOUND when the account has no such user,
 * CONFLICT when it would demote the last owner (owners are locked first, so two demotions at once
 * cannot both pass).
 */
export async function updateUser(
  deps: { db: Db },
  caller: Caller,
  input: { userId: string; role: "owner" | "manager" },
): Promise<UserRow> {
  const accountId = caller.account.id;
  return deps.db.transaction(async (tx) => {
    const owners = await lockAndCountOwners(tx, accountId);
    const target = await getAccountUser(tx, accountId, input.userId);
    if (!target) throw new AppError("NOT_FOUND", "No such user.");
    if (target.role === "owner" && input.role !== "owner" && owners <= 1) {
      throw new AppError("CONFLICT", "The account must keep at least one owner.");
    }
    const updated = await setUserRole(tx, accountId, input.userId, input.role);
    await recordAudit(tx, {
      accountId,
      actor: auditActorOf(caller),
      action: "user.update",
      objectType: "user",
      objectId: input.userId,
      details: { from: target.role, to: input.role },
    });
    return updated!;
  });
}
