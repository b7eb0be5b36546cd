import { createHmac, randomUUID } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { synthesizeMono } from "../../scripts/fixtures/synthesize-call.ts";
import { createStaffUser } from "../../shared/accounts/create-staff-user.ts";
import { findLedgerViolations } from "../../shared/db/repositories/ledger.repository.ts";
import { apiClient, pushRecording, registerOwner, waitForCall } from "../harness/api-client.ts";
import { validBin } from "../harness/kz-ids.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

/**
 * Money actions of staff (refunds, invoice payments) and the owner's reanalysis on the production
 * configuration: the money, its audit entry and the Idempotency-Key's answer commit in one transaction
 * (issue 13.4). Failures are injected by triggers in the app's own database — the audit store refusing
 * a row, the key's answer failing to be stored, a failure after the commit — and the balance, the rows
 * and a retry with the same key show that money moved exactly once, and only with its audit entry.
 */
let app: TestApp;
let workDir: string;

beforeAll(async () => {
  app = await startTestApp("postgres", { PAYMENT_GATEWAY: "sandbox" });
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-staff-money-"));
});
afterAll(async () => {
  await app?.close();
  await fs.rm(workDir, { recursive: true, force: true });
});
afterEach(() => removeFault());

const sql = (text: string, values?: unknown[]) => app.database.executeSql(text, values);

/** Makes `event` on `table` fail while `condition` (plpgsql, may use NEW in row triggers) holds. */
async function injectFault(
  table: "audit_log" | "idempotency_keys",
  timing: "before insert" | "before update",
  level: "row" | "statement",
  condition: string,
) {
  await sql(`create function test_fault() returns trigger language plpgsql as $$
    begin
      if ${condition} then raise exception 'injected fault (test)'; end if;
      return ${level === "row" ? "new" : "null"};
    end $$`);
  await sql(
    `create trigger test_fault ${timing} on ${table} for each ${level} execute function test_fault()`,
  );
}

async function removeFault() {
  await sql("drop trigger if exists test_fault on audit_log");
  await sql("drop trigger if exists test_fault on idempotency_keys");
  await sql("drop function if exists test_fault()");
}

async function postWithKey(token: string, route: string, key: string, body: unknown = {}) {
  const res = await fetch(`${app.baseUrl}${route}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${token}`,
      "idempotency-key": key,
    },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    replayed: res.headers.get("idempotent-replayed"),
    body: (await res.json()) as Record<string, unknown> & { id?: string },
  };
}

async function staffToken(tag: string): Promise<string> {
  const email = `staff-${tag}-${randomUUID()}@tyndau.kz`;
  await createStaffUser(app.database.db, { email, password: "staff password 1" });
  const login = await apiClient(app.baseUrl).post<{ token: string }>("/api/v1/auth/login", {
    email,
    password: "staff password 1",
  });
  return login.body.token;
}

/** An owner with a succeeded 500.00 KZT card payment. */
async function ownerWithPayment() {
  const owner = await registerOwner(app.baseUrl);
  const payment = await owner.client.post<{ id: string }>("/api/v1/billing/payments", { amount: "500.00" });
  expect(payment.status).toBe(201);
  const notice = JSON.stringify({
    paymentId: payment.body.id,
    status: "succeeded",
    amount: "500.00",
    currency: "KZT",
  });
  const hook = await fetch(`${app.baseUrl}/api/v1/webhooks/payments/sandbox`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-signature": createHmac("sha256", app.config.paymentWebhookSecret).update(notice).digest("hex"),
    },
    body: notice,
  });
  expect(hook.status).toBe(200);
  return { owner, paymentId: payment.body.id };
}

const mainBalance = async (owner: Awaited<ReturnType<typeof registerOwner>>) =>
  (await owner.client.get<{ main: string }>("/api/v1/billing/balance")).body.main;

async function refundRows(paymentId: string) {
  const { rows } = await sql("select id from refunds where payment_id = $1 order by created_at", [paymentId]);
  return rows.map((r) => String(r.id));
}

async function auditRows(action: string, objectId: string) {
  const { rows } = await sql(
    "select details, actor_role, ip from audit_log where action = $1 and object_id = $2 order by created_at",
    [action, objectId],
  );
  return rows as { details: Record<string, unknown>; actor_role: string; ip: string | null }[];
}

