import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import { markInvitationRevoked } from "../db/repositories/users.repository.ts";
import { AppError } from "../errors/app-error.ts";
import { auditActorOf, type Caller } from "./caller.ts";

/** Revokes an open invitation of the caller's account; NOT_FOUND when there is no open one with the id. */
export async function revokeInvitation(
  deps: { db: Db; clock: () => Date },
  caller: Caller,
  invitationId: string,
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    if (!(await markInvitationRevoked(tx, caller.account.id, invitationId, deps.clock()))) {
      throw new AppError("NOT_FOUND", "No open invitation with this id.");
    }
    await recordAudit(tx, {
      accountId: caller.account.id,
      actor: auditActorOf(caller),
      action: "user.invitation_revoke",
      objectType: "invitation",
      objectId: invitationId,
    });
  });
}
