import { createHmac } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesizeMono } from "../../scripts/fixtures/synthesize-call.ts";
import { createStaffUser } from "../../shared/accounts/create-staff-user.ts";
import { voidExpiredBonuses } from "../../shared/billing/bonus-expiry.ts";
import { findLedgerViolations } from "../../shared/db/repositories/ledger.repository.ts";
import { apiClient, pushRecording, registerOwner, waitForCall } from "../harness/api-client.ts";
import { validBin } from "../harness/kz-ids.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

/**
 * Billing through HTTP on the production configuration (PostgreSQL, S3, real secrets) of a staging
 * system: the sandbox card gateway is chosen explicitly (PAYMENT_GATEWAY=sandbox), which production
 * allows only so; without it see trust.e2e.test.ts.
 */
let app: TestApp;
let workDir: string;
let callFile: string;

beforeAll(async () => {
  app = await startTestApp("postgres", { PAYMENT_GATEWAY: "sandbox" });
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-billing-"));
  callFile = (
    await synthesizeMono(
      { turns: [{ speaker: "operator", text: "Hello, thank you for calling." }] },
      path.join(workDir, "c.wav"),
      { sampleRate: 16000 },
    )
  ).path;
});
afterAll(async () => {
  await app?.close();
  await fs.rm(workDir, { recursive: true, force: true });
});

/** Delivers a sandbox gateway notification as the gateway would: raw JSON signed with the webhook secret. */
async function sandboxWebhook(body: Record<string, unknown>, secret = app.config.paymentWebhookSecret) {
  const raw = JSON.stringify(body);
  const res = await fetch(`${app.baseUrl}/api/v1/webhooks/payments/sandbox`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-signature": createHmac("sha256", secret).update(raw).digest("hex"),
    },
    body: raw,
  });
  return res.status;
}