describe("a staff refund: money, audit entry and Idempotency-Key answer commit together", () => {
  it("moves no money when its audit entry cannot be written, and the retry with the key refunds once", async () => {
    const { owner, paymentId } = await ownerWithPayment();
    const token = await staffToken("refund-audit");
    const route = `/api/v1/admin/payments/${paymentId}/refund`;
    const body = { amount: "100.00", reason: "Double charge" };

    await injectFault("audit_log", "before insert", "row", "new.action = 'staff.payment_refund'");
    const failed = await postWithKey(token, route, "refund-audit-down-1", body);
    expect(failed.status).toBe(500);
    expect(await refundRows(paymentId)).toEqual([]);
    expect(await mainBalance(owner)).toBe("500.00");
    await removeFault();

    // Nothing happened, so the key was freed: the retry runs, once.
    const retried = await postWithKey(token, route, "refund-audit-down-1", body);
    expect(retried).toMatchObject({ status: 200, replayed: null, body: { amount: "100.00" } });
    const replayed = await postWithKey(token, route, "refund-audit-down-1", body);
    expect(replayed).toMatchObject({ status: 200, replayed: "true", body: { id: retried.body.id } });
    expect(await refundRows(paymentId)).toEqual([retried.body.id]);
    expect(await mainBalance(owner)).toBe("400.00");
    const audit = await auditRows("staff.payment_refund", paymentId);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor_role: "staff",
      details: { refundId: retried.body.id, amount: "100.00" },
    });
    expect(audit[0]!.ip).toBeTruthy();
    expect(await findLedgerViolations(app.database.db)).toEqual([]);
  });

  it("moves no money when the key's answer cannot be stored, so a retry never refunds twice", async () => {
    const { owner, paymentId } = await ownerWithPayment();
    const token = await staffToken("refund-answer");
    const route = `/api/v1/admin/payments/${paymentId}/refund`;
    const body = { amount: "150.00", reason: "Technical error" };

    // Before this change the answer was stored after the refund had committed: the refund stayed, the
    // key was released, and the retry refunded a second time.
    await injectFault("idempotency_keys", "before update", "row", "new.key = 'refund-answer-lost-1'");
    expect((await postWithKey(token, route, "refund-answer-lost-1", body)).status).toBe(500);
    expect(await refundRows(paymentId)).toEqual([]);
    expect(await mainBalance(owner)).toBe("500.00");
    expect(await auditRows("staff.payment_refund", paymentId)).toEqual([]);
    await removeFault();

    const retried = await postWithKey(token, route, "refund-answer-lost-1", body);
    expect(retried.status).toBe(200);
    expect(await refundRows(paymentId)).toEqual([retried.body.id]);
    expect(await mainBalance(owner)).toBe("350.00");
    expect(await auditRows("staff.payment_refund", paymentId)).toHaveLength(1);
  });

  it("keeps the key after the commit: a failure past it answers 500, the retry replays, nothing is refunded twice", async () => {
    const { owner, paymentId } = await ownerWithPayment();
    const token = await staffToken("refund-late");
    const route = `/api/v1/admin/payments/${paymentId}/refund`;
    const body = { amount: "50.00", reason: "Technical error" };

    // Every statement on the keys fails once this key has an answer: the transaction that stores it
    // passes (no answer yet), whatever touches the keys after that commit fails.
    await injectFault(
      "idempotency_keys",
      "before update",
      "statement",
      "exists (select 1 from idempotency_keys where key = 'refund-late-failure-1' and status is not null)",
    );
    expect((await postWithKey(token, route, "refund-late-failure-1", body)).status).toBe(500);
    await removeFault();
    const [refundId] = await refundRows(paymentId);
    expect(refundId).toBeDefined();
    expect(await mainBalance(owner)).toBe("450.00");

    const retried = await postWithKey(token, route, "refund-late-failure-1", body);
    expect(retried).toMatchObject({ status: 200, replayed: "true", body: { id: refundId, amount: "50.00" } });
    expect(await refundRows(paymentId)).toEqual([refundId]);
    expect(await mainBalance(owner)).toBe("450.00");
    expect(await auditRows("staff.payment_refund", paymentId)).toHaveLength(1);
  });
});

