import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import type { UserRow } from "../db/repositories/accounts.repository.ts";
import { setUserEmail } from "../db/repositories/users.repository.ts";
import { AppError } from "../errors/app-error.ts";
import { verifyPassword } from "../security/passwords.ts";
import { auditActorOf, type Caller } from "./caller.ts";

/**
 * A user corrects their own sign-in e-mail (a data subject's right); the current password confirms it
 * is them. Throws FORBIDDEN for a wrong password, CONFLICT when another user has the e-mail.
 */
export async function changeEmail(
  deps: { db: Db },
  caller: Caller,
  input: { email: string; currentPassword: string },
): Promise<UserRow> {
  if (!(await verifyPassword(input.currentPassword, caller.user.passwordHash))) {
    throw new AppError("FORBIDDEN", "The current password is wrong.");
  }
  return deps.db.transaction(async (tx) => {
    const user = await setUserEmail(tx, caller.user.id, input.email);
    if (!user) throw new AppError("CONFLICT", "A user with this e-mail already exists.");
    await recordAudit(tx, {
      // Staff belong to the operator's account, not to a customer's: their entries are service-wide.
      accountId: caller.user.role === "staff" ? null : caller.account.id,
      actor: auditActorOf(caller),
      action: "user.update",
      objectType: "user",
      objectId: caller.user.id,
      details: { fields: ["email"] },
    });
    return user;
  });
}
