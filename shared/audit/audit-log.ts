import type { Db } from "../db/client.ts";
import { hasRecentAuditEntry, insertAuditEntry } from "../db/repositories/audit.repository.ts";

/**
 * Audited actions (PRODUCT.md: who listened to, read, exported or deleted what, and when). Add a verb
 * here before using it, so the list stays the one place that says what is audited.
 */
export const auditActions = [
  "call.read",
  "call.listen",
  "calls.export_csv",
  "account.export",
  "account.update",
  "account.close",
  "account.deletion_request",
  "account.deletion_cancel",
  "account.processing_block",
  "account.processing_unblock",
  "account.deleted",
  "retention.purge",
  "user.create",
  "user.invite",
  "user.update",
  "user.delete",
  "user.password_change",
  "user.invitation_accept",
  "user.invitation_revoke",
  "staff.account_block",
  "staff.account_unblock",
  "staff.invoice_payment",
  "staff.payment_refund",
] as const;
export type AuditAction = (typeof auditActions)[number];

export interface AuditActor {
  /** Null when the service itself acts (scheduled jobs). */
  userId: string | null;
  role: "owner" | "manager" | "staff" | "system";
  ip?: string | null;
}

export interface AuditEntry {
  /** The account whose data was touched; null for service-wide staff actions. */
  accountId: string | null;
  actor: AuditActor;
  action: AuditAction;
  objectType: string;
  objectId?: string | null;
  /** Ids and counts only — never personal data, transcripts or secrets. */
  details?: Record<string, unknown>;
}

export const systemActor: AuditActor = { userId: null, role: "system" };

/** Writes one audit entry; pass the transaction of the action itself so both commit or neither does. */
export async function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  await insertAuditEntry(db, {
    accountId: entry.accountId,
    actorUserId: entry.actor.userId,
    actorRole: entry.actor.role,
    action: entry.action,
    objectType: entry.objectType,
    objectId: entry.objectId ?? null,
    details: entry.details ?? {},
    ip: entry.actor.ip ?? null,
  });
}

/**
 * Records a read-type entry (call read, call listen) at most once per `throttleMs` for the same actor
 * and object, so that paging back and forth does not flood the log.
 */
export async function recordAuditThrottled(db: Db, entry: AuditEntry, now: Date, throttleMs: number) {
  if (
    entry.objectId &&
    (await hasRecentAuditEntry(db, {
      accountId: entry.accountId,
      actorUserId: entry.actor.userId,
      action: entry.action,
      objectId: entry.objectId,
      since: new Date(now.getTime() - throttleMs),
    }))
  )
    return;
  await recordAudit(db, entry);
}
