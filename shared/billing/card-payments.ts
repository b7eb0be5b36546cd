import { and, desc, eq, sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import { queryRows } from "../db/client.ts";
import { paymentEvents, payments, refunds } from "../db/schema/index.ts";
import { AppError, notFound } from "../errors/app-error.ts";
import type { Logger } from "../logging/logger.ts";
import { type Currency, Money, moneyFromDb } from "../money/money.ts";
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

export type PaymentStatus = (typeof payments.$inferSelect)["status"];

export interface CardPayment {
  id: string;
  accountId: string;
  gateway: string;
  status: PaymentStatus;
  amount: Money;
  currency: Currency;
  externalId: string | null;
  failureReason: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

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
  const [row] = await deps.db
    .insert(payments)
    .values({
      accountId: input.accountId,
      gateway: deps.gateway.name,
      status: "pending",
      amount: input.amount.toDbString(),
      currency: input.currency,
      createdAt: deps.clock(),
    })
    .returning({ id: payments.id });
  const paymentId = row!.id;

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
    await deps.db
      .update(payments)
      .set({
        status: "failed",
        failureReason: "the gateway did not create the payment",
        completedAt: deps.clock(),
      })
      .where(and(eq(payments.id, paymentId), eq(payments.status, "pending")));
    if (error instanceof AppError) throw error;
    throw new AppError("UNAVAILABLE", "The payment gateway is unavailable; try again shortly.", {
      retryable: true,
      cause: error,
    });
  }
  if (created.externalId) {
    await deps.db.update(payments).set({ externalId: created.externalId }).where(eq(payments.id, paymentId));
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
  const known = UUID.test(event.paymentId) ? await findPaymentById(deps.db, event.paymentId) : undefined;
  if (!known || known.gateway !== gateway.name) {
    await recordPaymentEvent(deps.db, {
      paymentId: null,
      gateway: gateway.name,
      outcome: "unknown_payment",
      event,
    });
    log.warn({ status: event.status }, "payment notification for an unknown payment");
    throw notFound("Payment");
  }

  const outcome = await deps.db.transaction(async (tx) => {
    const payment = await lockPayment(tx, known.id);
    if (!payment) throw notFound("Payment");
    const result = await applyEvent(tx, deps, payment, event);
    await recordPaymentEvent(tx, { paymentId: payment.id, gateway: gateway.name, outcome: result, event });
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
    await tx
      .update(payments)
      .set({
        status: "succeeded",
        completedAt: now,
        failureReason: null,
        externalId: payment.externalId ?? event.externalId ?? null,
      })
      .where(eq(payments.id, payment.id));
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
  await tx
    .update(payments)
    .set({ status: "failed", completedAt: now, failureReason: reason.slice(0, 200) })
    .where(eq(payments.id, payment.id));
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
      const payment = UUID.test(input.paymentId) ? await lockPayment(tx, input.paymentId) : undefined;
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
      const [row] = await tx
        .insert(refunds)
        .values({
          accountId: payment.accountId,
          paymentId: payment.id,
          amount: input.amount.toDbString(),
          currency: payment.currency,
          reason,
          staffUserId: input.staffUserId,
          createdAt: now,
        })
        .returning({ id: refunds.id, createdAt: refunds.createdAt });
      await debitRefund(tx, {
        accountId: payment.accountId,
        amount: input.amount,
        refundId: row!.id,
        occurredAt: now,
        paymentId: payment.id,
      });
      const refund: RefundResult = {
        id: row!.id,
        paymentId: payment.id,
        accountId: payment.accountId,
        amount: input.amount,
        refundedTotal: after,
        refundable: payment.amount.minus(after),
        reason,
        createdAt: row!.createdAt,
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

// ---------------------------------------------------------------------------------------------------------
// Queries (repository functions: `db` or a transaction; tenant reads scoped by account)

/** The account's card payments, newest first. */
export async function findPayments(
  db: Db,
  accountId: string,
  options: { limit?: number } = {},
): Promise<CardPayment[]> {
  const rows = await db
    .select()
    .from(payments)
    .where(eq(payments.accountId, accountId))
    .orderBy(desc(payments.createdAt), desc(payments.id))
    .limit(options.limit ?? 100);
  return rows.map(toCardPayment);
}

/**
 * A payment by id across accounts: only for callers that authenticate otherwise (a signed gateway
 * notification, the sandbox checkout page, staff).
 */
export async function findPaymentById(db: Db, paymentId: string): Promise<CardPayment | undefined> {
  if (!UUID.test(paymentId)) return undefined;
  const [row] = await db.select().from(payments).where(eq(payments.id, paymentId));
  return row ? toCardPayment(row) : undefined;
}

async function lockPayment(tx: Db, paymentId: string): Promise<CardPayment | undefined> {
  const [row] = await tx.select().from(payments).where(eq(payments.id, paymentId)).for("update");
  return row ? toCardPayment(row) : undefined;
}

async function sumRefunds(db: Db, paymentId: string, currency: Currency): Promise<Money> {
  const rows = await queryRows<{ total: string }>(
    db,
    sql`select coalesce(sum(${refunds.amount}), 0)::text as total from ${refunds} where ${refunds.paymentId} = ${paymentId}`,
  );
  return moneyFromDb(rows[0]?.total ?? "0", currency);
}

async function recordPaymentEvent(
  db: Db,
  input: {
    paymentId: string | null;
    gateway: string;
    outcome: WebhookOutcome | "unknown_payment";
    event: WebhookEvent;
  },
): Promise<void> {
  await db.insert(paymentEvents).values({
    paymentId: input.paymentId,
    gateway: input.gateway,
    outcome: input.outcome,
    payload: {
      ...input.event.raw,
      paymentId: input.event.paymentId,
      status: input.event.status,
      currency: input.event.currency,
      ...(input.event.externalId ? { externalId: input.event.externalId } : {}),
    },
  });
}

function toCardPayment(row: typeof payments.$inferSelect): CardPayment {
  const amount = moneyFromDb(row.amount, row.currency);
  return {
    id: row.id,
    accountId: row.accountId,
    gateway: row.gateway,
    status: row.status,
    amount,
    currency: amount.currency,
    externalId: row.externalId,
    failureReason: row.failureReason,
    createdAt: row.createdAt,
    completedAt: row.completedAt,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Rules

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
