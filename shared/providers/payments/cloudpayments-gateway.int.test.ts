import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CloudPaymentsEmulator,
  startCloudPaymentsEmulator,
} from "../../../test/harness/cloudpayments-emulator.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/harness/test-database.ts";
import { handlePaymentWebhook, startCardPayment } from "../../billing/card-payments.ts";
import { createAccount } from "../../db/repositories/accounts.repository.ts";
import { findLedgerViolations, sumBalances } from "../../db/repositories/ledger.repository.ts";
import { findPaymentById } from "../../db/repositories/payments.repository.ts";
import { AppError, httpStatusOf, isAppError } from "../../errors/app-error.ts";
import { createLogger } from "../../logging/logger.ts";
import { Money } from "../../money/money.ts";
import { resumeAwaitingCallsJob } from "../../queue/job-definitions.ts";
import { createJobQueue, type JobQueue } from "../../queue/job-queue.ts";
import { createCloudPaymentsGateway } from "./cloudpayments-gateway.ts";
import { createPaymentGateways } from "./create-payment-gateways.ts";
import type { PaymentGateway, WebhookEvent, WebhookHandling } from "./payment-gateway.ts";

/** A merchant endpoint: the raw body and headers go to `handle`; AppErrors become their HTTP status. */
async function startReceiver(
  handle: (
    rawBody: Buffer,
    headers: Record<string, string | undefined>,
  ) => Promise<{ status: number; body: unknown }>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
      let status: number;
      let body: unknown;
      try {
        ({ status, body } = await handle(Buffer.concat(chunks), headers));
      } catch (error) {
        status = isAppError(error) ? httpStatusOf(error.code) : 500;
        body = { error: { code: isAppError(error) ? error.code : "INTERNAL" } };
      }
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/webhooks/payments/cloudpayments`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("CloudPayments gateway against the emulator", () => {
  let emulator: CloudPaymentsEmulator;
  let gateway: PaymentGateway;
  let parsed: WebhookEvent[];
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    emulator = await startCloudPaymentsEmulator();
    gateway = createCloudPaymentsGateway({
      publicId: emulator.publicId,
      apiSecret: emulator.apiSecret,
      apiBaseUrl: emulator.baseUrl,
    });
    parsed = [];
    receiver = await startReceiver(async (rawBody, headers) => {
      const event = gateway.parseWebhook(rawBody, headers);
      parsed.push(event);
      return gateway.acknowledge({ paymentId: event.paymentId, outcome: "credited" });
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await emulator?.close();
  });

  it("creates an order with Basic auth and the documented JSON, and returns the emulator's payment URL", async () => {
    const paymentId = crypto.randomUUID();
    const accountId = crypto.randomUUID();
    const before = emulator.requests.length;
    const created = await gateway.createPayment({
      paymentId,
      accountId,
      amount: Money.of("1000.5", "KZT"),
      description: "Tyndau balance top-up",
      returnUrl: "http://tyndau.test/#/billing",
    });

    const request = emulator.requests[before]!;
    expect(request.path).toBe("/orders/create");
    expect(request.authorization).toBe(
      `Basic ${Buffer.from(`${emulator.publicId}:${emulator.apiSecret}`).toString("base64")}`,
    );
    expect(request.contentType).toContain("application/json");
    expect(request.requestId).toBe(paymentId);
    // The amount's JSON text is written from the decimal: two decimals, no float artefacts.
    expect(request.rawBody).toContain('"Amount":1000.50,');
    expect(JSON.parse(request.rawBody)).toMatchObject({
      Currency: "KZT",
      Description: "Tyndau balance top-up",
      InvoiceId: paymentId,
      AccountId: accountId,
      RequireConfirmation: false,
      SuccessRedirectUrl: "http://tyndau.test/#/billing",
    });

    const order = [...emulator.orders.values()].find((o) => o.InvoiceId === paymentId)!;
    expect(created).toEqual({ redirectUrl: `${emulator.baseUrl}/d/${order.Id}`, externalId: order.Id });
    const page = await fetch(created.redirectUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("1000.50 KZT");
  });

  it("turns refused credentials into UNAVAILABLE", async () => {
    const wrong = createCloudPaymentsGateway({
      publicId: emulator.publicId,
      apiSecret: "not-the-secret",
      apiBaseUrl: emulator.baseUrl,
    });
    const attempt = wrong.createPayment({
      paymentId: crypto.randomUUID(),
      amount: Money.of("10.00", "KZT"),
      description: "x",
      returnUrl: "http://tyndau.test/#/billing",
    });
    await expect(attempt).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });

  it("parses a correctly signed Pay notification to succeeded with the exact amount, and answers {code:0}", async () => {
    const invoiceId = crypto.randomUUID();
    const reply = await emulator.deliver(
      "Pay",
      { invoiceId, amount: "1000.10", currency: "KZT" },
      receiver.url,
    );
    expect(reply).toMatchObject({ status: 200, body: { code: 0 } });
    const event = parsed.at(-1)!;
    expect(event).toMatchObject({ paymentId: invoiceId, status: "succeeded", currency: "KZT" });
    expect(event.amount?.equals(Money.of("1000.10", "KZT"))).toBe(true);
    expect(event.externalId).toMatch(/^\d+$/);
    // Card and payer data are not kept.
    expect(event.raw).not.toHaveProperty("CardFirstSix");
    expect(event.raw).not.toHaveProperty("Email");
    expect(event.raw).toMatchObject({ Amount: "1000.10", InvoiceId: invoiceId, Status: "Completed" });
  });

  it("refuses a tampered notification with UNAUTHENTICATED", async () => {
    const count = parsed.length;
    const reply = await emulator.deliver(
      "Pay",
      { invoiceId: crypto.randomUUID(), amount: "1000.00", currency: "KZT" },
      receiver.url,
      { tamper: true },
    );
    expect(reply).toMatchObject({ status: 401, body: { error: { code: "UNAUTHENTICATED" } } });
    expect(parsed.length).toBe(count);
    expect(() =>
      gateway.parseWebhook(Buffer.from("InvoiceId=x&Amount=1&Currency=KZT&Status=Completed"), {}),
    ).toThrow(AppError);
  });

  it("parses a Fail notification to failed", async () => {
    const invoiceId = crypto.randomUUID();
    const reply = await emulator.deliver(
      "Fail",
      { invoiceId, amount: "500.00", currency: "KZT" },
      receiver.url,
    );
    expect(reply).toMatchObject({ status: 200, body: { code: 0 } });
    expect(parsed.at(-1)).toMatchObject({
      paymentId: invoiceId,
      status: "failed",
      raw: { Reason: "InsufficientFunds", ReasonCode: "5051" },
    });
  });

  it("reads JSON notifications' numbers from their text, beyond float precision", async () => {
    const invoiceId = crypto.randomUUID();
    // 99999999999999.99 is not representable as a double (it reads back as …99.98).
    const reply = await emulator.deliver(
      "Pay",
      { invoiceId, amount: "99999999999999.99", currency: "KZT" },
      receiver.url,
      { format: "json" },
    );
    expect(reply.status).toBe(200);
    expect(parsed.at(-1)?.amount?.toFixed(2)).toBe("99999999999999.99");
  });

  it("accepts X-Content-HMAC alone (over the URL-decoded body)", async () => {
    const invoiceId = crypto.randomUUID();
    const reply = await emulator.deliver(
      "Pay",
      { invoiceId, amount: "12.30", currency: "KZT" },
      receiver.url,
      {
        signatureHeaders: ["X-Content-HMAC"],
      },
    );
    expect(reply.status).toBe(200);
    expect(parsed.at(-1)).toMatchObject({ paymentId: invoiceId, status: "succeeded" });
  });
});

describe("card top-up through CloudPayments end to end (emulator → webhook → ledger)", () => {
  let t: TestDatabase;
  let queue: JobQueue;
  let emulator: CloudPaymentsEmulator;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let gateway: PaymentGateway;

  beforeAll(async () => {
    t = await createTestDatabase();
    queue = createJobQueue(t.database, createLogger({ level: "silent" }));
    await queue.start();
    await queue.register(resumeAwaitingCallsJob);
    emulator = await startCloudPaymentsEmulator();
    gateway = createCloudPaymentsGateway({
      publicId: emulator.publicId,
      apiSecret: emulator.apiSecret,
      apiBaseUrl: emulator.baseUrl,
    });
    const deps = {
      db: t.database.db,
      queue,
      clock: () => new Date(),
      logger: createLogger({ level: "silent" }),
    };
    receiver = await startReceiver(async (rawBody, headers) => {
      const result: WebhookHandling = await handlePaymentWebhook(deps, gateway, rawBody, headers);
      return gateway.acknowledge(result);
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await emulator?.close();
    await queue?.stop(1000);
    await t?.drop();
  });

  it("credits main once for a Pay delivered twice, and refuses a Pay for another amount", async () => {
    const db = t.database.db;
    const account = await createAccount(db, { company: "Acme", currency: "KZT" });
    const started = await startCardPayment(
      { db, gateway, clock: () => new Date(), publicUrl: "http://tyndau.test" },
      { accountId: account.id, currency: "KZT", amount: Money.of("2500.00", "KZT") },
    );
    expect(started.redirectUrl.startsWith(`${emulator.baseUrl}/d/`)).toBe(true);
    const row = await findPaymentById(db, started.id);
    expect(row?.externalId).toBe(started.redirectUrl.split("/d/")[1]);

    const wrong = await emulator.deliver(
      "Pay",
      { invoiceId: started.id, amount: "2500.01", currency: "KZT" },
      receiver.url,
    );
    expect(wrong).toMatchObject({ status: 422, body: { error: { code: "PAYMENT_MISMATCH" } } });
    expect((await sumBalances(db, account.id, "KZT")).main.isZero()).toBe(true);

    for (let i = 0; i < 2; i++) {
      const ok = await emulator.deliver(
        "Pay",
        { invoiceId: started.id, amount: "2500.00", currency: "KZT" },
        receiver.url,
      );
      expect(ok).toMatchObject({ status: 200, body: { code: 0 } });
    }
    expect((await sumBalances(db, account.id, "KZT")).main.equals(Money.of("2500", "KZT"))).toBe(true);

    const unknown = await emulator.deliver(
      "Pay",
      { invoiceId: crypto.randomUUID(), amount: "1.00", currency: "KZT" },
      receiver.url,
    );
    expect(unknown.status).toBe(404);
    expect(await findLedgerViolations(db)).toEqual([]);
  });
});

describe("createPaymentGateways", () => {
  const base = { publicUrl: "http://tyndau.test", paymentWebhookSecret: "s3cret-for-tests" };
  const cloudpayments = { publicId: "pk_test", apiSecret: "api-secret" };

  it("uses the sandbox, with its checkout page, outside production", () => {
    const g = createPaymentGateways({ ...base, env: "development" });
    expect(Object.keys(g.gateways)).toEqual(["sandbox"]);
    expect(g).toMatchObject({ defaultGateway: "sandbox", sandboxCheckout: true });
  });

  it("runs no sandbox in production unless PAYMENT_GATEWAY=sandbox: no webhook, no checkout, no default", () => {
    const bare = createPaymentGateways({ ...base, env: "production" });
    expect(Object.keys(bare.gateways)).toEqual([]);
    expect(bare).toMatchObject({ defaultGateway: undefined, sandboxCheckout: false });
    const g = createPaymentGateways({ ...base, env: "production", cloudpayments });
    expect(Object.keys(g.gateways)).toEqual(["cloudpayments"]);
    expect(g).toMatchObject({ defaultGateway: "cloudpayments", sandboxCheckout: false });
    const staging = createPaymentGateways({ ...base, env: "production", paymentGateway: "sandbox" });
    expect(Object.keys(staging.gateways)).toEqual(["sandbox"]);
    expect(staging).toMatchObject({ defaultGateway: "sandbox", sandboxCheckout: true });
  });

  it("refuses PAYMENT_GATEWAY=cloudpayments without credentials", () => {
    expect(() =>
      createPaymentGateways({ ...base, env: "production", paymentGateway: "cloudpayments" }),
    ).toThrow(/CLOUDPAYMENTS_PUBLIC_ID/);
  });
});