describe("prepaid balance through HTTP", () => {
  it("suspends a call without funds, and a card top-up resumes it, charged from main", async () => {
    const owner = await registerOwner(app.baseUrl);
    // Day 8 without a source or a billing event: the welcome bonus is voided.
    const { voided } = await voidExpiredBonuses(app.database.db, new Date(Date.now() + 8 * 86_400_000));
    expect(voided.map((v) => v.accountId)).toContain(owner.accountId);
    expect((await owner.client.get("/api/v1/billing/balance")).body).toMatchObject({
      available: "0.00",
      bonus: "0.00",
      bonusVoidsAt: null,
    });

    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    const pushed = await pushRecording(source.body.ingestUrl, callFile, { externalId: "needs-money" });
    expect(pushed.status).toBe(202);
    const callId = String(pushed.body.callId);
    for (let i = 0; i < 60; i++) {
      if (
        (await owner.client.get<{ status: string }>(`/api/v1/calls/${callId}`)).body.status ===
        "awaiting_funds"
      )
        break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect((await owner.client.get(`/api/v1/calls/${callId}`)).body).toMatchObject({
      status: "awaiting_funds",
      cost: null,
    });
    expect((await owner.client.get("/api/v1/billing/balance")).body.suspended).toBe(true);
    // The owner hears about it once, by e-mail (sent right after the call was parked).
    const suspendedMails = () =>
      app.mail!.messagesTo(owner.email).filter((m) => /paused|приостановлен/i.test(m.subject));
    for (let i = 0; i < 40 && suspendedMails().length === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(suspendedMails()).toHaveLength(1);

    const payment = await owner.client.post<{
      id: string;
      status: string;
      redirectUrl: string;
      amount: string;
    }>("/api/v1/billing/payments", { amount: "500.00" });
    expect(payment.status).toBe(201);
    expect(payment.body).toMatchObject({ status: "pending", amount: "500.00", currency: "KZT" });
    expect(payment.body.redirectUrl).toContain(payment.body.id);

    const notice = { paymentId: payment.body.id, status: "succeeded", amount: "500.00", currency: "KZT" };
    expect(await sandboxWebhook(notice, "not-the-secret")).toBe(401);
    expect(await sandboxWebhook({ ...notice, amount: "500.01" })).toBe(422);
    expect(await sandboxWebhook({ ...notice, currency: "USD" })).toBe(422);
    expect((await owner.client.get("/api/v1/billing/balance")).body.main).toBe("0.00");
    // Twenty deliveries at once: one credit.
    const statuses = await Promise.all(Array.from({ length: 20 }, () => sandboxWebhook(notice)));
    expect(new Set(statuses)).toEqual(new Set([200]));

    const call = (await waitForCall(owner.client, callId)) as Record<string, unknown>;
    expect(call).toMatchObject({
      status: "done",
      cost: { minutes: 1, pricePerMinute: "3.00", amount: "3.00", status: "charged" },
    });
    expect((await owner.client.get("/api/v1/billing/balance")).body).toMatchObject({
      available: "497.00",
      main: "497.00",
      bonus: "0.00",
      reserved: "0.00",
      suspended: false,
    });
    const ledger = await owner.client.get<{ items: { type: string; amount: string }[] }>(
      "/api/v1/billing/ledger",
    );
    // (The void is dated at the day-8 deadline, which this test reached by moving the job's clock.)
    expect(ledger.body.items.map((i) => `${i.type} ${i.amount}`).sort()).toEqual(
      ["bonus_grant 1000.00", "bonus_void -1000.00", "charge -3.00", "hold 0.00", "top_up 500.00"].sort(),
    );

    // Keyset pages of two walk the same lines, in order, and end with a null cursor.
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await owner.client.get(
        `/api/v1/billing/ledger?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.body.items.map((i) => i.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(paged).toEqual(ledger.body.items.map((i) => (i as unknown as { id: string }).id));
    expect((await owner.client.get("/api/v1/billing/ledger?cursor=not-a-cursor")).status).toBe(400);

    // A technical-error refund by staff, never more than the payment.
    await createStaffUser(app.database.db, {
      email: `staff-${owner.accountId}@tyndau.kz`,
      password: "staff password 1",
    });
    const staffLogin = await apiClient(app.baseUrl).post<{ token: string }>("/api/v1/auth/login", {
      email: `staff-${owner.accountId}@tyndau.kz`,
      password: "staff password 1",
    });
    const staff = apiClient(app.baseUrl, staffLogin.body.token);
    expect(
      (
        await owner.client.post(`/api/v1/admin/payments/${payment.body.id}/refund`, {
          amount: "10.00",
          reason: "x",
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await staff.post(`/api/v1/admin/payments/${payment.body.id}/refund`, {
          amount: "100.00",
          reason: "Double charge",
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await staff.post(`/api/v1/admin/payments/${payment.body.id}/refund`, {
          amount: "400.01",
          reason: "Too much",
        })
      ).status,
    ).toBe(409);
    expect((await owner.client.get("/api/v1/billing/balance")).body.main).toBe("397.00");

    // Staff block an account: its recordings are refused until unblocked.
    expect((await staff.post(`/api/v1/admin/accounts/${owner.accountId}/block`)).body).toMatchObject({
      status: "blocked",
    });
    expect(
      (await pushRecording(source.body.ingestUrl, callFile, { externalId: "while-blocked" })).status,
    ).toBe(403);
    expect((await staff.post(`/api/v1/admin/accounts/${owner.accountId}/unblock`)).body).toMatchObject({
      status: "active",
    });
    expect(
      (await pushRecording(source.body.ingestUrl, callFile, { externalId: "after-unblock" })).status,
    ).toBe(202);

    expect(await findLedgerViolations(app.database.db)).toEqual([]);
  });

  it("tops up by bank invoice: numbered, PDF, valid 5 working days, credited once by staff", async () => {
    const owner = await registerOwner(app.baseUrl);
    const bad = await owner.client.post<{ error: { code: string } }>("/api/v1/billing/invoices", {
      amount: "150000.00",
      payer: { name: "ТОО «Әлем Қызмет»", bin: "123456789012", address: "Астана, ул. Сарайшық, 5" },
    });
    expect(bad.status).toBe(400);
    const bin = validBin("19084000352");
    const created = await owner.client.post<{
      id: string;
      number: string;
      status: string;
      validUntil: string;
      pdfUrl: string;
    }>("/api/v1/billing/invoices", {
      amount: "150000.00",
      payer: { name: "ТОО «Әлем Қызмет»", bin, address: "Астана, ул. Сарайшық, 5" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "issued", amount: "150000.00", currency: "KZT" });
    expect(created.body.number).toMatch(/^\d{4}-\d{6}$/);
    expect(created.body.validUntil).toMatch(/T00:00:00\+05:00$/);
    const pdf = await fetch(`${app.baseUrl}${created.body.pdfUrl}`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get("content-type")).toContain("application/pdf");
    expect(
      Buffer.from(await pdf.arrayBuffer())
        .subarray(0, 5)
        .toString(),
    ).toBe("%PDF-");
    const other = await registerOwner(app.baseUrl);
    expect((await other.client.get(`/api/v1/billing/invoices/${created.body.id}`)).status).toBe(404);

    await createStaffUser(app.database.db, {
      email: `staff-inv-${owner.accountId}@tyndau.kz`,
      password: "staff password 1",
    });
    const login = await apiClient(app.baseUrl).post<{ token: string }>("/api/v1/auth/login", {
      email: `staff-inv-${owner.accountId}@tyndau.kz`,
      password: "staff password 1",
    });
    const staff = apiClient(app.baseUrl, login.body.token);
    const paidAt = new Date().toISOString();
    const confirmations = await Promise.all(
      Array.from({ length: 5 }, () =>
        staff.post(`/api/v1/admin/invoices/${created.body.id}/payments`, { amount: "150000.00", paidAt }),
      ),
    );
    expect(confirmations.map((c) => c.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await owner.client.get("/api/v1/billing/balance")).body).toMatchObject({
      main: "150000.00",
      available: "151000.00",
    });
    expect((await owner.client.get(`/api/v1/billing/invoices/${created.body.id}`)).body.status).toBe("paid");
    const paidMails = app.mail!.messagesTo(owner.email).filter((m) => m.text.includes(created.body.number));
    expect(paidMails).toHaveLength(1);

    // A payment dated after the invoice's validity is refused and nothing is credited.
    const late = await owner.client.post<{ id: string; validUntil: string }>("/api/v1/billing/invoices", {
      amount: "1000.00",
      payer: { name: "ИП Серік", bin, address: "Алматы" },
    });
    const afterExpiry = new Date(new Date(late.body.validUntil).getTime() + 1000);
    const { expireInvoices } = await import("../../shared/billing/invoices.ts");
    await expireInvoices(app.database.db, afterExpiry);
    const refused = await staff.post<{ error: { code: string } }>(
      `/api/v1/admin/invoices/${late.body.id}/payments`,
      {
        amount: "1000.00",
        paidAt: new Date(Math.min(afterExpiry.getTime(), Date.now())).toISOString(),
      },
    );
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("INVOICE_EXPIRED");
    expect((await owner.client.get("/api/v1/billing/balance")).body.main).toBe("150000.00");
    expect(await findLedgerViolations(app.database.db)).toEqual([]);
  });

  it("honours Idempotency-Key on billing actions: same request → same answer, different request → 409", async () => {
    const owner = await registerOwner(app.baseUrl);
    const post = (key: string, amount: string) =>
      fetch(`${app.baseUrl}/api/v1/billing/payments`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${owner.token}`,
          "idempotency-key": key,
        },
        body: JSON.stringify({ amount }),
      }).then(async (r) => ({
        status: r.status,
        replayed: r.headers.get("idempotent-replayed"),
        body: (await r.json()) as { id?: string },
      }));
    const first = await post("topup-2026-11-22-a", "250.00");
    expect(first.status).toBe(201);
    const again = await post("topup-2026-11-22-a", "250.00");
    expect(again).toMatchObject({ status: 201, replayed: "true", body: { id: first.body.id } });
    expect((await post("topup-2026-11-22-a", "300.00")).status).toBe(409);
    // Concurrent first use of one key: one payment is created; the others get it replayed or 409 (in progress).
    const racing = await Promise.all(Array.from({ length: 6 }, () => post("topup-2026-11-22-b", "100.00")));
    const created = new Set(racing.filter((r) => r.status === 201).map((r) => r.body.id));
    expect(created.size).toBe(1);
    expect(racing.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    const payments = await owner.client.get<{ items: { id: string }[] }>("/api/v1/billing/payments");
    expect(payments.body.items).toHaveLength(2);
  });

  it("keeps billing actions from managers", async () => {
    const owner = await registerOwner(app.baseUrl);
    const email = `manager-${owner.accountId}@example.com`;
    expect(
      (await owner.client.post("/api/v1/users", { email, password: "manager password", role: "manager" }))
        .status,
    ).toBe(201);
    const login = await apiClient(app.baseUrl).post<{ token: string }>("/api/v1/auth/login", {
      email,
      password: "manager password",
    });
    const manager = apiClient(app.baseUrl, login.body.token);
    expect((await manager.get("/api/v1/calls")).status).toBe(200);
    expect((await manager.patch("/api/v1/account", { lowBalanceThreshold: "1.00" })).status).toBe(403);
    const patched = await owner.client.patch("/api/v1/account", {
      lowBalanceThreshold: "5000.50",
      maskPersonalData: false,
    });
    expect(patched.body).toMatchObject({ lowBalanceThreshold: "5000.50", maskPersonalData: false });
    expect((await owner.client.patch("/api/v1/account", { lowBalanceThreshold: 5000.5 })).status).toBe(400);
    expect((await manager.get("/api/v1/account")).body).toMatchObject({ lowBalanceThreshold: "5000.50" });
    for (const [method, p] of [
      ["get", "/api/v1/billing/balance"],
      ["get", "/api/v1/billing/ledger"],
      ["post", "/api/v1/billing/payments"],
      ["post", "/api/v1/sources"],
      ["post", "/api/v1/templates"],
    ] as const) {
      const res =
        method === "get"
          ? await manager.get<{ error: { code: string } }>(p)
          : await manager.post<{ error: { code: string } }>(p, { amount: "10.00" });
      expect(res.status, `${method} ${p}`).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
  });
});
