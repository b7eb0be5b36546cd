import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import {
  type CardPayment,
  createPendingPayment,
  createRefund,
  failPendingPayment,
  findPaymentById,
  isPaymentId,
  lockPayment,
  markPaymentFailed,
  markPaymentSucceeded,
  recordPaymentEvent,
  setPaymentExternalId,
  sumRefunds,
} from "../db/repositories/payments.repository.ts";
import { AppError, notFound } from "../errors/app-error.ts";
import type { Logger } from "../logging/logger.ts";
import { type Currency, Money } from "../money/money.ts";
import type {
  PaymentGateway,
  WebhookEvent,
  WebhookHandling,
  WebhookOutcome,
} from "../providers/payments/payment-gateway.ts";
import type { JobQueue } from "../queue/job-queue.ts";
import { creditTopUp, debitRefund } from "./top-up.ts";

/**
 * Top-up by card (PRODUCT.md, clause 7.2) and technical-error refunds (7.1.8, 7.2.5).
 *
 * Exactly-once credit: every notification is handled in one transaction that first locks the payment
 * row (SELECT … FOR UPDATE), so concurrent deliveries of the same payment run one after another and the
 * later ones see `succeeded`; the ledger's idempotency key `top_up:payment:<id>` is the second guard.
 */

/** Per payment, in the account's currency units (a card payment above it is refused). */
export const MAX_CARD_PAYMENT = "10000000";
/** Cards charge whole minor units (tiyn, kopecks, cents). */
const CARD_SCALE = 2;

// ---------------------------------------------------------------------------------------------------------
// Use cases

export interface StartCardPaymentDeps {
  db: Db;
  gateway: PaymentGateway;
  clock: () => Date;
  /** Where the payer's browser comes back to: `<publicUrl>/#/billing`. */
  publicUrl: string;
}

export interface StartedCardPayment {
  id: string;
  status: "pending";
  amount: Money;
  currency: Currency;
  redirectUrl: string;
}

/** Records a pending payment, registers it with the gateway and returns where the owner goes to pay. */
export async function startCardPayment(
  deps: StartCardPaymentDeps,
  input: { accountId: string; currency: Currency; amount: Money },
): Promise<StartedCardPayment> {
  assertCardAmount(input.amount, input.currency);
  const paymentId = await createPendingPayment(deps.db, {
    accountId: input.accountId,
    gateway: deps.gateway.name,
    amount: input.amount,
    createdAt: deps.clock(),
  });

  let created: { redirectUrl: string; externalId?: string };
  try {
    created = await deps.gateway.createPayment({
      paymentId,
      amount: input.amount,
      description: `Tyndau balance top-up, ${input.amount.toFixed(2)} ${input.currency}`,
      returnUrl: `${deps.publicUrl.replace(/\/$/, "")}/#/billing`,
      accountId: input.accountId,
    });
  } catch (error) {
    // The owner can start another payment; this one never reached a payment page.
    await failPendingPayment(deps.db, paymentId, {
      reason: "the gateway did not create the payment",
      completedAt: deps.clock(),
    });
    if (error instanceof AppError) throw error;
    throw new AppError("UNAVAILABLE", "The payment gateway is unavailable; try again shortly.", {
      retryable: true,
      cause: error,
    });
  }
  if (created.externalId) {
    await setPaymentExternalId(deps.db, paymentId, created.externalId);
  }
  return {
    id: paymentId,
    status: "pending",
    amount: input.amount,
    currency: input.currency,
    redirectUrl: created.redirectUrl,
  };
}

export interface PaymentWebhookDeps {
  db: Db;
  queue: Pick<JobQueue, "send">;
  clock: () => Date;
  logger: Logger;
}

/**
 * One delivery of a gateway notification.
 * - Bad signature → AppError UNAUTHENTICATED (401), malformed → VALIDATION_FAILED (400): nothing written.
 * - Unknown payment (or one created with another gateway) → the delivery is recorded with outcome
 *   `unknown_payment` and AppError NOT_FOUND (404) is thrown, NOT acknowledged: the gateway then keeps
 *   retrying and shows the failure in its dashboard. A card was possibly charged for a payment we do not
 *   know (a misrouted environment, a restored database): that must be loud, never silently "accepted".
 * - Amount or currency different from the payment → recorded as `mismatch`, nothing credited, AppError
 *   PAYMENT_MISMATCH (422).
 * - Otherwise the event is recorded with its outcome in the same transaction as its effect (see
 *   WebhookOutcome); repeats are acknowledged like the first delivery.
 */
