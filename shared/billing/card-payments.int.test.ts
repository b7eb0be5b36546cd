import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/harness/test-database.ts";
import { queryRows } from "../db/client.ts";
import { createAccount } from "../db/repositories/accounts.repository.ts";
import {
  ensureLedgerAccount,
  findLedgerViolations,
  loadCustomerLedger,
  postTransaction,
  sumBalances,
} from "../db/repositories/ledger.repository.ts";
import { findPayments } from "../db/repositories/payments.repository.ts";
import { ledgerTransactions, paymentEvents, payments, refunds } from "../db/schema/index.ts";
import { httpStatusOf, isAppError } from "../errors/app-error.ts";
import { createLogger } from "../logging/logger.ts";
import { Money } from "../money/money.ts";
import type { WebhookHandling } from "../providers/payments/payment-gateway.ts";
import {
  createSandboxGateway,
  type SandboxNotification,
  signSandboxNotification,
} from "../providers/payments/sandbox-gateway.ts";
import { resumeAwaitingCallsJob } from "../queue/job-definitions.ts";
import { createJobQueue, type JobQueue } from "../queue/job-queue.ts";
import { hmacSha256Hex } from "../security/tokens.ts";
import { handlePaymentWebhook, refundPayment, startCardPayment } from "./card-payments.ts";

const SECRET = "card-payments-test-secret";
const PUBLIC_URL = "http://tyndau.test";
const kzt = (amount: string) => Money.of(amount, "KZT");

