import { and, asc, eq, gt, gte, isNull, lt, ne, or, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { invitations, loginFailures, registrationAttempts, sessions, users } from "../schema/index.ts";
import type { Role, UserRow } from "./accounts.repository.ts";

export type InvitationRow = typeof invitations.$inferSelect;

/** The account's users (staff users belong to no customer account and never appear here). */
export async function listAccountUsers(db: Db, accountId: string): Promise<UserRow[]> {
  return db.select().from(users).where(eq(users.accountId, accountId)).orderBy(asc(users.createdAt));
}

export async function getAccountUser(
  db: Db,
  accountId: string,
  userId: string,
): Promise<UserRow | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(and(eq(users.accountId, accountId), eq(users.id, userId)));
  return row;
}

/**
 * Locks the account's owner rows so that two concurrent demotions/removals cannot both pass the
 * "not the last owner" check; returns how many owners there are.
 */
export async function lockAndCountOwners(db: Db, accountId: string): Promise<number> {
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.accountId, accountId), eq(users.role, "owner")))
    .for("update");
  return rows.length;
}

export async function setUserRole(
  db: Db,
  accountId: string,
  userId: string,
  role: Exclude<Role, "staff">,
): Promise<UserRow | undefined> {
  const [row] = await db
    .update(users)
    .set({ role })
    .where(and(eq(users.accountId, accountId), eq(users.id, userId)))
    .returning();
  return row;
}

export async function deleteAccountUser(db: Db, accountId: string, userId: string): Promise<boolean> {
  const rows = await db
    .delete(users)
    .where(and(eq(users.accountId, accountId), eq(users.id, userId)))
    .returning({ id: users.id });
  return rows.length > 0;
}

/** Changes a user's e-mail; undefined when another user already has it. */
export async function setUserEmail(db: Db, userId: string, email: string): Promise<UserRow | undefined> {
  const [taken] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.email, email.toLowerCase()), ne(users.id, userId)));
  if (taken) return undefined;
  const [row] = await db
    .update(users)
    .set({ email: email.toLowerCase() })
    .where(eq(users.id, userId))
    .returning();
  return row;
}

export async function setUserPassword(db: Db, userId: string, passwordHash: string): Promise<void> {
  await db.update(users).set({ passwordHash }).where(eq(users.id, userId));
}

/** Revokes every live session of a user, except `keepSessionId` (the one that made the change). */
export async function revokeUserSessions(
  db: Db,
  userId: string,
  now: Date,
  keepSessionId?: string,
): Promise<number> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: now })
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        keepSessionId ? ne(sessions.id, keepSessionId) : undefined,
      ),
    )
    .returning({ id: sessions.id });
  return rows.length;
}

// ── Login throttling ──────────────────────────────────────────────────────────────────────────────

/**
 * Records a sign-in attempt as a failure before its password is checked (returns its id): counted
 * right after, every attempt in flight is already in the count, so parallel guesses cannot all pass
 * the throttle. A successful attempt clears the e-mail's failures; a refused one deletes its own row.
 */
export async function recordLoginFailure(
  db: Db,
  input: { email: string; ip: string; at: Date },
): Promise<string> {
  const [row] = await db
    .insert(loginFailures)
    .values({ email: input.email, ip: input.ip, createdAt: input.at })
    .returning({ id: loginFailures.id });
  return row!.id;
}

export async function deleteLoginFailure(db: Db, id: string): Promise<void> {
  await db.delete(loginFailures).where(eq(loginFailures.id, id));
}

/**
 * Records a registration attempt of a client address and counts the address's attempts since `since`
 * (its own included), after pruning the address's rows older than that: insert first, count after, so
 * parallel attempts all count.
 */
export async function recordRegistrationAttempt(
  db: Db,
  input: { ip: string; at: Date; since: Date },
): Promise<{ id: string; count: number; oldest: Date }> {
  await db
    .delete(registrationAttempts)
    .where(and(eq(registrationAttempts.ip, input.ip), lt(registrationAttempts.createdAt, input.since)));
  const [row] = await db
    .insert(registrationAttempts)
    .values({ ip: input.ip, createdAt: input.at })
    .returning({ id: registrationAttempts.id });
  const [counted] = await db
    .select({
      count: sql<number>`count(*)`.mapWith(Number),
      oldest: sql<string | Date>`min(${registrationAttempts.createdAt})`,
    })
    .from(registrationAttempts)
    .where(and(eq(registrationAttempts.ip, input.ip), gte(registrationAttempts.createdAt, input.since)));
  return { id: row!.id, count: counted?.count ?? 1, oldest: new Date(counted?.oldest ?? input.at) };
}

export async function deleteRegistrationAttempt(db: Db, id: string): Promise<void> {
  await db.delete(registrationAttempts).where(eq(registrationAttempts.id, id));
}

