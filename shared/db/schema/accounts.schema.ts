import { sql } from "drizzle-orm";
import { boolean, check, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import {
  accountKinds,
  accountStatuses,
  invitationRoles,
  speechLanguages,
  userRoles,
} from "../../domain/accounts.ts";
import { createdAt, currencyCode, id, money, tstz } from "./columns.ts";

export const accounts = pgTable(
  "accounts",
  {
    id: id(),
    company: text("company").notNull(),
    /** ISO 4217; fixed at registration (PRODUCT.md Billing). */
    currency: currencyCode("currency").notNull(),
    status: text("status", { enum: accountStatuses }).notNull().default("active"),
    /**
     * `operator`: the service operator's own account, which holds the staff users (PRODUCT.md "Staff are
     * marked, not named": found by this mark, never by its company name). At most one (partial unique
     * index); registration always makes `customer`.
     */
    kind: text("kind", { enum: accountKinds }).notNull().default("customer"),
    retentionDays: integer("retention_days"),
    maskPersonalData: boolean("mask_personal_data").notNull().default(true),
    lowBalanceThreshold: money("low_balance_threshold"),
    speechLanguage: text("speech_language", { enum: speechLanguages }).notNull().default("auto"),
    /**
     * Speech-to-text provider names in fallback order (e.g. ["yandex", "openai"]); empty = the
     * server's default order (SPEECH_PROVIDERS).
     */
    speechProviders: jsonb("speech_providers").$type<string[]>().notNull().default([]),
    /**
     * Analysis providers tried, in order, when a template's own provider fails or is not configured;
     * empty = the server's default order.
     */
    analysisProviders: jsonb("analysis_providers").$type<string[]>().notNull().default([]),
    closedAt: tstz("closed_at"),
    deletionRequestedAt: tstz("deletion_requested_at"),
    /** When deletion-purge deletes the account (requested + grace period); null when none is pending. */
    deletionScheduledFor: tstz("deletion_scheduled_for"),
    /** Set while the owner blocks processing (data subject right): no new calls, queued ones wait. */
    processingBlockedAt: tstz("processing_blocked_at"),
    createdAt: createdAt(),
  },
  (t) => [
    check("accounts_currency_check", sql`${t.currency} in ('KZT','RUB','USD')`),
    check("accounts_speech_language_check", sql`${t.speechLanguage} in ('ru','kk','en','auto')`),
    check("accounts_speech_providers_array", sql`jsonb_typeof(${t.speechProviders}) = 'array'`),
    check("accounts_analysis_providers_array", sql`jsonb_typeof(${t.analysisProviders}) = 'array'`),
    check("accounts_kind_check", sql`${t.kind} in ('customer','operator')`),
    uniqueIndex("accounts_one_operator_key").on(t.kind).where(sql`${t.kind} = 'operator'`),
  ],
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
    role: text("role", { enum: userRoles }).notNull(),
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

/**
 * Failed sign-ins, counted per e-mail and per client address over a sliding window
 * (LOGIN_FAILURE_WINDOW_SEC). Kept in the database so every replica sees the same counts.
 */
export const loginFailures = pgTable(
  "login_failures",
  {
    id: id(),
    email: text("email").notNull(),
    ip: text("ip").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("login_failures_email_idx").on(t.email, t.createdAt),
    index("login_failures_ip_idx").on(t.ip, t.createdAt),
  ],
);

/**
 * Registrations per client address over a sliding window (REGISTER_WINDOW_SEC), the register throttle;
 * in the database so every replica sees the same counts. An attempt is written before it is checked,
 * so parallel attempts all count.
 */
export const registrationAttempts = pgTable(
  "registration_attempts",
  {
    id: id(),
    ip: text("ip").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("registration_attempts_ip_idx").on(t.ip, t.createdAt)],
);

/** Owner invitations: single-use, expiring; only the SHA-256 of the token is stored. */
export const invitations = pgTable(
  "invitations",
  {
    id: id(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: text("role", { enum: invitationRoles }).notNull(),
    tokenHash: text("token_hash").notNull(),
    invitedBy: uuid("invited_by"),
    createdAt: createdAt(),
    expiresAt: tstz("expires_at").notNull(),
    acceptedAt: tstz("accepted_at"),
    revokedAt: tstz("revoked_at"),
  },
  (t) => [
    uniqueIndex("invitations_token_hash_key").on(t.tokenHash),
    index("invitations_account_idx").on(t.accountId),
  ],
);