describe("a staff invoice payment: credit, audit entry and Idempotency-Key answer commit together", () => {
  async function issuedInvoice() {
    const owner = await registerOwner(app.baseUrl);
    const created = await owner.client.post<{ id: string }>("/api/v1/billing/invoices", {
      amount: "2000.00",
      payer: { name: "ТОО Атом", bin: validBin("19084000352"), address: "Астана" },
    });
    expect(created.status).toBe(201);
    return { owner, invoiceId: created.body.id };
  }
  const invoiceStatus = async (owner: Awaited<ReturnType<typeof registerOwner>>, id: string) =>
    (await owner.client.get<{ status: string }>(`/api/v1/billing/invoices/${id}`)).body.status;

  it("credits nothing when its audit entry cannot be written; the retry with the key credits once", async () => {
    const { owner, invoiceId } = await issuedInvoice();
    const token = await staffToken("invoice-audit");
    const route = `/api/v1/admin/invoices/${invoiceId}/payments`;
    const body = { amount: "2000.00", paidAt: new Date().toISOString() };

    await injectFault("audit_log", "before insert", "row", "new.action = 'staff.invoice_payment'");
    expect((await postWithKey(token, route, "invoice-audit-down-1", body)).status).toBe(500);
    expect(await invoiceStatus(owner, invoiceId)).toBe("issued");
    expect(await mainBalance(owner)).toBe("0.00");
    await removeFault();

    const retried = await postWithKey(token, route, "invoice-audit-down-1", body);
    expect(retried).toMatchObject({ status: 200, replayed: null, body: { credited: true } });
    expect(await postWithKey(token, route, "invoice-audit-down-1", body)).toMatchObject({
      status: 200,
      replayed: "true",
    });
    expect(await invoiceStatus(owner, invoiceId)).toBe("paid");
    expect(await mainBalance(owner)).toBe("2000.00");
    const audit = await auditRows("staff.invoice_payment", invoiceId);
    expect(audit.map((a) => a.details.outcome)).toEqual(["credited"]);
    expect(await findLedgerViolations(app.database.db)).toEqual([]);
  });

  it("credits nothing when the key's answer cannot be stored, and audits refusals with their outcome", async () => {
    const { owner, invoiceId } = await issuedInvoice();
    const token = await staffToken("invoice-answer");
    const route = `/api/v1/admin/invoices/${invoiceId}/payments`;
    const body = { amount: "2000.00", paidAt: new Date().toISOString() };

    await injectFault("idempotency_keys", "before update", "row", "new.key = 'invoice-answer-lost-1'");
    expect((await postWithKey(token, route, "invoice-answer-lost-1", body)).status).toBe(500);
    expect(await invoiceStatus(owner, invoiceId)).toBe("issued");
    expect(await mainBalance(owner)).toBe("0.00");
    expect(await auditRows("staff.invoice_payment", invoiceId)).toEqual([]);
    await removeFault();

    expect((await postWithKey(token, route, "invoice-answer-lost-1", body)).status).toBe(200);
    // A second, different transfer against the paid invoice is refused, flagged for return, and audited.
    const second = await postWithKey(token, route, "invoice-second-transfer-1", { ...body, amount: "10.00" });
    expect(second.status).toBe(409);
    expect(await mainBalance(owner)).toBe("2000.00");
    const audit = await auditRows("staff.invoice_payment", invoiceId);
    expect(audit.map((a) => a.details.outcome)).toEqual(["credited", "refused_paid"]);
  });
});

describe("a reanalysis: the hold and the Idempotency-Key answer commit together", () => {
  it("holds nothing when the key's answer cannot be stored; the retry holds once", async () => {
    const owner = await registerOwner(app.baseUrl);
    const template = await owner.client.post("/api/v1/templates", {
      name: "Checks",
      questions: [
        { key: "hello", text: "Did the operator greet?", type: "boolean", keywords: { any: ["hello"] } },
      ],
    });
    expect(template.status).toBe(201);
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    const file = await synthesizeMono(
      { turns: [{ speaker: "operator", text: "Hello, thank you for calling." }] },
      path.join(workDir, "c.wav"),
      { sampleRate: 16000 },
    );
    const pushed = await pushRecording(source.body.ingestUrl, file.path, { externalId: "re-atomic" });
    const callId = String(pushed.body.callId);
    expect(await waitForCall(owner.client, callId)).toMatchObject({ status: "done" });
    const runs = async () =>
      (
        await sql(
          "select count(*)::int as n from ledger_transactions where account_id = $1 and type = 'hold'",
          [owner.accountId],
        )
      ).rows[0]!.n as number;
    const holdsBefore = await runs();
    const balanceBefore = (await owner.client.get("/api/v1/billing/balance")).body;

    const route = `/api/v1/calls/${callId}/reanalyze`;
    await injectFault("idempotency_keys", "before update", "row", "new.key = 'reanalyze-answer-lost-1'");
    expect((await postWithKey(owner.token, route, "reanalyze-answer-lost-1")).status).toBe(500);
    expect(await runs()).toBe(holdsBefore);
    expect((await owner.client.get("/api/v1/billing/balance")).body).toEqual(balanceBefore);
    await removeFault();

    const retried = await postWithKey(owner.token, route, "reanalyze-answer-lost-1");
    expect(retried.status).toBe(202);
    expect(retried.body.amount).not.toBe("0.00");
    const replayed = await postWithKey(owner.token, route, "reanalyze-answer-lost-1");
    expect(replayed).toMatchObject({ status: 202, replayed: "true", body: { runId: retried.body.runId } });
    expect(await runs()).toBe(holdsBefore + 1);
  });
});