/** Failures since `since` for the e-mail and for the address, with the oldest of each (for Retry-After); one query. */
export async function loginFailureCounts(db: Db, input: { email: string; ip: string; since: Date }) {
  const byEmail = sql`${loginFailures.email} = ${input.email}`;
  const byIp = sql`${loginFailures.ip} = ${input.ip}`;
  const [row] = await db
    .select({
      emailCount: sql<number>`count(*) filter (where ${byEmail})`.mapWith(Number),
      emailOldest: sql<string | null>`min(${loginFailures.createdAt}) filter (where ${byEmail})`,
      ipCount: sql<number>`count(*) filter (where ${byIp})`.mapWith(Number),
      ipOldest: sql<string | null>`min(${loginFailures.createdAt}) filter (where ${byIp})`,
    })
    .from(loginFailures)
    .where(
      and(
        or(eq(loginFailures.email, input.email), eq(loginFailures.ip, input.ip)),
        gte(loginFailures.createdAt, input.since),
      ),
    );
  const at = (v: string | Date | null | undefined) => (v ? new Date(v) : null);
  return {
    email: { count: row?.emailCount ?? 0, oldest: at(row?.emailOldest) },
    ip: { count: row?.ipCount ?? 0, oldest: at(row?.ipOldest) },
  };
}

/** A successful sign-in clears the e-mail's failures (not the address's: one address may try many e-mails). */
export async function clearLoginFailures(db: Db, email: string): Promise<void> {
  await db.delete(loginFailures).where(eq(loginFailures.email, email));
}

/** Housekeeping on each failure: this e-mail's and this address's rows older than the window no longer count. */
export async function pruneLoginFailures(db: Db, input: { email: string; ip: string; before: Date }) {
  await db
    .delete(loginFailures)
    .where(
      and(
        or(eq(loginFailures.email, input.email), eq(loginFailures.ip, input.ip)),
        lt(loginFailures.createdAt, input.before),
      ),
    );
}

// ── Invitations ───────────────────────────────────────────────────────────────────────────────────

export async function createInvitation(
  db: Db,
  input: {
    accountId: string;
    email: string;
    role: "owner" | "manager";
    tokenHash: string;
    invitedBy: string;
    expiresAt: Date;
  },
): Promise<InvitationRow> {
  const [row] = await db.insert(invitations).values(input).returning();
  return row!;
}

/** Open (not accepted, not revoked, not expired) invitations of the account. */
export async function listOpenInvitations(db: Db, accountId: string, now: Date): Promise<InvitationRow[]> {
  return db
    .select()
    .from(invitations)
    .where(
      and(
        eq(invitations.accountId, accountId),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
        gt(invitations.expiresAt, now),
      ),
    )
    .orderBy(asc(invitations.createdAt));
}

/** Revokes an open invitation of the account; false when there is none with that id. */
export async function markInvitationRevoked(
  db: Db,
  accountId: string,
  id: string,
  now: Date,
): Promise<boolean> {
  const rows = await db
    .update(invitations)
    .set({ revokedAt: now })
    .where(
      and(
        eq(invitations.accountId, accountId),
        eq(invitations.id, id),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
      ),
    )
    .returning({ id: invitations.id });
  return rows.length > 0;
}

/** An open invitation by its token hash, without claiming it (the cheap check before hashing a password). */
export async function findOpenInvitation(
  db: Db,
  tokenHash: string,
  now: Date,
): Promise<InvitationRow | undefined> {
  const [row] = await db
    .select()
    .from(invitations)
    .where(
      and(
        eq(invitations.tokenHash, tokenHash),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
        gt(invitations.expiresAt, now),
      ),
    );
  return row;
}

/**
 * Claims an open invitation by its token hash (single use: the update succeeds for exactly one caller).
 * Lookup by the token itself, so no account scope is known yet.
 */
export async function claimInvitation(
  db: Db,
  tokenHash: string,
  now: Date,
): Promise<InvitationRow | undefined> {
  const [row] = await db
    .update(invitations)
    .set({ acceptedAt: now })
    .where(
      and(
        eq(invitations.tokenHash, tokenHash),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
        gt(invitations.expiresAt, now),
      ),
    )
    .returning();
  return row;
}

/**
 * Housekeeping for records that hold e-mails and client addresses but no longer serve a purpose:
 * sign-in failures and registration attempts older than `failuresBefore` (past any throttling window)
 * and invitations that expired, were accepted or were revoked before `invitationsBefore`. Returns how
 * many rows went.
 */
export async function deleteStaleSignInRecords(
  db: Db,
  input: { failuresBefore: Date; invitationsBefore: Date },
): Promise<{ loginFailures: number; registrationAttempts: number; invitations: number }> {
  const failures = await db
    .delete(loginFailures)
    .where(lt(loginFailures.createdAt, input.failuresBefore))
    .returning({ id: loginFailures.id });
  const registrations = await db
    .delete(registrationAttempts)
    .where(lt(registrationAttempts.createdAt, input.failuresBefore))
    .returning({ id: registrationAttempts.id });
  const before = input.invitationsBefore;
  const invites = await db
    .delete(invitations)
    .where(
      or(
        lt(invitations.expiresAt, before),
        lt(invitations.acceptedAt, before),
        lt(invitations.revokedAt, before),
      ),
    )
    .returning({ id: invitations.id });
  return {
    loginFailures: failures.length,
    registrationAttempts: registrations.length,
    invitations: invites.length,
  };
}
