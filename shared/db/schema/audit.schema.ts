import { index, jsonb, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, id } from "./columns.ts";

/**
 * Who listened to, read, exported, changed or deleted what, and when (PRODUCT.md Data lifecycle).
 * Rows name ids, never personal data or transcript text. No foreign keys: an entry outlives the
 * user who acted (staff) and is removed only with its account by `deletion-purge`.
 */
export const auditLog = pgTable(
  "audit_log",
  {
    id: id(),
    /** The account whose data was touched; null for service-wide staff actions. */
    accountId: uuid("account_id"),
    /** Null when the service itself acted (scheduled jobs). */
    actorUserId: uuid("actor_user_id"),
    /** owner | manager | staff | system */
    actorRole: text("actor_role").notNull(),
    /** Dotted verb, e.g. `call.listen`, `account.export`; listed in shared/audit/audit-log.ts. */
    action: text("action").notNull(),
    objectType: text("object_type").notNull(),
    objectId: text("object_id"),
    /** Ids and counts only. */
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
    ip: text("ip"),
    createdAt: createdAt(),
  },
  (t) => [
    // ORDER BY … DESC puts nulls first; an index in another null order cannot give the list its order.
    index("audit_log_account_created_idx").on(
      t.accountId,
      t.createdAt.desc().nullsFirst(),
      t.id.desc().nullsFirst(),
    ),
    index("audit_log_actor_idx").on(t.actorUserId),
  ],
);