export async function handlePaymentWebhook(
  deps: PaymentWebhookDeps,
  gateway: PaymentGateway,
  rawBody: Buffer,
  headers: Record<string, string | undefined>,
): Promise<WebhookHandling> {
  const event = gateway.parseWebhook(rawBody, headers);
  const log = deps.logger.child({ gateway: gateway.name, paymentId: event.paymentId });
  const known = await findPaymentById(deps.db, event.paymentId);
  if (!known || known.gateway !== gateway.name) {
    await recordPaymentEvent(deps.db, {
      paymentId: null,
      gateway: gateway.name,
      outcome: "unknown_payment",
      payload: eventPayload(event),
    });
    log.warn({ status: event.status }, "payment notification for an unknown payment");
    throw notFound("Payment");
  }

  const outcome = await deps.db.transaction(async (tx) => {
    const payment = await lockPayment(tx, known.id);
    if (!payment) throw notFound("Payment");
    const result = await applyEvent(tx, deps, payment, event);
    await recordPaymentEvent(tx, {
      paymentId: payment.id,
      gateway: gateway.name,
      outcome: result,
      payload: eventPayload(event),
    });
    return result;
  });

  const facts = { accountId: known.accountId, status: event.status, outcome };
  if (outcome === "mismatch") {
    log.warn(
      {
        ...facts,
        expected: known.amount.toJSON(),
        got: { amount: event.amount?.toDbString() ?? null, currency: event.currency },
      },
      "payment notification does not match the payment",
    );
    throw new AppError(
      "PAYMENT_MISMATCH",
      "The notification's amount or currency differs from the payment; nothing was credited.",
      { context: { paymentId: known.id } },
    );
  }
  if (outcome === "failure_after_success") {
    log.warn(facts, "failure reported after the payment succeeded; the credit stays");
  } else {
    log.info(facts, "payment notification handled");
  }
  return { paymentId: known.id, outcome };
}

async function applyEvent(
  tx: Db,
  deps: PaymentWebhookDeps,
  payment: CardPayment,
  event: WebhookEvent,
): Promise<WebhookOutcome> {
  const matches =
    event.amount !== undefined && event.currency === payment.currency && event.amount.equals(payment.amount);
  if (!matches) return "mismatch";
  const now = deps.clock();

  if (event.status === "succeeded") {
    if (payment.status === "succeeded") return "duplicate";
    // A decline is not final (the payer may try again on the same page): failed → succeeded is allowed.
    await markPaymentSucceeded(tx, payment.id, {
      completedAt: now,
      externalId: payment.externalId ?? event.externalId ?? null,
    });
    const credit = await creditTopUp(tx, deps.queue, {
      accountId: payment.accountId,
      amount: payment.amount,
      channel: "card",
      idempotencyKey: `top_up:payment:${payment.id}`,
      occurredAt: now,
      paymentId: payment.id,
    });
    return credit.created ? "credited" : "duplicate";
  }

  if (payment.status === "succeeded") return "failure_after_success";
  if (payment.status === "failed") return "duplicate_failure";
  const reason = typeof event.raw.Reason === "string" ? event.raw.Reason : "declined by the gateway";
  await markPaymentFailed(tx, payment.id, { reason: reason.slice(0, 200), completedAt: now });
  return "failed";
}

export interface RefundInput {
  paymentId: string;
  amount: Money;
  reason: string;
  staffUserId: string;
  /** The staff member's client address, for the audit entry. */
  staffIp?: string | null;
}

export interface RefundResult {
  id: string;
  paymentId: string;
  accountId: string;
  amount: Money;
  /** All refunds of this payment, this one included. */
  refundedTotal: Money;
  /** What may still be refunded of this payment. */
  refundable: Money;
  reason: string;
  createdAt: Date;
}

/**
 * A technical-error refund by staff (7.1.8, 7.2.5) as a compensating ledger transaction out of `main`.
 * The payment row is locked first, so two refunds of one payment are decided one after the other and
 * together never exceed it (REFUND_EXCEEDS_PAYMENT). If `main` is lower than the refund (the money was
 * spent), the database's non-negative check refuses it: CONFLICT, nothing written.
 * The audit entry `staff.payment_refund` and whatever `beforeCommit` writes (the route's Idempotency-Key
 * answer) commit in the same transaction as the money, or nothing does.
 */
