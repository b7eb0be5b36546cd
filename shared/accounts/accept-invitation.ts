import { recordAudit } from "../audit/audit-log.ts";
import {
  type AccountRow,
  createUser,
  getAccount,
  type UserRow,
} from "../db/repositories/accounts.repository.ts";
import { claimInvitation, findOpenInvitation } from "../db/repositories/users.repository.ts";
import { AppError } from "../errors/app-error.ts";
import { passwordProblem } from "../security/password-policy.ts";
import { hashPassword } from "../security/passwords.ts";
import { hashToken } from "../security/tokens.ts";
import { type SessionDeps, startSession } from "./start-session.ts";

const unknownInvitation = () =>
  new AppError("NOT_FOUND", "This invitation is unknown, used, revoked or expired.");

/**
 * Accepts an invitation: sets the password, creates the user and signs them in. Throws NOT_FOUND for an
 * unknown, used, revoked or expired invitation, VALIDATION_FAILED when the password breaks the rules
 * for the invited e-mail, CONFLICT when the e-mail got a user meanwhile.
 */
export async function acceptInvitation(
  deps: SessionDeps,
  input: { token: string; password: string; ip: string },
): Promise<{ token: string; user: UserRow; account: AccountRow }> {
  const now = deps.clock();
  // Cheap checks first (an anonymous caller must not make us hash for nothing): the invitation is open
  // and the password acceptable for its e-mail; then the hash; then the single-use claim.
  const open = await findOpenInvitation(deps.db, hashToken(input.token), now);
  if (!open) throw unknownInvitation();
  const problem = passwordProblem(input.password, open.email);
  if (problem)
    throw new AppError("VALIDATION_FAILED", problem, {
      details: [{ path: "body.password", message: problem }],
    });
  const passwordHash = await hashPassword(input.password);
  const { user, account } = await deps.db.transaction(async (tx) => {
    const invitation = await claimInvitation(tx, hashToken(input.token), now);
    if (!invitation) throw unknownInvitation();
    const user = await createUser(tx, {
      accountId: invitation.accountId,
      email: invitation.email,
      passwordHash,
      role: invitation.role,
    });
    if (!user) throw new AppError("CONFLICT", "A user with this e-mail already exists.");
    const account = await getAccount(tx, invitation.accountId);
    await recordAudit(tx, {
      accountId: invitation.accountId,
      actor: { userId: user.id, role: user.role, ip: input.ip },
      action: "user.invitation_accept",
      objectType: "invitation",
      objectId: invitation.id,
      details: { userId: user.id, role: user.role },
    });
    return { user, account: account! };
  });
  return { token: await startSession(deps, user.id, now), user, account };
}
