import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import { createUser, type UserRow } from "../db/repositories/accounts.repository.ts";
import { AppError } from "../errors/app-error.ts";
import { hashPassword } from "../security/passwords.ts";
import { auditActorOf, type Caller } from "./caller.ts";

/** An owner adds a user with a password of the owner's choosing; CONFLICT when the e-mail is taken. */
export async function addUser(
  deps: { db: Db },
  caller: Caller,
  input: { email: string; password: string; role: "owner" | "manager" },
): Promise<UserRow> {
  const passwordHash = await hashPassword(input.password);
  return deps.db.transaction(async (tx) => {
    const user = await createUser(tx, {
      accountId: caller.account.id,
      email: input.email,
      passwordHash,
      role: input.role,
    });
    if (!user) throw new AppError("CONFLICT", "A user with this e-mail already exists.");
    await recordAudit(tx, {
      accountId: caller.account.id,
      actor: auditActorOf(caller),
      action: "user.create",
      objectType: "user",
      objectId: user.id,
      details: { role: user.role },
    });
    return user;
  });
}
