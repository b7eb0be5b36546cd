import type { Db } from "../client.ts";
import { auditLog } from "../schema/index.ts";

export type AuditRow = typeof auditLog.$inferSelect;
export type NewAuditRow = typeof auditLog.$inferInsert;

export async function insertAuditEntry(db: Db, entry: NewAuditRow): Promise<void> {
  await db.insert(auditLog).values(entry);
}
