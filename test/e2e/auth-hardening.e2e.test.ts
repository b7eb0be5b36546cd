import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStaffUser } from "../../shared/accounts/create-staff-user.ts";
import { hashToken } from "../../shared/security/tokens.ts";
import { apiClient, pushRecording, registerOwner } from "../harness/api-client.ts";
import { validBin } from "../harness/kz-ids.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

/** Password rules, login throttling, token revocation, invitations, team management and the audit log. */
let app: TestApp;
let workDir: string;
const ORIGIN = "https://app.example.com";

beforeAll(async () => {
  app = await startTestApp("postgres", {
    LOGIN_MAX_FAILURES_PER_EMAIL: "2",
    LOGIN_MAX_FAILURES_PER_ADDRESS: "3",
    LOGIN_FAILURE_WINDOW_SEC: "60",
    INVITATION_TTL_HOURS: "1",
    CORS_ORIGINS: ORIGIN,
    // A staging system: production configuration with the sandbox card gateway chosen explicitly.
    PAYMENT_GATEWAY: "sandbox",
  });
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-auth-"));
});
afterAll(async () => {
  await app?.close();
  await fs.rm(workDir, { recursive: true, force: true });
});

/** A sign-in from a given client address (the test app trusts X-Forwarded-For from loopback). */
async function login(email: string, password: string, address: string) {
  const res = await fetch(`${app.baseUrl}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": address },
    body: JSON.stringify({ email, password }),
  });
  const body = (await res.json()) as { token?: string; error?: { code: string } };
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body };
}

type AuditPage = {
  items: { action: string; objectId: string | null; actorUserId: string | null; details?: unknown }[];
};

describe("passwords and sign-in", () => {
  it("refuses short, common and e-mail passwords", async () => {
    const anonymous = apiClient(app.baseUrl);
    const email = `rules-${crypto.randomUUID()}@example.com`;
    for (const password of ["short", "password123", "QWERTYUIOP", "aaaaaaaaaaaa", email]) {
      const res = await anonymous.post<{ error: { code: string } }>("/api/v1/auth/register", {
        email,
        password,
        company: "Rules LLP",
      });
      expect(res.status, password).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
    }
    expect(
      (await anonymous.post("/api/v1/auth/register", { email, password: "a fine passphrase", company: "R" }))
        .status,
    ).toBe(201);
  });

  it("throttles failed sign-ins per e-mail and per address, with Retry-After", async () => {
    const owner = await registerOwner(app.baseUrl);
    const good = "correct horse battery";
    // Per e-mail: two failures from two addresses, then even the right password waits.
    for (const ip of ["203.0.113.1", "203.0.113.2"])
      expect((await login(owner.email, "wrong password!", ip)).status).toBe(401);
    const blocked = await login(owner.email, good, "203.0.113.4");
    expect(blocked.status).toBe(429);
    expect(blocked.body.error?.code).toBe("RATE_LIMITED");
    expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
    expect(Number(blocked.retryAfter)).toBeLessThanOrEqual(60);
    // Once the window has passed (moved back in the database), the right password works and resets.
    await app.database.db.execute(
      sql`update login_failures set created_at = created_at - interval '61 seconds' where email = ${owner.email}`,
    );
    expect((await login(owner.email, good, "203.0.113.4")).status).toBe(200);

    // Per address: three failures on different e-mails from one address block that address only.
    for (let i = 0; i < 3; i++)
      expect(
        (await login(`nobody-${i}-${crypto.randomUUID()}@example.com`, "wrong password!", "198.51.100.7"))
          .status,
      ).toBe(401);
    const fromBusy = await login(owner.email, good, "198.51.100.7");
    expect(fromBusy.status).toBe(429);
    expect(Number(fromBusy.retryAfter)).toBeGreaterThan(0);
    expect((await login(owner.email, good, "198.51.100.8")).status).toBe(200);

    // Rows that left the window are pruned when the same e-mail or address fails again.
    await app.database.db.execute(
      sql`insert into login_failures (email, ip, created_at) values ('old@example.com', '198.51.100.99', now() - interval '10 minutes')`,
    );
    expect(
      (await login(`x-${crypto.randomUUID()}@example.com`, "wrong password!", "198.51.100.99")).status,
    ).toBe(401);
    const old = (await app.database.db.execute(
      sql`select count(*)::int as n from login_failures where email = 'old@example.com'`,
    )) as unknown as { rows: { n: number }[] };
    expect(old.rows[0]!.n).toBe(0);
  });

  it("revokes on logout and on password change (other tokens), and expires tokens", async () => {
    const owner = await registerOwner(app.baseUrl);
    const t1 = (await login(owner.email, "correct horse battery", "192.0.2.10")).body.token!;
    const t2 = (await login(owner.email, "correct horse battery", "192.0.2.10")).body.token!;
    const me = (t: string) => apiClient(app.baseUrl, t).get("/api/v1/me");
    expect((await apiClient(app.baseUrl, t1).post("/api/v1/auth/logout")).status).toBe(204);
    expect((await me(t1)).status).toBe(401);
    expect((await me(t2)).status).toBe(200);

    const c2 = apiClient(app.baseUrl, t2);
    const wrong = await c2.post("/api/v1/me/password", {
      currentPassword: "nope nope nope",
      newPassword: "another new password",
    });
    expect(wrong.status).toBe(403);
    expect(
      (
        await c2.post("/api/v1/me/password", {
          currentPassword: "correct horse battery",
          newPassword: owner.email,
        })
      ).status,
    ).toBe(400);
    const changed = await c2.post("/api/v1/me/password", {
      currentPassword: "correct horse battery",
      newPassword: "a completely new passphrase",
    });
    expect(changed.status).toBe(204);
    expect((await me(owner.token)).status).toBe(401);
    expect((await me(t2)).status).toBe(200);
    expect((await login(owner.email, "correct horse battery", "192.0.2.11")).status).toBe(401);
    expect((await login(owner.email, "a completely new passphrase", "192.0.2.11")).status).toBe(200);

    await app.database.db.execute(
      sql`update sessions set expires_at = now() - interval '1 second' where token_hash = ${hashToken(t2)}`,
    );
    expect((await me(t2)).status).toBe(401);
  });
});

describe("team management", () => {
  it("invites by e-mail (single use, expiring, revocable), changes roles, removes users, keeps an owner", async () => {
    const owner = await registerOwner(app.baseUrl);
    const anonymous = apiClient(app.baseUrl);
    const inviteeEmail = `invitee-${crypto.randomUUID()}@example.com`;
    const invited = await owner.client.post<{
      id: string;
      token: string;
      acceptUrl: string;
      expiresAt: string;
    }>("/api/v1/invitations", { email: inviteeEmail, role: "manager" });
    expect(invited.status).toBe(201);
    expect(new Date(invited.body.expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(3600_000);
    const mail = app.mail!.messagesTo(inviteeEmail);
    expect(mail).toHaveLength(1);
    expect(mail[0]!.text).toContain(invited.body.acceptUrl);
    expect(
      (await owner.client.post("/api/v1/invitations", { email: owner.email, role: "manager" })).status,
    ).toBe(409);
    // Only the hash is stored.
    const stored = (await app.database.db.execute(
      sql`select token_hash from invitations where id = ${invited.body.id}`,
    )) as unknown as { rows: { token_hash: string }[] };
    expect(stored.rows[0]!.token_hash).toBe(hashToken(invited.body.token));
    expect(stored.rows[0]!.token_hash).not.toBe(invited.body.token);

    // A weak password is refused and the invitation stays usable; then it is used once.
    expect(
      (
        await anonymous.post("/api/v1/invitations/accept", {
          token: invited.body.token,
          password: inviteeEmail,
        })
      ).status,
    ).toBe(400);
    const joined = await anonymous.post<{ token: string; user: { id: string; role: string } }>(
      "/api/v1/invitations/accept",
      { token: invited.body.token, password: "member passphrase 1" },
    );
    expect(joined.status).toBe(201);
    expect(joined.body.user.role).toBe("manager");
    expect(
      (
        await anonymous.post("/api/v1/invitations/accept", {
          token: invited.body.token,
          password: "member passphrase 1",
        })
      ).status,
    ).toBe(404);

    // Revoked and expired invitations cannot be used.
    const revoked = await owner.client.post<{ id: string; token: string }>("/api/v1/invitations", {
      email: `r-${crypto.randomUUID()}@example.com`,
      role: "owner",
    });
    expect((await owner.client.delete(`/api/v1/invitations/${revoked.body.id}`)).status).toBe(204);
    expect(
      (
        await anonymous.post("/api/v1/invitations/accept", {
          token: revoked.body.token,
          password: "some passphrase",
        })
      ).status,
    ).toBe(404);
    const expired = await owner.client.post<{ id: string; token: string }>("/api/v1/invitations", {
      email: `e-${crypto.randomUUID()}@example.com`,
      role: "manager",
    });
    await app.database.db.execute(
      sql`update invitations set expires_at = now() - interval '1 second' where id = ${expired.body.id}`,
    );
    expect(
      (
        await anonymous.post("/api/v1/invitations/accept", {
          token: expired.body.token,
          password: "some passphrase",
        })
      ).status,
    ).toBe(404);
    expect((await owner.client.get<{ items: unknown[] }>("/api/v1/invitations")).body.items).toHaveLength(0);

    // Roles and removal; the last owner stays.
    const manager = apiClient(app.baseUrl, joined.body.token);
    expect((await manager.get("/api/v1/users")).status).toBe(403);
    const users = await owner.client.get<{ items: { id: string; email: string; role: string }[] }>(
      "/api/v1/users",
    );
    expect(users.body.items.map((u) => u.role).sort()).toEqual(["manager", "owner"]);
    const ownerId = users.body.items.find((u) => u.role === "owner")!.id;
    expect((await owner.client.patch(`/api/v1/users/${ownerId}`, { role: "manager" })).status).toBe(409);
    expect((await owner.client.delete(`/api/v1/users/${ownerId}`)).status).toBe(409);
    expect((await owner.client.patch(`/api/v1/users/${joined.body.user.id}`, { role: "owner" })).status).toBe(
      200,
    );
    expect((await manager.get("/api/v1/users")).status).toBe(200);
    expect(
      (await owner.client.patch(`/api/v1/users/${joined.body.user.id}`, { role: "manager" })).status,
    ).toBe(200);
    expect((await owner.client.delete(`/api/v1/users/${joined.body.user.id}`)).status).toBe(204);
    expect((await manager.get("/api/v1/me")).status).toBe(401);
    expect((await login(inviteeEmail, "member passphrase 1", "192.0.2.20")).status).toBe(401);
  });
});

describe("audit log", () => {
  it("records each audited action, and owners page and filter it", async () => {
    const owner = await registerOwner(app.baseUrl);
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    const wav = path.join(workDir, "tone.wav");
    execFileSync("ffmpeg", [
      "-loglevel",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:duration=2",
      wav,
    ]);
    const pushed = await pushRecording(source.body.ingestUrl, wav, { externalId: "audit-1" });
    const callId = String(pushed.body.callId);

    // Reads and listens: repeated ones within five minutes make one entry each.
    expect((await owner.client.get(`/api/v1/calls/${callId}`)).status).toBe(200);
    expect((await owner.client.get(`/api/v1/calls/${callId}`)).status).toBe(200);
    expect((await owner.client.get(`/api/v1/calls/${callId}/audio?redirect=false`)).status).toBe(200);
    expect((await owner.client.get(`/api/v1/calls/${callId}/audio?redirect=false`)).status).toBe(200);
    const csv = await fetch(`${app.baseUrl}/api/v1/calls/export.csv`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(csv.status).toBe(200);
    await csv.arrayBuffer();
    const created = await owner.client.post<{ id: string }>("/api/v1/users", {
      email: `m-${crypto.randomUUID()}@example.com`,
      password: "manager passphrase",
      role: "manager",
    });
    expect((await owner.client.patch(`/api/v1/users/${created.body.id}`, { role: "owner" })).status).toBe(
      200,
    );
    expect((await owner.client.delete(`/api/v1/users/${created.body.id}`)).status).toBe(204);
    const invitation = await owner.client.post<{ id: string; token: string }>("/api/v1/invitations", {
      email: `i-${crypto.randomUUID()}@example.com`,
      role: "manager",
    });
    const joined = await apiClient(app.baseUrl).post<{ token: string; user: { id: string } }>(
      "/api/v1/invitations/accept",
      { token: invitation.body.token, password: "joined passphrase" },
    );
    expect(
      (
        await apiClient(app.baseUrl, joined.body.token).post("/api/v1/me/password", {
          currentPassword: "joined passphrase",
          newPassword: "changed passphrase",
        })
      ).status,
    ).toBe(204);
    // Correcting one's own e-mail: the password confirms it, a taken e-mail is refused, then it signs in.
    const joinedClient = apiClient(app.baseUrl, joined.body.token);
    const corrected = `corrected-${crypto.randomUUID()}@example.com`;
    const wrongPassword = await joinedClient.patch("/api/v1/me", {
      email: corrected,
      currentPassword: "not my password",
    });
    expect(wrongPassword.status).toBe(403);
    const ownerEmail = (await owner.client.get<{ user: { email: string } }>("/api/v1/me")).body.user.email;
    const duplicate = await joinedClient.patch("/api/v1/me", {
      email: ownerEmail.toUpperCase(),
      currentPassword: "changed passphrase",
    });
    expect(duplicate.status).toBe(409);
    const fixed = await joinedClient.patch<{ user: { email: string } }>("/api/v1/me", {
      email: corrected.toUpperCase(),
      currentPassword: "changed passphrase",
    });
    expect(fixed.status).toBe(200);
    expect(fixed.body.user.email).toBe(corrected);
    expect((await login(corrected, "changed passphrase", "192.0.2.31")).status).toBe(200);
    expect((await owner.client.patch("/api/v1/account", { retentionDays: 365 })).status).toBe(200);
    const revokedInvitation = await owner.client.post<{ id: string }>("/api/v1/invitations", {
      email: `x-${crypto.randomUUID()}@example.com`,
      role: "manager",
    });
    await owner.client.delete(`/api/v1/invitations/${revokedInvitation.body.id}`);

    // Staff actions: block/unblock, invoice payment, refund.
    const staffEmail = `staff-${owner.accountId}@tyndau.kz`;
    await createStaffUser(app.database.db, { email: staffEmail, password: "staff password 1" });
    const staff = apiClient(
      app.baseUrl,
      (await login(staffEmail, "staff password 1", "192.0.2.30")).body.token,
    );
    expect((await staff.post(`/api/v1/admin/accounts/${owner.accountId}/block`)).status).toBe(200);
    expect((await staff.post(`/api/v1/admin/accounts/${owner.accountId}/unblock`)).status).toBe(200);
    const invoice = await owner.client.post<{ id: string }>("/api/v1/billing/invoices", {
      amount: "1000.00",
      payer: { name: "ТОО Аудит", bin: validBin("19084000352"), address: "Астана" },
    });
    expect(invoice.status).toBe(201);
    expect(
      (
        await staff.post(`/api/v1/admin/invoices/${invoice.body.id}/payments`, {
          amount: "1000.00",
          paidAt: new Date().toISOString(),
        })
      ).status,
    ).toBe(200);
    const payment = await owner.client.post<{ id: string }>("/api/v1/billing/payments", { amount: "500.00" });
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
    expect(
      (
        await staff.post(`/api/v1/admin/payments/${payment.body.id}/refund`, {
          amount: "100.00",
          reason: "Double",
        })
      ).status,
    ).toBe(200);

    // The owner's view: every action once, newest first, filterable and paged.
    const all: AuditPage["items"] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: AuditPage & { nextCursor: string | null } } =
        await owner.client.get(`/api/v1/account/audit?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      all.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    const count = (action: string, objectId?: string) =>
      all.filter((e) => e.action === action && (objectId === undefined || e.objectId === objectId)).length;
    expect(count("call.read", callId)).toBe(1);
    expect(count("call.listen", callId)).toBe(1);
    expect(count("calls.export_csv")).toBe(1);
    expect(count("user.create", created.body.id)).toBe(1);
    expect(count("user.update", created.body.id)).toBe(1);
    expect(count("user.delete", created.body.id)).toBe(1);
    expect(count("user.invite", invitation.body.id)).toBe(1);
    expect(count("user.invitation_accept", invitation.body.id)).toBe(1);
    expect(count("user.password_change", joined.body.user.id)).toBe(1);
    expect(count("user.update", joined.body.user.id)).toBe(1);
    expect(count("account.update", owner.accountId)).toBe(1);
    expect(all.find((e) => e.action === "account.update")?.details).toEqual({ fields: ["retentionDays"] });
    expect(count("user.invitation_revoke", revokedInvitation.body.id)).toBe(1);
    expect(count("staff.account_block", owner.accountId)).toBe(1);
    expect(count("staff.account_unblock", owner.accountId)).toBe(1);
    expect(count("staff.invoice_payment", invoice.body.id)).toBe(1);
    expect(count("staff.payment_refund", payment.body.id)).toBe(1);

    const filtered = await owner.client.get<AuditPage>("/api/v1/account/audit?action=call.read");
    expect(filtered.body.items.map((e) => e.action)).toEqual(["call.read"]);
    const byUser = await owner.client.get<AuditPage>(`/api/v1/account/audit?userId=${joined.body.user.id}`);
    expect([...new Set(byUser.body.items.map((e) => e.action))].sort()).toEqual([
      "user.invitation_accept",
      "user.password_change",
      "user.update",
    ]);
    const future = encodeURIComponent(new Date(Date.now() + 3600_000).toISOString());
    expect(
      (await owner.client.get<AuditPage>(`/api/v1/account/audit?from=${future}`)).body.items,
    ).toHaveLength(0);
    // Another account sees none of it; managers cannot read the log.
    const other = await registerOwner(app.baseUrl);
    expect((await other.client.get<AuditPage>("/api/v1/account/audit")).body.items).toHaveLength(0);
    expect((await apiClient(app.baseUrl, joined.body.token).get("/api/v1/account/audit")).status).toBe(403);
  });
});

describe("CORS", () => {
  it("serves no CORS headers to unlisted origins and answers listed origins' preflights", async () => {
    const preflight = (origin: string) =>
      fetch(`${app.baseUrl}/api/v1/me`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "GET",
          "access-control-request-headers": "authorization",
        },
      });
    const allowed = await preflight(ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(allowed.headers.get("access-control-allow-headers")).toContain("Authorization");
    expect(allowed.headers.get("access-control-allow-credentials")).toBeNull();
    const refused = await preflight("https://evil.example.com");
    expect(refused.status).toBe(403);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    const plain = await fetch(`${app.baseUrl}/healthz`, { headers: { origin: "https://evil.example.com" } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get("access-control-allow-origin")).toBeNull();
    const listed = await fetch(`${app.baseUrl}/healthz`, { headers: { origin: ORIGIN } });
    expect(listed.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  });
});
