import { sql } from "drizzle-orm";
import { check, index, integer, jsonb, pgTable, text, unique, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { invoicePaymentOutcomes, invoiceStatuses, paymentStatuses } from "../../domain/billing.ts";
import { accounts } from "./accounts.schema.ts";
import { createdAt, currencyCode, id, money, tstz } from "./columns.ts";

/** Card top-ups through a payment gateway (PRODUCT.md 7.2). One row per payment the owner starts. */
export const payments = pgTable(
  "payments",
  {
    id: id(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    /** "sandbox", "cloudpayments", … */
    gateway: text("gateway").notNull(),
    status: text("status", { enum: paymentStatuses }).notNull().default("pending"),
    amount: money("amount").notNull(),
    currency: currencyCode("currency").notNull(),
    /** The gateway's own id of the transaction, once it told us. */
    externalId: text("external_id"),
    failureReason: text("failure_reason"),
    createdAt: createdAt(),
    completedAt: tstz("completed_at"),
  },
  (t) => [
    // The list's order (created_at DESC, id DESC; nulls first as DESC means).
    index("payments_account_idx").on(t.accountId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    uniqueIndex("payments_gateway_external_key")
      .on(t.gateway, t.externalId)
      .where(sql`${t.externalId} is not null`),
    check("payments_amount_positive", sql`${t.amount} > 0`),
  ],
);

/** Every webhook delivery as received (after its signature was checked), for audit and replays. */
export const paymentEvents = pgTable(
  "payment_events",
  {
    id: id(),
    paymentId: uuid("payment_id").references(() => payments.id, { onDelete: "set null" }),
    gateway: text("gateway").notNull(),
    outcome: text("outcome").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("payment_events_payment_idx").on(t.paymentId)],
);

/** Bank-transfer invoices (7.3): gap-free numbers per calendar year. */
export const invoices = pgTable(
  "invoices",
  {
    id: id(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    year: integer("year").notNull(),
    seq: integer("seq").notNull(),
    /** Display number, e.g. "2026-000123". */
    number: text("number").notNull(),
    status: text("status", { enum: invoiceStatuses }).notNull().default("issued"),
    amount: money("amount").notNull(),
    currency: currencyCode("currency").notNull(),
    payerName: text("payer_name").notNull(),
    payerBin: text("payer_bin").notNull(),
    payerAddress: text("payer_address").notNull(),
    /** End of the 5th Kazakhstan working day (Astana time); a payment after it is refused. */
    validUntil: tstz("valid_until").notNull(),
    pdfKey: text("pdf_key"),
    paidAt: tstz("paid_at"),
    createdAt: createdAt(),
  },
  (t) => [
    unique("invoices_year_seq_key").on(t.year, t.seq),
    // The list's order (created_at DESC, id DESC; nulls first as DESC means).
    index("invoices_account_idx").on(t.accountId, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    check("invoices_amount_positive", sql`${t.amount} > 0`),
  ],
);

/** The last number used per year; the row lock on it is what makes numbering gap-free under concurrency. */
export const invoiceCounters = pgTable("invoice_counters", {
  year: integer("year").primaryKey(),
  lastSeq: integer("last_seq").notNull(),
});

/** Bank payments staff reported against invoices: credited, or refused (expired) and to be returned. */
export const invoicePayments = pgTable(
  "invoice_payments",
  {
    id: id(),
    invoiceId: uuid("invoice_id")
      .notNull()
      .references(() => invoices.id, { onDelete: "cascade" }),
    amount: money("amount").notNull(),
    paidAt: tstz("paid_at").notNull(),
    outcome: text("outcome", { enum: invoicePaymentOutcomes }).notNull(),
    staffUserId: uuid("staff_user_id"),
    createdAt: createdAt(),
  },
  (t) => [index("invoice_payments_invoice_idx").on(t.invoiceId)],
);

/** Technical-error refunds by staff (7.1.8, 7.2.5); never more than the original payment in total. */
export const refunds = pgTable(
  "refunds",
  {
    id: id(),
    accountId: uuid("account_id").notNull(),
    paymentId: uuid("payment_id").references(() => payments.id, { onDelete: "set null" }),
    invoiceId: uuid("invoice_id").references(() => invoices.id, { onDelete: "set null" }),
    amount: money("amount").notNull(),
    currency: currencyCode("currency").notNull(),
    reason: text("reason").notNull(),
    staffUserId: uuid("staff_user_id"),
    createdAt: createdAt(),
  },
  (t) => [
    index("refunds_payment_idx").on(t.paymentId),
    check("refunds_amount_positive", sql`${t.amount} > 0`),
  ],
);

/** E-mails sent, each once per dedupe key (e.g. one low-balance warning per crossing). */
export const notifications = pgTable(
  "notifications",
  {
    id: id(),
    accountId: uuid("account_id").notNull(),
    kind: text("kind").notNull(),
    dedupeKey: text("dedupe_key").notNull(),
    recipients: jsonb("recipients").$type<string[]>().notNull(),
    status: text("status", { enum: ["pending", "sent", "failed"] })
      .notNull()
      .default("pending"),
    createdAt: createdAt(),
    sentAt: tstz("sent_at"),
  },
  (t) => [
    uniqueIndex("notifications_dedupe_key").on(t.dedupeKey),
    index("notifications_account_idx").on(t.accountId),
  ],
);
