import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabaseOf, databaseKinds, type TestDatabase } from "../../../test/harness/test-database.ts";
import { invitations, loginFailures } from "../schema/index.ts";
import { createAccount } from "./accounts.repository.ts";
import {
  createInvitation,
  deleteStaleSignInRecords,
  markInvitationRevoked,
  recordLoginFailure,
} from "./users.repository.ts";

const day = 86_400_000;

describe.each(databaseKinds)("sign-in housekeeping on %s", (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createDatabaseOf(kind);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("deletes only failures and finished invitations older than their lines", async () => {
    const db = t.database.db;
    const now = new Date("2026-06-10T12:00:00Z");
    const account = await createAccount(db, { company: "Acme", currency: "KZT" });
    await recordLoginFailure(db, {
      email: "old@example.kz",
      ip: "10.0.0.1",
      at: new Date(now.getTime() - day - 1000),
    });
    await recordLoginFailure(db, {
      email: "new@example.kz",
      ip: "10.0.0.2",
      at: new Date(now.getTime() - day + 1000),
    });
    const invite = (email: string, expiresAt: Date) =>
      createInvitation(db, {
        accountId: account.id,
        email,
        role: "manager",
        tokenHash: `hash-${email}`,
        invitedBy: account.id,
        expiresAt,
      });
    await invite("expired-long-ago@example.kz", new Date(now.getTime() - 31 * day));
    await invite("expired-lately@example.kz", new Date(now.getTime() - 29 * day));
    await invite("open@example.kz", new Date(now.getTime() + day));
    const revoked = await invite("revoked@example.kz", new Date(now.getTime() + day));
    await markInvitationRevoked(db, account.id, revoked.id, new Date(now.getTime() - 31 * day));

    const before = {
      failuresBefore: new Date(now.getTime() - day),
      invitationsBefore: new Date(now.getTime() - 30 * day),
    };
    expect(await deleteStaleSignInRecords(db, before)).toEqual({
      loginFailures: 1,
      registrationAttempts: 0,
      invitations: 2,
    });
    expect((await db.select().from(loginFailures)).map((r) => r.email)).toEqual(["new@example.kz"]);
    expect((await db.select().from(invitations)).map((r) => r.email).sort()).toEqual([
      "expired-lately@example.kz",
      "open@example.kz",
    ]);
    // Idempotent.
    expect(await deleteStaleSignInRecords(db, before)).toEqual({
      loginFailures: 0,
      registrationAttempts: 0,
      invitations: 0,
    });
  });
});
