import type { Db } from "../db/client.ts";
import {
  ensureLedgerAccount,
  loadCustomerLedger,
  postTransaction,
} from "../db/repositories/ledger.repository.ts";
import type { Money } from "../money/money.ts";
import { resumeAwaitingCallsJob } from "../queue/job-definitions.ts";
import type { JobQueue } from "../queue/job-queue.ts";

export interface TopUpInput {
  accountId: string;
  amount: Money;
  /** Which clearing account the money comes from: a card gateway or a bank transfer. */
  channel: "card" | "bank";
  /** Makes the credit exactly-once, e.g. `top_up:payment:<paymentId>` or `top_up:invoice:<invoiceId>`. */
  idempotencyKey: string;
  occurredAt: Date;
  paymentId?: string;
  invoiceId?: string;
}

/**
 * Credits `main` (clause 7.1.5: deposited money never expires) exactly once per idempotency key, inside
 * the caller's transaction, and enqueues the restart of calls waiting for funds in the same transaction.
 * Returns `created: false` when this key was credited before (a repeated webhook): nothing is written.
 */
export async function creditTopUp(
  tx: Db,
  queue: Pick<JobQueue, "send">,
  input: TopUpInput,
): Promise<{ created: boolean; transactionId: string }> {
  if (!input.amount.isPositive()) throw new Error("a top-up must be positive");
  const currency = input.amount.currency;
  const { ids } = await loadCustomerLedger(tx, input.accountId, currency, { lock: false });
  const clearing = await ensureLedgerAccount(
    tx,
    null,
    input.channel === "card" ? "card_clearing" : "bank_clearing",
    currency,
  );
  const result = await postTransaction(tx, {
    accountId: input.accountId,
    type: "top_up",
    idempotencyKey: input.idempotencyKey,
    occurredAt: input.occurredAt,
    paymentId: input.paymentId,
    invoiceId: input.invoiceId,
    memo: input.channel === "card" ? "Card top-up" : "Bank transfer",
    entries: [
      { ledgerAccountId: ids.main, amount: input.amount },
      { ledgerAccountId: clearing, amount: input.amount.negated() },
    ],
  });
  if (result.created) await queue.send(resumeAwaitingCallsJob, { accountId: input.accountId }, { tx });
  return result;
}

export interface RefundInput {
  accountId: string;
  amount: Money;
  /** The refund row's id: one ledger transaction per refund. */
  refundId: string;
  occurredAt: Date;
  paymentId?: string;
  invoiceId?: string;
}

/**
 * A technical-error refund (7.1.8, 7.2.5): moves money out of `main` to the `refunds` system account.
 * The caller checks the cap against the original payment; the database refuses a negative `main`.
 */
export async function debitRefund(tx: Db, input: RefundInput): Promise<void> {
  const currency = input.amount.currency;
  const { ids } = await loadCustomerLedger(tx, input.accountId, currency, { lock: true });
  const refunds = await ensureLedgerAccount(tx, null, "refunds", currency);
  await postTransaction(tx, {
    accountId: input.accountId,
    type: "refund",
    idempotencyKey: `refund:${input.refundId}`,
    occurredAt: input.occurredAt,
    paymentId: input.paymentId,
    invoiceId: input.invoiceId,
    memo: "Refund of a technical error",
    entries: [
      { ledgerAccountId: ids.main, amount: input.amount.negated() },
      { ledgerAccountId: refunds, amount: input.amount },
    ],
  });
}
