import { sql } from "drizzle-orm";
import { boolean, check, index, integer, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, money, tstz } from "./columns.ts";

export const accounts = pgTable(
  "accounts",
  {
    id: id(),
    company: text("company").notNull(),
    /** ISO 4217; fixed at registration (PRODUCT.md Billing). */
    currency: text("currency").notNull(),
    status: text("status", { enum: ["active", "blocked", "closed"] })
      .notNull()
      .default("active"),
    retentionDays: integer("retention_days"),
    maskPersonalData: boolean("mask_personal_data").notNull().default(true),
    lowBalanceThreshold: money("low_balance_threshold"),
    closedAt: tstz("closed_at"),
    deletionRequestedAt: tstz("deletion_requested_at"),
    createdAt: createdAt(),
  },
  (t) => [check("accounts_currency_check", sql`${t.currency} in ('KZT','RUB','USD')`)],
);

export const users = pgTable(
  "users",
  {
    id: id(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    /** Stored lower-cased; unique across the service (one login per e-mail). */
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: text("role", { enum: ["owner", "manager", "staff"] }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("users_email_key").on(t.email), index("users_account_idx").on(t.accountId)],
);

/** Opaque bearer tokens; only their SHA-256 is stored. */
export const sessions = pgTable(
  "sessions",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull(),
    createdAt: createdAt(),
    expiresAt: tstz("expires_at").notNull(),
    revokedAt: tstz("revoked_at"),
  },
  (t) => [uniqueIndex("sessions_token_hash_key").on(t.tokenHash), index("sessions_user_idx").on(t.userId)],
);
