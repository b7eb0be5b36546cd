import { index, pgTable, uuid } from "drizzle-orm/pg-core";
import { accounts } from "./accounts.schema.ts";
import { createdAt, id, tstz } from "./columns.ts";

/**
 * Recording-URL downloads in progress, one row each, so the per-account limit on concurrent downloads
 * holds across API replicas. A row is deleted when its download ends; `expires_at` frees the slot of a
 * replica that died mid-download.
 */
export const downloadSlots = pgTable(
  "download_slots",
  {
    id: id(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    expiresAt: tstz("expires_at").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("download_slots_account_idx").on(t.accountId, t.expiresAt)],
);
