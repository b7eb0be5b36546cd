import { recordAudit } from "../audit/audit-log.ts";
import type { Config } from "../config/config.ts";
import type { Db } from "../db/client.ts";
import { findUserByEmail } from "../db/repositories/accounts.repository.ts";
import { createInvitation, type InvitationRow } from "../db/repositories/users.repository.ts";
import { AppError } from "../errors/app-error.ts";
import type { Logger } from "../logging/logger.ts";
import type { Mailer } from "../providers/mail/mailer.ts";
import { hashToken, newToken } from "../security/tokens.ts";
import { auditActorOf, type Caller } from "./caller.ts";

export interface InviteUserDeps {
  db: Db;
  clock: () => Date;
  mailer: Mailer;
  log: Logger;
  publicUrl: string;
  security: Pick<Config["security"], "invitationTtlHours">;
}

/**
 * Invites a user by e-mail: a single-use link valid INVITATION_TTL_HOURS is mailed and also returned
 * (once: only the token's hash is stored). A mail that cannot be sent is logged, not fatal: the owner
 * still has the link. Throws CONFLICT when the e-mail already has a user.
 */
export async function inviteUser(
  deps: InviteUserDeps,
  caller: Caller,
  input: { email: string; role: "owner" | "manager" },
): Promise<{ invitation: InvitationRow; token: string; acceptUrl: string }> {
  if (await findUserByEmail(deps.db, input.email)) {
    throw new AppError("CONFLICT", "A user with this e-mail already exists.");
  }
  const { account } = caller;
  const token = newToken("inv");
  const now = deps.clock();
  const invitation = await deps.db.transaction(async (tx) => {
    const row = await createInvitation(tx, {
      accountId: account.id,
      email: input.email,
      role: input.role,
      tokenHash: hashToken(token),
      invitedBy: caller.user.id,
      expiresAt: new Date(now.getTime() + deps.security.invitationTtlHours * 3600_000),
    });
    await recordAudit(tx, {
      accountId: account.id,
      actor: auditActorOf(caller),
      action: "user.invite",
      objectType: "invitation",
      objectId: row.id,
      details: { role: input.role },
    });
    return row;
  });
  // The token travels in the fragment, which browsers never send to a server (nor to its logs).
  const acceptUrl = `${deps.publicUrl}/#/invite?token=${token}`;
  try {
    await deps.mailer.send({
      to: [input.email],
      subject: `Tyndau: invitation to ${account.company}`,
      text: `You are invited to ${account.company} on Tyndau as ${input.role}.\n\nSet your password here (valid until ${invitation.expiresAt.toISOString()}):\n${acceptUrl}\n`,
    });
  } catch (error) {
    deps.log.warn({ err: error, invitationId: invitation.id }, "invitation e-mail not sent");
  }
  return { invitation, token, acceptUrl };
}
