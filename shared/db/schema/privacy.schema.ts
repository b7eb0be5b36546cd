import { index, jsonb, pgTable, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, tstz } from "./columns.ts";

/**
 * What deletion-purge deleted (PRODUCT.md Data lifecycle: a report kept without personal data): the
 * deleted account's id, when deletion was asked and done, and counts per kind. No foreign key: the
 * account is gone; the report outlives it, like the ledger.
 */
export const accountDeletions = pgTable(
  "account_deletions",
  {
    id: id(),
    accountId: uuid("account_id").notNull(),
    requestedAt: tstz("requested_at"),
    executedAt: tstz("executed_at").notNull(),
    /** Kind → number of rows or objects deleted, e.g. {"calls": 12, "storageObjects": 13}. */
    counts: jsonb("counts").$type<Record<string, number>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("account_deletions_account_idx").on(t.accountId)],
);
