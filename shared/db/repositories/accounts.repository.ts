import { and, eq, gt, isNull, ne } from "drizzle-orm";
import { type Currency, type Money, moneyFromDb } from "../../money/money.ts";
import type { Db } from "../client.ts";
import { accounts, sessions, users } from "../schema/index.ts";

export type AccountRow = typeof accounts.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type Role = UserRow["role"];

export async function createAccount(
  db: Db,
  input: { company: string; currency: Currency },
): Promise<AccountRow> {
  const [row] = await db.insert(accounts).values(input).returning();
  return row!;
}

export async function getAccount(db: Db, accountId: string): Promise<AccountRow | undefined> {
  const [row] = await db.select().from(accounts).where(eq(accounts.id, accountId));
  return row;
}

/** Inserts a user; returns undefined when the e-mail is taken (unique index, race-safe). */
export async function createUser(
  db: Db,
  input: { accountId: string; email: string; passwordHash: string; role: Role },
): Promise<UserRow | undefined> {
  const [row] = await db
    .insert(users)
    .values({ ...input, email: input.email.toLowerCase() })
    .onConflictDoNothing()
    .returning();
  return row;
}

/**
 * The operator's account (staff belong to it), created when missing: found by its mark
 * (`kind = 'operator'`, at most one by a unique index), so two creators at once end with one.
 */
export async function ensureOperatorAccount(db: Db, company: string): Promise<{ id: string }> {
  await db.insert(accounts).values({ company, currency: "KZT", kind: "operator" }).onConflictDoNothing();
  const [row] = await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.kind, "operator"));
  if (!row) throw new Error("the operator account could not be created");
  return row;
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.email, email.toLowerCase()));
  return row;
}

export async function createSession(
  db: Db,
  input: { userId: string; tokenHash: string; expiresAt: Date },
): Promise<void> {
  await db.insert(sessions).values(input);
}

export async function findActiveSession(
  db: Db,
  tokenHash: string,
  now: Date,
): Promise<{ sessionId: string; user: UserRow; account: AccountRow } | undefined> {
  const [row] = await db
    .select({ sessionId: sessions.id, user: users, account: accounts })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .innerJoin(accounts, eq(accounts.id, users.accountId))
    .where(and(eq(sessions.tokenHash, tokenHash), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)));
  return row;
}

export async function revokeSession(db: Db, sessionId: string, now: Date): Promise<void> {
  await db.update(sessions).set({ revokedAt: now }).where(eq(sessions.id, sessionId));
}

/** Blocks or unblocks a customer account (never a closed one, never the operator's own). */
export async function setAccountStatus(
  db: Db,
  accountId: string,
  status: "active" | "blocked",
): Promise<AccountRow | undefined> {
  const [row] = await db
    .update(accounts)
    .set({ status })
    .where(and(eq(accounts.id, accountId), ne(accounts.status, "closed"), eq(accounts.kind, "customer")))
    .returning();
  return row;
}

export type AccountSettings = Partial<
  Pick<
    AccountRow,
    | "company"
    | "retentionDays"
    | "maskPersonalData"
    | "speechLanguage"
    | "speechProviders"
    | "analysisProviders"
  > & { lowBalanceThreshold: Money | null }
>;

export async function updateAccountSettings(
  db: Db,
  accountId: string,
  patch: AccountSettings,
): Promise<AccountRow> {
  const { lowBalanceThreshold, ...rest } = patch;
  const set =
    lowBalanceThreshold === undefined
      ? rest
      : { ...rest, lowBalanceThreshold: lowBalanceThreshold?.toDbString() ?? null };
  const [row] = await db.update(accounts).set(set).where(eq(accounts.id, accountId)).returning();
  return row!;
}

/** The account's low-balance threshold as money (null: never warn). */
export function lowBalanceThresholdOf(
  account: Pick<AccountRow, "lowBalanceThreshold" | "currency">,
): Money | null {
  return account.lowBalanceThreshold ? moneyFromDb(account.lowBalanceThreshold, account.currency) : null;
}
