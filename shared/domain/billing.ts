/**
 * Billing (PRODUCT.md "Billing"): the kinds of ledger accounts and movements, and the states of card
 * payments, bank invoices and a call's cost. Amounts and currencies are `Money` (shared/money).
 */

/**
 * Each customer account owns one ledger account per customer kind (main, bonus and their holds);
 * system ledger accounts (no customer) are the other side of every movement.
 */
export const ledgerAccountKinds = [
  "main",
  "bonus",
  "hold_main",
  "hold_bonus",
  "revenue",
  "bonus_spent",
  "bonus_issued",
  "bonus_expired",
  "card_clearing",
  "bank_clearing",
  "refunds",
] as const;
export type LedgerAccountKind = (typeof ledgerAccountKinds)[number];

export const ledgerTransactionTypes = [
  "bonus_grant",
  "top_up",
  "hold",
  "charge",
  "release",
  "bonus_void",
  "refund",
] as const;
export type LedgerTransactionType = (typeof ledgerTransactionTypes)[number];

/** A call's reserved cost ends exactly once: charged when the call is done, released when it fails. */
export const callCostStatuses = ["reserved", "charged", "released"] as const;
export type CallCostStatus = (typeof callCostStatuses)[number];

export const paymentStatuses = ["pending", "succeeded", "failed"] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

export const invoiceStatuses = ["issued", "paid", "expired"] as const;
export type InvoiceStatus = (typeof invoiceStatuses)[number];

/** A bank payment staff reported against an invoice: credited, or refused and to be returned. */
export const invoicePaymentOutcomes = ["credited", "refused_expired", "refused_mismatch"] as const;
export type InvoicePaymentOutcome = (typeof invoicePaymentOutcomes)[number];
