import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesizeMono } from "../../scripts/fixtures/synthesize-call.ts";
import { createStaffUser } from "../../shared/accounts/create-staff-user.ts";
import { queryRows } from "../../shared/db/client.ts";
import { signSandboxNotification } from "../../shared/providers/payments/sandbox-gateway.ts";
import { apiClient, pushRecording, registerOwner, waitForCall } from "../harness/api-client.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

/**
 * Issue 14's money and identity holes, attacked through HTTP on the production configuration
 * (NODE_ENV=production, PostgreSQL, S3, real secrets) with no card gateway configured.
 */
let app: TestApp;
let workDir: string;
let callFile: string;
let staff: ReturnType<typeof apiClient>;

beforeAll(async () => {
  app = await startTestApp("postgres");
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-trust-"));
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

const password = "correct horse battery";
const login = (email: string, pass = password) =>
  apiClient(app.baseUrl).post<{ token: string; error?: { code: string } }>("/api/v1/auth/login", {
    email,
    password: pass,
  });

async function staffClient() {
  if (staff) return staff;
  const email = `staff-${crypto.randomUUID()}@tyndau.kz`;
  await createStaffUser(app.database.db, { email, password: "staff password 1" });
  const res = await login(email, "staff password 1");
  expect(res.status).toBe(200);
  staff = apiClient(app.baseUrl, res.body.token);
  return staff;
}

const ledgerRowsOf = async (callId: string) =>
  (
    await queryRows<{ n: number }>(
      app.database.db,
      sql`select count(*)::int as n from ledger_transactions where call_id = ${callId}`,
    )
  )[0]?.n;

describe("free credit in production (issue 14.1)", () => {
  it("runs no sandbox gateway: card top-ups get 409, the self-signing page and its webhook do not exist", async () => {
    expect(app.config.env).toBe("production");
    const owner = await registerOwner(app.baseUrl);
    const started = await owner.client.post<{ id?: string; error: { code: string } }>(
      "/api/v1/billing/payments",
      { amount: "100000" },
    );
    expect(started.status).toBe(409);
    expect(started.body.error.code).toBe("PAYMENT_GATEWAY_UNAVAILABLE");
    expect((await owner.client.get<{ items: unknown[] }>("/api/v1/billing/payments")).body.items).toEqual([]);

    // The attack: pay a pending payment on the sandbox page, which signs the notification itself.
    const [payment] = await queryRows<{ id: string }>(
      app.database.db,
      sql`insert into payments (account_id, gateway, amount, currency, status)
          values (${owner.accountId}, 'sandbox', '100000', 'KZT', 'pending') returning id`,
    );
    const page = await fetch(`${app.baseUrl}/sandbox/pay/${payment!.id}`);
    expect(page.status).toBe(404);
    const pay = await fetch(`${app.baseUrl}/sandbox/pay/${payment!.id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "outcome=succeeded",
    });
    expect(pay.status).toBe(404);
    // Nor is a sandbox notification taken, even one signed with the real secret.
    const { rawBody, headers } = signSandboxNotification(app.config.paymentWebhookSecret, {
      paymentId: payment!.id,
      status: "succeeded",
      amount: "100000.00",
      currency: "KZT",
    });
    const hook = await fetch(`${app.baseUrl}/api/v1/webhooks/payments/sandbox`, {
      method: "POST",
      headers,
      body: new Uint8Array(rawBody),
    });
    expect(hook.status).toBe(404);

    expect((await owner.client.get("/api/v1/billing/balance")).body).toMatchObject({ main: "0.00" });
    const openapi = await apiClient(app.baseUrl).get<{ paths: Record<string, unknown> }>(
      "/api/v1/openapi.json",
    );
    expect(Object.keys(openapi.body.paths).filter((p) => p.startsWith("/sandbox"))).toEqual([]);
  });
});

describe("staff account captured by a company name (issue 14.3)", () => {
  it("puts a new staff user in the operator's marked account, not in a customer's named like it", async () => {
    const customer = await registerOwner(app.baseUrl, "Tyndau operations (staff)");
    const email = `staff-${crypto.randomUUID()}@tyndau.kz`;
    const created = await createStaffUser(app.database.db, { email, password: "staff password 1" });
    expect(created.accountId).not.toBe(customer.accountId);

    const users = await customer.client.get<{ items: { email: string; role: string }[] }>("/api/v1/users");
    expect(users.status).toBe(200);
    expect(users.body.items.map((u) => u.email)).toEqual([customer.email]);
    expect(users.body.items.map((u) => u.role)).not.toContain("staff");

    const signedIn = await login(email, "staff password 1");
    expect(signedIn.status).toBe(200);
    const me = await apiClient(app.baseUrl, signedIn.body.token).get<{ account: { id: string } }>(
      "/api/v1/me",
    );
    expect(me.body.account.id).toBe(created.accountId);
    // A second staff user joins the same operator account.
    const second = await createStaffUser(app.database.db, {
      email: `staff-${crypto.randomUUID()}@tyndau.kz`,
      password: "staff password 1",
    });
    expect(second.accountId).toBe(created.accountId);
  });
});

describe("a staff block blocks (issue 14.4)", () => {
  it("refuses sign-in, existing tokens and new calls; queued calls wait unreserved; unblock resumes them", async () => {
    const admin = await staffClient();
    const owner = await registerOwner(app.baseUrl, "Abusive LLP");
    const managerEmail = `manager-${crypto.randomUUID()}@example.com`;
    expect(
      (await owner.client.post("/api/v1/users", { email: managerEmail, password, role: "manager" })).status,
    ).toBe(201);
    const manager = await login(managerEmail);
    expect(manager.status).toBe(200);
    // A source whose calls wait 4 s before processing: the call is queued when the block comes.
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
      processingDelaySec: 4,
    });
    expect(source.status).toBe(201);
    const queued = await pushRecording(source.body.ingestUrl, callFile, { externalId: "queued-1" });
    expect(queued.status).toBe(202);
    const callId = String(queued.body.callId);

    const blocked = await admin.post<{ status: string }>(`/api/v1/admin/accounts/${owner.accountId}/block`);
    expect(blocked.status).toBe(200);
    expect(blocked.body.status).toBe("blocked");

    // Sign-in: 403 ACCOUNT_BLOCKED with the right password, the usual 401 with a wrong one (no oracle).
    for (const email of [owner.email, managerEmail]) {
      const res = await login(email);
      expect(res.status).toBe(403);
      expect(res.body.error?.code).toBe("ACCOUNT_BLOCKED");
    }
    expect((await login(owner.email, "not the password at all")).status).toBe(401);
    // Tokens issued before the block.
    for (const client of [owner.client, apiClient(app.baseUrl, manager.body.token)]) {
      for (const route of ["/api/v1/calls", "/api/v1/me", `/api/v1/calls/${callId}`]) {
        const res = await client.get<{ error: { code: string } }>(route);
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe("ACCOUNT_BLOCKED");
      }
    }
    expect((await owner.client.post("/api/v1/billing/invoices", {})).status).toBe(403);
    // Its sources take no new call.
    const refused = await pushRecording(source.body.ingestUrl, callFile, { externalId: "after-block" });
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe("ACCOUNT_BLOCKED");

    // Past the source's delay the queued call is still not processed, and nothing was reserved for it.
    await new Promise((r) => setTimeout(r, 6000));
    const [waiting] = await queryRows<{ status: string; cost_status: string | null }>(
      app.database.db,
      sql`select status, cost_status from calls where id = ${callId}`,
    );
    expect(waiting).toEqual({ status: "received", cost_status: null });
    expect(await ledgerRowsOf(callId)).toBe(0);

    const unblocked = await admin.post<{ status: string }>(
      `/api/v1/admin/accounts/${owner.accountId}/unblock`,
    );
    expect(unblocked.body.status).toBe("active");
    expect((await login(owner.email)).status).toBe(200);
    expect((await owner.client.get("/api/v1/calls")).status).toBe(200);
    const done = (await waitForCall(owner.client, callId)) as { status: string; cost: { status: string } };
    expect(done).toMatchObject({ status: "done", cost: { status: "charged" } });
  });

  it("releases the holds of calls in flight at once, and the operator's own account cannot be blocked", async () => {
    const admin = await staffClient();
    const owner = await registerOwner(app.baseUrl, "In flight LLP");
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    const pushed = await pushRecording(source.body.ingestUrl, callFile, { externalId: "in-flight" });
    const callId = String(pushed.body.callId);
    // Block once it holds funds (or has finished: then it was charged normally before the block).
    for (let i = 0; i < 100; i++) {
      const [row] = await queryRows<{ status: string }>(
        app.database.db,
        sql`select status from calls where id = ${callId}`,
      );
      if (row?.status !== "received") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await admin.post(`/api/v1/admin/accounts/${owner.accountId}/block`)).status).toBe(200);
    const [after] = await queryRows<{ status: string; cost_status: string; error_code: string | null }>(
      app.database.db,
      sql`select status, cost_status, error_code from calls where id = ${callId}`,
    );
    if (after?.status === "done") expect(after.cost_status).toBe("charged");
    else expect(after).toEqual({ status: "failed", cost_status: "released", error_code: "ACCOUNT_BLOCKED" });
    const [reserved] = await queryRows<{ n: number }>(
      app.database.db,
      sql`select count(*)::int as n from calls where account_id = ${owner.accountId} and cost_status = 'reserved'`,
    );
    expect(reserved?.n).toBe(0);
    // A worker still busy with it writes nothing more: it stays as the block left it.
    await new Promise((r) => setTimeout(r, 3000));
    const [later] = await queryRows<{ status: string; cost_status: string }>(
      app.database.db,
      sql`select status, cost_status from calls where id = ${callId}`,
    );
    expect(later).toMatchObject({ status: after?.status, cost_status: after?.cost_status });

    const me = await admin.get<{ account: { id: string } }>("/api/v1/me");
    expect((await admin.post(`/api/v1/admin/accounts/${me.body.account.id}/block`)).status).toBe(404);
    expect((await admin.get("/api/v1/me")).status).toBe(200);
  });
});

describe("sign-in and registration hardening (issue 14.9)", () => {
  const loginFrom = (email: string, pass: string, address: string) =>
    fetch(`${app.baseUrl}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": address },
      body: JSON.stringify({ email, password: pass }),
    });

  it("counts parallel sign-in guesses: no more than the limit get their password checked", async () => {
    const owner = await registerOwner(app.baseUrl, "Guessed LLP");
    const limit = app.config.security.loginMaxFailuresPerEmail;
    // Twenty guesses at once, each from its own address, so only the per-e-mail limit applies.
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => loginFrom(owner.email, `wrong guess ${i}`, `198.51.100.${i + 1}`)),
    ).then((rs) => rs.map((r) => r.status));
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(limit);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(20 - limit);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    // A burst may let through fewer than the limit (refused guesses count while in flight), never more;
    // a few more guesses one at a time reach it for sure, and then even the right password waits.
    for (let i = 0; i < limit; i++)
      expect([401, 429]).toContain((await loginFrom(owner.email, `late guess ${i}`, "198.51.100.98")).status);
    expect((await loginFrom(owner.email, password, "198.51.100.99")).status).toBe(429);
  });

  it("throttles registrations per address (checked before any password is hashed)", async () => {
    const owner = await registerOwner(app.baseUrl, "Taken LLP");
    const limit = app.config.security.registerMaxPerAddress;
    // A taken e-mail costs no hash (409 at once), and still counts towards the address's limit.
    const statuses = await Promise.all(
      Array.from({ length: limit + 5 }, () =>
        fetch(`${app.baseUrl}/api/v1/auth/register`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.7" },
          body: JSON.stringify({ email: owner.email, password, company: "Flood LLP" }),
        }),
      ),
    ).then((rs) => rs.map((r) => ({ status: r.status, retryAfter: r.headers.get("retry-after") })));
    // Each attempt is counted before it is checked, so a burst lets at most the limit through (fewer
    // when refused ones were still counted at that moment).
    expect(statuses.every((s) => s.status === 409 || s.status === 429)).toBe(true);
    const taken = statuses.filter((s) => s.status === 409).length;
    expect(taken).toBeGreaterThan(0);
    expect(taken).toBeLessThanOrEqual(limit);
    const refused = statuses.filter((s) => s.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(5);
    expect(Number(refused[0]?.retryAfter)).toBeGreaterThan(0);
    // Another address is not affected.
    const other = await fetch(`${app.baseUrl}/api/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.8" },
      body: JSON.stringify({
        email: `new-${crypto.randomUUID()}@example.com`,
        password,
        company: "Fine LLP",
      }),
    });
    expect(other.status).toBe(201);
  });

  it("rehashes a password stored with weaker scrypt parameters at sign-in (N=2^15 → 2^17)", async () => {
    const owner = await registerOwner(app.baseUrl, "Old hash LLP");
    const { scryptSync } = await import("node:crypto");
    const salt = Buffer.alloc(16, 3);
    const key = scryptSync(password, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const old = ["scrypt", 2 ** 15, 8, 1, salt.toString("base64url"), key.toString("base64url")].join("$");
    await queryRows(
      app.database.db,
      sql`update users set password_hash = ${old} where email = ${owner.email}`,
    );
    expect((await login(owner.email)).status).toBe(200);
    const [row] = await queryRows<{ password_hash: string }>(
      app.database.db,
      sql`select password_hash from users where email = ${owner.email}`,
    );
    expect(row?.password_hash).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect((await login(owner.email)).status).toBe(200);
  });

  it("does not serve /metrics in production without METRICS_TOKEN", async () => {
    expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${app.baseUrl}/healthz`)).status).toBe(200);
  });
});