describe("card payments (sandbox gateway) on PostgreSQL", () => {
  let t: TestDatabase;
  let queue: JobQueue;
  const gateway = createSandboxGateway({ secret: SECRET, publicUrl: PUBLIC_URL });
  const logger = createLogger({ level: "silent" });
  const clock = () => new Date();
  const db = () => t.database.db;

  beforeAll(async () => {
    t = await createTestDatabase();
    queue = createJobQueue(t.database, logger);
    await queue.start();
    await queue.register(resumeAwaitingCallsJob);
  });
  afterAll(async () => {
    await queue?.stop(1000);
    await t?.drop();
  });

  const newAccount = () => createAccount(db(), { company: "Acme", currency: "KZT" });
  const start = (accountId: string, amount: string) =>
    startCardPayment(
      { db: db(), gateway, clock, publicUrl: PUBLIC_URL },
      { accountId, currency: "KZT", amount: kzt(amount) },
    );
  const deliver = (notification: SandboxNotification, secret = SECRET): Promise<WebhookHandling> => {
    const { rawBody, headers } = signSandboxNotification(secret, notification);
    return handlePaymentWebhook({ db: db(), queue, clock, logger }, gateway, rawBody, headers);
  };
  const succeeded = (paymentId: string, amount: string, currency = "KZT") =>
    deliver({ paymentId, status: "succeeded", amount, currency });
  const failed = (paymentId: string, amount: string) =>
    deliver({ paymentId, status: "failed", amount, currency: "KZT" });
  /** The HTTP status a rejected promise maps to (what the webhook route answers). */
  const statusOf = async (promise: Promise<unknown>): Promise<number | string> => {
    try {
      await promise;
      return 200;
    } catch (error) {
      return isAppError(error) ? httpStatusOf(error.code) : String(error);
    }
  };
  const errorCodeOf = async (promise: Promise<unknown>): Promise<string> => {
    try {
      await promise;
      return "none";
    } catch (error) {
      return isAppError(error) ? error.code : String(error);
    }
  };
  const main = async (accountId: string) => (await sumBalances(db(), accountId, "KZT")).main;
  const paymentRow = async (id: string) =>
    (await db().select().from(payments).where(eq(payments.id, id)))[0]!;
  const outcomes = async (paymentId: string) =>
    (
      await db()
        .select({ outcome: paymentEvents.outcome })
        .from(paymentEvents)
        .where(eq(paymentEvents.paymentId, paymentId))
    )
      .map((r) => r.outcome)
      .sort();
  const topUps = async (paymentId: string) =>
    (
      await db()
        .select({ id: ledgerTransactions.id })
        .from(ledgerTransactions)
        .where(and(eq(ledgerTransactions.paymentId, paymentId), eq(ledgerTransactions.type, "top_up")))
    ).length;
  /** Credits an account through a card payment of `amount`. */
  const paid = async (accountId: string, amount: string) => {
    const p = await start(accountId, amount);
    await succeeded(p.id, amount);
    return p;
  };

  it("starts a pending payment with the sandbox page as its redirect, and refuses bad amounts", async () => {
    const account = await newAccount();
    const p = await start(account.id, "1000.00");
    expect(p).toMatchObject({
      status: "pending",
      currency: "KZT",
      redirectUrl: `${PUBLIC_URL}/sandbox/pay/${p.id}`,
    });
    expect(p.amount.equals(kzt("1000"))).toBe(true);
    expect(await paymentRow(p.id)).toMatchObject({
      status: "pending",
      gateway: "sandbox",
      amount: "1000.000000",
    });
    expect((await start(account.id, "10000000.00")).status).toBe("pending");

    for (const bad of ["0", "0.00", "-5.00", "10000000.01", "1.005"]) {
      expect(await errorCodeOf(start(account.id, bad))).toBe("VALIDATION_FAILED");
    }
    const usd = startCardPayment(
      { db: db(), gateway, clock, publicUrl: PUBLIC_URL },
      { accountId: account.id, currency: "KZT", amount: Money.of("10.00", "USD") },
    );
    expect(await errorCodeOf(usd)).toBe("VALIDATION_FAILED");
    expect((await findPayments(db(), account.id)).length).toBe(2);
  });

  it("credits exactly once for 20 parallel deliveries of one success", async () => {
    const account = await newAccount();
    const p = await start(account.id, "1000.00");
    const jobsBefore = (await queue.counts(resumeAwaitingCallsJob.name)).created ?? 0;

    const results = await Promise.all(Array.from({ length: 20 }, () => succeeded(p.id, "1000.00")));

    expect(results.filter((r) => r.outcome === "credited")).toHaveLength(1);
    expect(results.filter((r) => r.outcome === "duplicate")).toHaveLength(19);
    expect((await main(account.id)).equals(kzt("1000.00"))).toBe(true);
    expect(await topUps(p.id)).toBe(1);
    expect(await paymentRow(p.id)).toMatchObject({ status: "succeeded" });
    expect((await outcomes(p.id)).length).toBe(20);
    // Calls waiting for funds are resumed once, by the credit's own transaction.
    expect(((await queue.counts(resumeAwaitingCallsJob.name)).created ?? 0) - jobsBefore).toBe(1);
    expect(await findLedgerViolations(db())).toEqual([]);
  });

  it("refuses a bad signature with 401 and writes nothing", async () => {
    const account = await newAccount();
    const p = await start(account.id, "1000.00");
    const notification: SandboxNotification = {
      paymentId: p.id,
      status: "succeeded",
      amount: "1000.00",
      currency: "KZT",
    };

    expect(await statusOf(deliver(notification, "another-secret"))).toBe(401);
    const { rawBody } = signSandboxNotification(SECRET, notification);
    const noSignature = handlePaymentWebhook({ db: db(), queue, clock, logger }, gateway, rawBody, {});
    expect(await statusOf(noSignature)).toBe(401);
    // Signed, then altered on the way.
    const signed = signSandboxNotification(SECRET, { ...notification, amount: "1.00" });
    const altered = Buffer.from(signed.rawBody.toString("utf8").replace('"1.00"', '"1000.00"'));
    expect(
      await statusOf(
        handlePaymentWebhook({ db: db(), queue, clock, logger }, gateway, altered, signed.headers),
      ),
    ).toBe(401);

    expect(await outcomes(p.id)).toEqual([]);
    expect(await paymentRow(p.id)).toMatchObject({ status: "pending" });
    expect((await main(account.id)).isZero()).toBe(true);
  });

  it("refuses a malformed notification with 400, a JSON-number amount included", async () => {
    const account = await newAccount();
    const p = await start(account.id, "1000.00");
    const body = Buffer.from(
      JSON.stringify({ paymentId: p.id, status: "succeeded", amount: 1000, currency: "KZT" }),
    );
    const headers = { "content-type": "application/json", "x-signature": hmacSha256Hex(SECRET, body) };
    expect(
      await statusOf(handlePaymentWebhook({ db: db(), queue, clock, logger }, gateway, body, headers)),
    ).toBe(400);
    expect(await outcomes(p.id)).toEqual([]);
  });

  it("answers 422 for a different amount or currency, and credits nothing", async () => {
    const account = await newAccount();
    const p = await start(account.id, "1000.00");

    expect(await errorCodeOf(succeeded(p.id, "1000.01"))).toBe("PAYMENT_MISMATCH");
    expect(await statusOf(succeeded(p.id, "999.99"))).toBe(422);
    expect(await statusOf(succeeded(p.id, "1000.00", "USD"))).toBe(422);
    expect(await statusOf(succeeded(p.id, "1000.00", "EUR"))).toBe(422);

    expect((await main(account.id)).isZero()).toBe(true);
    expect(await topUps(p.id)).toBe(0);
    expect(await paymentRow(p.id)).toMatchObject({ status: "pending" });
    expect(await outcomes(p.id)).toEqual(["mismatch", "mismatch", "mismatch", "mismatch"]);

    // The right notification still credits afterwards; the same value written differently is the same amount.
    expect((await succeeded(p.id, "1000")).outcome).toBe("credited");
    expect((await main(account.id)).equals(kzt("1000"))).toBe(true);
  });

  it("credits a success that follows a failure", async () => {
    const account = await newAccount();
    const p = await start(account.id, "750.00");

    expect((await failed(p.id, "750.00")).outcome).toBe("failed");
    expect(await paymentRow(p.id)).toMatchObject({ status: "failed" });
    expect((await failed(p.id, "750.00")).outcome).toBe("duplicate_failure");
    expect((await main(account.id)).isZero()).toBe(true);

    expect((await succeeded(p.id, "750.00")).outcome).toBe("credited");
    expect(await paymentRow(p.id)).toMatchObject({ status: "succeeded", failureReason: null });
    expect((await main(account.id)).equals(kzt("750"))).toBe(true);
  });

  it("keeps the credit when a failure arrives after the success", async () => {
    const account = await newAccount();
    const p = await start(account.id, "300.00");

    expect((await succeeded(p.id, "300.00")).outcome).toBe("credited");
    expect((await failed(p.id, "300.00")).outcome).toBe("failure_after_success");

    expect(await paymentRow(p.id)).toMatchObject({ status: "succeeded" });
    expect((await main(account.id)).equals(kzt("300"))).toBe(true);
    expect(await topUps(p.id)).toBe(1);
    expect(await outcomes(p.id)).toEqual(["credited", "failure_after_success"]);
  });

  it("keeps decimal amounts exact: 0.10 + 0.20 is 0.30", async () => {
    const account = await newAccount();
    await paid(account.id, "0.10");
    await paid(account.id, "0.20");
    expect((await main(account.id)).equals(kzt("0.30"))).toBe(true);
    const exact = await start(account.id, "0.30");
    expect((await succeeded(exact.id, "0.3")).outcome).toBe("credited");
    expect((await main(account.id)).toDbString()).toBe("0.600000");
    expect(await paymentRow(exact.id)).toMatchObject({ amount: "0.300000" });
  });

  it("answers 404 for an unknown payment or one of another gateway, and records the delivery", async () => {
    const unknownId = crypto.randomUUID();
    expect(await errorCodeOf(succeeded(unknownId, "10.00"))).toBe("NOT_FOUND");
    expect(await errorCodeOf(succeeded("not-a-uuid", "10.00"))).toBe("NOT_FOUND");
    const recorded = await queryRows<{ n: number }>(
      db(),
      sql`select count(*)::int as n from payment_events where payment_id is null and outcome = 'unknown_payment' and payload->>'paymentId' = ${unknownId}`,
    );
    expect(recorded[0]?.n).toBe(1);

    const account = await newAccount();
    const other = createSandboxGateway({ secret: SECRET, publicUrl: PUBLIC_URL });
    const p = await startCardPayment(
      { db: db(), gateway: { ...other, name: "cloudpayments" }, clock, publicUrl: PUBLIC_URL },
      { accountId: account.id, currency: "KZT", amount: kzt("10.00") },
    );
    expect(await statusOf(succeeded(p.id, "10.00"))).toBe(404);
    expect((await main(account.id)).isZero()).toBe(true);
  });

  it("lists payments per account only", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const p = await start(a.id, "5.00");
    expect((await findPayments(db(), a.id)).map((x) => x.id)).toEqual([p.id]);
    expect(await findPayments(db(), b.id)).toEqual([]);
  });

  describe("refunds", () => {
    const staffUserId = crypto.randomUUID();
    const refund = (paymentId: string, amount: string) =>
      refundPayment(
        { db: db(), clock },
        { paymentId, amount: kzt(amount), reason: "double charge", staffUserId },
      );
    const refundRows = async (paymentId: string) =>
      db().select().from(refunds).where(eq(refunds.paymentId, paymentId));

    it("never refunds more than the payment in total", async () => {
      const account = await newAccount();
      const p = await paid(account.id, "1000.00");

      expect(await errorCodeOf(refund(p.id, "1000.01"))).toBe("REFUND_EXCEEDS_PAYMENT");
      expect(await refundRows(p.id)).toEqual([]);

      const first = await refund(p.id, "400.00");
      expect(first.refundedTotal.equals(kzt("400"))).toBe(true);
      expect(first.refundable.equals(kzt("600"))).toBe(true);
      expect(await errorCodeOf(refund(p.id, "600.01"))).toBe("REFUND_EXCEEDS_PAYMENT");
      await refund(p.id, "600.00");
      expect(await statusOf(refund(p.id, "0.01"))).toBe(409);

      expect((await refundRows(p.id)).length).toBe(2);
      expect((await main(account.id)).isZero()).toBe(true);
      expect(await findLedgerViolations(db())).toEqual([]);
    });

    it("lets only one of two parallel refunds through when together they exceed the payment", async () => {
      const account = await newAccount();
      const p = await paid(account.id, "1000.00");

      const results = await Promise.allSettled([refund(p.id, "700.00"), refund(p.id, "700.00")]);

      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const rejected = results.filter((r) => r.status === "rejected");
      expect(rejected).toHaveLength(1);
      expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({ code: "REFUND_EXCEEDS_PAYMENT" });
      expect((await refundRows(p.id)).length).toBe(1);
      expect((await main(account.id)).equals(kzt("300"))).toBe(true);
      expect(await findLedgerViolations(db())).toEqual([]);
    });

    it("refuses a refund larger than the money left on main, and writes nothing", async () => {
      const account = await newAccount();
      const p = await paid(account.id, "1000.00");
      // 800 of it spent on calls.
      const { ids } = await loadCustomerLedger(db(), account.id, "KZT", { lock: false });
      const revenue = await ensureLedgerAccount(db(), null, "revenue", "KZT");
      await postTransaction(db(), {
        accountId: account.id,
        type: "charge",
        idempotencyKey: `test-spend:${account.id}`,
        occurredAt: new Date(),
        entries: [
          { ledgerAccountId: ids.main, amount: kzt("-800.00") },
          { ledgerAccountId: revenue, amount: kzt("800.00") },
        ],
      });

      const attempt = refund(p.id, "500.00");
      await expect(attempt).rejects.toMatchObject({ code: "CONFLICT" });
      await expect(attempt).rejects.toThrow(/balance is lower than the refund/);
      expect(await refundRows(p.id)).toEqual([]);
      expect((await main(account.id)).equals(kzt("200"))).toBe(true);

      // What is left can still be refunded.
      await refund(p.id, "200.00");
      expect((await main(account.id)).isZero()).toBe(true);
      expect(await findLedgerViolations(db())).toEqual([]);
    });

    it("refunds only succeeded payments, and only existing ones", async () => {
      const account = await newAccount();
      const pending = await start(account.id, "100.00");
      expect(await errorCodeOf(refund(pending.id, "10.00"))).toBe("CONFLICT");
      expect(await errorCodeOf(refund(crypto.randomUUID(), "10.00"))).toBe("NOT_FOUND");
      const p = await paid(account.id, "100.00");
      expect(await errorCodeOf(refund(p.id, "0"))).toBe("VALIDATION_FAILED");
    });
  });
});