export async function refundPayment(
  deps: { db: Db; clock: () => Date },
  input: RefundInput,
  options: { beforeCommit?: (tx: Db, refund: RefundResult) => Promise<void> } = {},
): Promise<RefundResult> {
  if (!input.amount.isPositive())
    throw new AppError("VALIDATION_FAILED", "A refund amount must be positive.");
  const reason = input.reason.trim();
  if (reason.length === 0) throw new AppError("VALIDATION_FAILED", "Give the reason of the refund.");
  try {
    return await deps.db.transaction(async (tx) => {
      const payment = isPaymentId(input.paymentId) ? await lockPayment(tx, input.paymentId) : undefined;
      if (!payment) throw notFound("Payment");
      if (payment.status !== "succeeded") {
        throw new AppError("CONFLICT", "Only a succeeded payment can be refunded.", {
          context: { paymentId: payment.id, status: payment.status },
        });
      }
      if (input.amount.currency !== payment.currency) {
        throw new AppError(
          "VALIDATION_FAILED",
          `The refund must be in ${payment.currency}, like the payment.`,
        );
      }
      const before = await sumRefunds(tx, payment.id, payment.currency);
      const after = before.plus(input.amount);
      if (after.compare(payment.amount) > 0) {
        const refundable = payment.amount.minus(before);
        throw new AppError(
          "REFUND_EXCEEDS_PAYMENT",
          `Refunds may not exceed the payment: at most ${refundable.toFixed(2)} ${payment.currency} is left to refund.`,
          {
            details: {
              paid: payment.amount.toFixed(2),
              refunded: before.toFixed(2),
              refundable: refundable.toFixed(2),
            },
          },
        );
      }
      const now = deps.clock();
      const row = await createRefund(tx, {
        accountId: payment.accountId,
        paymentId: payment.id,
        amount: input.amount,
        reason,
        staffUserId: input.staffUserId,
        createdAt: now,
      });
      await debitRefund(tx, {
        accountId: payment.accountId,
        amount: input.amount,
        refundId: row.id,
        occurredAt: now,
        paymentId: payment.id,
      });
      const refund: RefundResult = {
        id: row.id,
        paymentId: payment.id,
        accountId: payment.accountId,
        amount: input.amount,
        refundedTotal: after,
        refundable: payment.amount.minus(after),
        reason,
        createdAt: row.createdAt,
      };
      // In the money's transaction: the entry exists exactly when the refund does.
      await recordAudit(tx, {
        accountId: payment.accountId,
        actor: { userId: input.staffUserId, role: "staff", ip: input.staffIp ?? null },
        action: "staff.payment_refund",
        objectType: "payment",
        objectId: payment.id,
        details: { refundId: refund.id, amount: refund.amount.toFixed(2) },
      });
      await options.beforeCommit?.(tx, refund);
      return refund;
    });
  } catch (error) {
    if (isCheckViolation(error, "ledger_accounts_customer_nonnegative")) {
      throw new AppError(
        "CONFLICT",
        "The balance is lower than the refund: the money has already been spent.",
        {
          cause: error,
          context: { paymentId: input.paymentId },
        },
      );
    }
    throw error;
  }
}

/** What is kept of a notification: the gateway's fields and what we parsed from them. */
function eventPayload(event: WebhookEvent): Record<string, unknown> {
  return {
    ...event.raw,
    paymentId: event.paymentId,
    status: event.status,
    currency: event.currency,
    ...(event.externalId ? { externalId: event.externalId } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Rules

function assertCardAmount(amount: Money, currency: Currency): void {
  if (amount.currency !== currency) {
    throw new AppError("VALIDATION_FAILED", `Top up in the account's currency, ${currency}.`);
  }
  if (!amount.isPositive()) throw new AppError("VALIDATION_FAILED", "The amount must be greater than zero.");
  if (amount.compare(Money.of(MAX_CARD_PAYMENT, currency)) > 0) {
    throw new AppError("VALIDATION_FAILED", `A card payment may be at most ${MAX_CARD_PAYMENT} ${currency}.`);
  }
  if (!Money.of(amount.toFixed(CARD_SCALE), currency).equals(amount)) {
    throw new AppError("VALIDATION_FAILED", "A card payment has at most 2 decimal places.");
  }
}

/** That CHECK constraint's violation (SQLSTATE 23514), through drizzle's wrapping of driver errors. */
function isCheckViolation(error: unknown, constraint: string): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const candidate = e as { code?: unknown; constraint?: unknown; cause?: unknown };
    if (candidate.code === "23514")
      return candidate.constraint === undefined || candidate.constraint === constraint;
    e = candidate.cause;
  }
  return false;
}
