import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import { revokeUserSessions, setUserPassword } from "../db/repositories/users.repository.ts";
import { AppError } from "../errors/app-error.ts";
import { passwordProblem } from "../security/password-policy.ts";
import { hashPassword, verifyPassword } from "../security/passwords.ts";
import { auditActorOf, type Caller } from "./caller.ts";

/**
 * Changes the caller's password and revokes every other session of theirs (the one asking stays
 * valid). Throws FORBIDDEN for a wrong current password, VALIDATION_FAILED when the new one breaks the
 * password rules (it must not be the e-mail).
 */
export async function changePassword(
  deps: { db: Db; clock: () => Date },
  caller: Caller & { sessionId: string },
  input: { currentPassword: string; newPassword: string },
): Promise<void> {
  if (!(await verifyPassword(input.currentPassword, caller.user.passwordHash))) {
    throw new AppError("FORBIDDEN", "The current password is wrong.");
  }
  const problem = passwordProblem(input.newPassword, caller.user.email);
  if (problem)
    throw new AppError("VALIDATION_FAILED", problem, {
      details: [{ path: "body.newPassword", message: problem }],
    });
  const passwordHash = await hashPassword(input.newPassword);
  const now = deps.clock();
  await deps.db.transaction(async (tx) => {
    await setUserPassword(tx, caller.user.id, passwordHash);
    const revoked = await revokeUserSessions(tx, caller.user.id, now, caller.sessionId);
    await recordAudit(tx, {
      accountId: caller.user.role === "staff" ? null : caller.account.id,
      actor: auditActorOf(caller),
      action: "user.password_change",
      objectType: "user",
      objectId: caller.user.id,
      details: { revokedSessions: revoked },
    });
  });
}
