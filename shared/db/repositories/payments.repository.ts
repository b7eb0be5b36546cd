import { and, desc, eq, sql } from "drizzle-orm";
import { type Currency, type Money, moneyFromDb } from "../../money/money.ts";
import type { Db } from "../client.ts";
import { queryRows } from "../client.ts";
import { paymentEvents, payments, refunds } from "../schema/index.ts";

/**
 * Card payments, their gateway notifications and their refunds. Amounts are Money here and
 * numeric(20,6) strings in the database; nothing else converts between the two.
 */

type PaymentRow = typeof payments.$inferSelect;

export type PaymentStatus = PaymentRow["status"];

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

/** A payment id from outside (a gateway, a URL) that is not a UUID names no payment: no query is made. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isPaymentId = (id: string) => UUID.test(id);

/** Records a pending payment in the amount's currency; returns its id. */
export async function createPendingPayment(
  db: Db,
  input: { accountId: string; gateway: string; amount: Money; createdAt: Date },
): Promise<string> {
  const [row] = await db
    .insert(payments)
    .values({
      accountId: input.accountId,
      gateway: input.gateway,
      status: "pending",
      amount: input.amount.toDbString(),
      currency: input.amount.currency,
      createdAt: input.createdAt,
    })
    .returning({ id: payments.id });
  return row!.id;
}

export async function setPaymentExternalId(db: Db, paymentId: string, externalId: string): Promise<void> {
  await db.update(payments).set({ externalId }).where(eq(payments.id, paymentId));
}

/** Fails the payment only while it is still pending (a notification may have decided it meanwhile). */
export async function failPendingPayment(
  db: Db,
  paymentId: string,
  input: { reason: string; completedAt: Date },
): Promise<void> {
  await db
    .update(payments)
    .set({ status: "failed", failureReason: input.reason, completedAt: input.completedAt })
    .where(and(eq(payments.id, paymentId), eq(payments.status, "pending")));
}

export async function markPaymentSucceeded(
  db: Db,
  paymentId: string,
  input: { completedAt: Date; externalId: string | null },
): Promise<void> {
  await db
    .update(payments)
    .set({
      status: "succeeded",
      completedAt: input.completedAt,
      failureReason: null,
      externalId: input.externalId,
    })
    .where(eq(payments.id, paymentId));
}

export async function markPaymentFailed(
  db: Db,
  paymentId: string,
  input: { reason: string; completedAt: Date },
): Promise<void> {
  await db
    .update(payments)
    .set({ status: "failed", completedAt: input.completedAt, failureReason: input.reason })
    .where(eq(payments.id, paymentId));
}

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
  if (!isPaymentId(paymentId)) return undefined;
  const [row] = await db.select().from(payments).where(eq(payments.id, paymentId));
  return row ? toCardPayment(row) : undefined;
}

/** The payment with its row locked FOR UPDATE until the caller's transaction ends. */
export async function lockPayment(tx: Db, paymentId: string): Promise<CardPayment | undefined> {
  const [row] = await tx.select().from(payments).where(eq(payments.id, paymentId)).for("update");
  return row ? toCardPayment(row) : undefined;
}

/** All refunds of the payment so far, in its currency. */
export async function sumRefunds(db: Db, paymentId: string, currency: Currency): Promise<Money> {
  const rows = await queryRows<{ total: string }>(
    db,
    sql`select coalesce(sum(${refunds.amount}), 0)::text as total from ${refunds} where ${refunds.paymentId} = ${paymentId}`,
  );
  return moneyFromDb(rows[0]?.total ?? "0", currency);
}

export async function createRefund(
  db: Db,
  input: {
    accountId: string;
    paymentId: string;
    amount: Money;
    reason: string;
    staffUserId: string;
    createdAt: Date;
  },
): Promise<{ id: string; createdAt: Date }> {
  const [row] = await db
    .insert(refunds)
    .values({
      accountId: input.accountId,
      paymentId: input.paymentId,
      amount: input.amount.toDbString(),
      currency: input.amount.currency,
      reason: input.reason,
      staffUserId: input.staffUserId,
      createdAt: input.createdAt,
    })
    .returning({ id: refunds.id, createdAt: refunds.createdAt });
  return row!;
}

/** One gateway notification as received, with the outcome it had. */
export async function recordPaymentEvent(
  db: Db,
  input: { paymentId: string | null; gateway: string; outcome: string; payload: Record<string, unknown> },
): Promise<void> {
  await db.insert(paymentEvents).values(input);
}

function toCardPayment(row: PaymentRow): CardPayment {
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
