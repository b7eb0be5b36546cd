import { and, desc, eq, gte, lt, or, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { auditLog } from "../schema/index.ts";

export type AuditRow = typeof auditLog.$inferSelect;
export type NewAuditRow = typeof auditLog.$inferInsert;

export async function insertAuditEntry(db: Db, entry: NewAuditRow): Promise<void> {
  await db.insert(auditLog).values(entry);
}

/** Whether the same actor already has an entry for this action on this object since `since`. */
export async function hasRecentAuditEntry(
  db: Db,
  input: {
    accountId: string | null;
    actorUserId: string | null;
    action: string;
    objectId: string;
    since: Date;
  },
): Promise<boolean> {
  const [row] = await db
    .select({ id: auditLog.id })
    .from(auditLog)
    .where(
      and(
        input.accountId ? eq(auditLog.accountId, input.accountId) : sql`${auditLog.accountId} is null`,
        input.actorUserId
          ? eq(auditLog.actorUserId, input.actorUserId)
          : sql`${auditLog.actorUserId} is null`,
        eq(auditLog.action, input.action),
        eq(auditLog.objectId, input.objectId),
        gte(auditLog.createdAt, input.since),
      ),
    )
    .limit(1);
  return row !== undefined;
}

/** The account's entries, newest first, keyset-paginated on (createdAt, id). */
export async function listAuditEntries(
  db: Db,
  accountId: string,
  filter: { action?: string; userId?: string; from?: Date; to?: Date },
  window: { limit: number; after: { at: Date; id: string } | undefined },
): Promise<AuditRow[]> {
  return db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.accountId, accountId),
        filter.action ? eq(auditLog.action, filter.action) : undefined,
        filter.userId ? eq(auditLog.actorUserId, filter.userId) : undefined,
        filter.from ? gte(auditLog.createdAt, filter.from) : undefined,
        filter.to ? lt(auditLog.createdAt, filter.to) : undefined,
        window.after
          ? or(
              lt(auditLog.createdAt, window.after.at),
              and(eq(auditLog.createdAt, window.after.at), lt(auditLog.id, window.after.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
    .limit(window.limit);
}
