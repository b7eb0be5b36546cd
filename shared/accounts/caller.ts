import type { AuditActor } from "../audit/audit-log.ts";
import type { AccountRow, UserRow } from "../db/repositories/accounts.repository.ts";

/** Who asks for an operation: the signed-in user, their account, and the client address audit rows keep. */
export interface Caller {
  user: UserRow;
  account: AccountRow;
  ip: string | null;
}

export const auditActorOf = (caller: Caller): AuditActor => ({
  userId: caller.user.id,
  role: caller.user.role,
  ip: caller.ip,
});
