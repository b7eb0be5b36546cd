import { sql } from "drizzle-orm";
import {
  bigserial,
  check,
  index,
  integer,
  pgTable,
  text,
  unique,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import type { LedgerAccountKind, LedgerTransactionType } from "../../domain/billing.ts";
import { createdAt, currencyCode, id, money, tstz } from "./columns.ts";

/**
 * Double-entry books. Each customer account owns one ledger account per kind (main, bonus, hold);
 * system ledger accounts (account_id null) are the other side of every movement. A triggers migration
 * makes entries and transactions append-only and refuses a transaction whose entries do not sum to 0.
 */
export const ledgerAccounts = pgTable(
  "ledger_accounts",
  {
    id: id(),
    /** The customer account; null for the service's own (system) ledger accounts. No FK: books outlive accounts. */
    accountId: uuid("account_id"),
    kind: text("kind").$type<LedgerAccountKind>().notNull(),
    currency: currencyCode("currency").notNull(),
    /**
     * Cached sum of a customer ledger account's entries, maintained by a trigger on ledger_entries
     * (system accounts keep 0 here: their balance is the sum of entries). The UPDATE it makes locks the
     * row (serialising postings per ledger account) and the CHECK refuses any customer balance below
     * zero, so no code path can overspend.
     */
    balance: money("balance").notNull().default("0"),
    createdAt: createdAt(),
  },
  (t) => [
    check("ledger_accounts_customer_nonnegative", sql`${t.accountId} is null or ${t.balance} >= 0`),
    unique("ledger_accounts_owner_kind_key").on(t.accountId, t.kind, t.currency).nullsNotDistinct(),
  ],
);

export const ledgerTransactions = pgTable(
  "ledger_transactions",
  {
    id: id(),
    /** Customer account the transaction concerns; plain uuid (kept for accounting after deletion). */
    accountId: uuid("account_id"),
    type: text("type").$type<LedgerTransactionType>().notNull(),
    /** Makes every money movement exactly-once: e.g. `bonus_grant:<accountId>`, `charge:<callId>`. */
    idempotencyKey: text("idempotency_key").notNull(),
    callId: uuid("call_id"),
    paymentId: uuid("payment_id"),
    invoiceId: uuid("invoice_id"),
    memo: text("memo"),
    /** Business time of the movement (may differ from insertion time in jobs run with --now). */
    occurredAt: tstz("occurred_at").notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("ledger_transactions_idempotency_key").on(t.idempotencyKey),
    // In the ledger list's order (ORDER BY … DESC = nulls first), so pages read the index in order.
    index("ledger_transactions_account_idx").on(
      t.accountId,
      t.occurredAt.desc().nullsFirst(),
      t.id.desc().nullsFirst(),
    ),
    // A call's hold ends exactly once: settled into a charge or released, never both.
    uniqueIndex("ledger_transactions_call_outcome_key")
      .on(t.callId)
      .where(sql`${t.type} in ('charge', 'release')`),
    uniqueIndex("ledger_transactions_call_hold_key").on(t.callId).where(sql`${t.type} = 'hold'`),
  ],
);

export const ledgerEntries = pgTable(
  "ledger_entries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    transactionId: uuid("transaction_id")
      .notNull()
      .references(() => ledgerTransactions.id),
    ledgerAccountId: uuid("ledger_account_id")
      .notNull()
      .references(() => ledgerAccounts.id),
    /** Signed: positive increases the ledger account's balance. */
    amount: money("amount").notNull(),
    currency: currencyCode("currency").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("ledger_entries_transaction_idx").on(t.transactionId),
    index("ledger_entries_ledger_account_idx").on(t.ledgerAccountId),
    check("ledger_entries_nonzero", sql`${t.amount} <> 0`),
  ],
);

/** Versioned price list per currency; a call is billed at the version in force when it is charged. */
export const tariffs = pgTable(
  "tariffs",
  {
    id: id(),
    currency: currencyCode("currency").notNull(),
    version: integer("version").notNull(),
    transcriptionPerMinute: money("transcription_per_minute").notNull(),
    templateBasePerMinute: money("template_base_per_minute").notNull(),
    perQuestionPerMinute: money("per_question_per_minute").notNull(),
    welcomeBonus: money("welcome_bonus").notNull(),
    effectiveFrom: tstz("effective_from").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("tariffs_currency_version_key").on(t.currency, t.version)],
);
