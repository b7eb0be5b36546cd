import { createHash } from "node:crypto";
import { and, desc, eq, isNull, lt, lte, sql } from "drizzle-orm";
import type { LedgerAccountKind, LedgerTransactionType } from "../../domain/billing.ts";
import { type Currency, Money, moneyFromDb } from "../../money/money.ts";
import type { Db } from "../client.ts";
import { queryRows } from "../client.ts";
import { accounts, ledgerAccounts, ledgerEntries, ledgerTransactions, tariffs } from "../schema/index.ts";

export type LedgerTransactionRow = typeof ledgerTransactions.$inferSelect;

/**
 * System ledger accounts (revenue, clearing, …) exist for every currency from the start (migration 0004)
 * with ids derived from their kind and currency, so postings name them without a lookup.
 */
export function systemLedgerAccountId(kind: LedgerAccountKind, currency: Currency): string {
  const hex = createHash("md5").update(`tyndau-ledger:${kind}:${currency}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The ledger account id: system accounts by their fixed id, customer accounts opened on first use. */
export async function ensureLedgerAccount(
  db: Db,
  accountId: string | null,
  kind: LedgerAccountKind,
  currency: Currency,
): Promise<string> {
  if (accountId === null) return systemLedgerAccountId(kind, currency);
  return openLedgerAccount(db, accountId, kind, currency);
}

async function openLedgerAccount(
  db: Db,
  accountId: string | null,
  kind: LedgerAccountKind,
  currency: Currency,
): Promise<string> {
  await db.insert(ledgerAccounts).values({ accountId, kind, currency }).onConflictDoNothing();
  const [row] = await db
    .select({ id: ledgerAccounts.id })
    .from(ledgerAccounts)
    .where(
      and(
        accountId === null ? isNull(ledgerAccounts.accountId) : eq(ledgerAccounts.accountId, accountId),
        eq(ledgerAccounts.kind, kind),
        eq(ledgerAccounts.currency, currency),
      ),
    );
  return row!.id;
}

export interface PostingInput {
  accountId: string | null;
  type: LedgerTransactionType;
  idempotencyKey: string;
  occurredAt: Date;
  callId?: string;
  paymentId?: string;
  invoiceId?: string;
  memo?: string;
  entries: { ledgerAccountId: string; amount: Money }[];
}

/**
 * Posts a balanced transaction exactly once per idempotency key. Returns `created: false` when the key
 * was already used (a retry), in which case nothing is written. The database re-checks the balance at commit.
 */
export async function postTransaction(
  db: Db,
  input: PostingInput,
): Promise<{ transactionId: string; created: boolean }> {
  const total = input.entries.reduce(
    (sum, e) => sum.plus(e.amount),
    Money.zero(input.entries[0]!.amount.currency),
  );
  if (!total.isZero()) throw new Error(`unbalanced ledger transaction ${input.idempotencyKey}: ${total}`);
  // One round trip: the transaction row and its entries together; nothing when the key was used before.
  const entryRows = input.entries.map(
    (e) => sql`(${e.ledgerAccountId}::uuid, ${e.amount.toDbString()}::numeric, ${e.amount.currency})`,
  );
  const [posted] = await queryRows<{ id: string | null; entries: number }>(
    db,
    sql`with t as (
          insert into ${ledgerTransactions} (account_id, type, idempotency_key, occurred_at, call_id, payment_id, invoice_id, memo)
          values (${input.accountId}, ${input.type}, ${input.idempotencyKey}, ${input.occurredAt.toISOString()}::timestamptz,
                  ${input.callId ?? null}, ${input.paymentId ?? null}, ${input.invoiceId ?? null}, ${input.memo ?? null})
          on conflict (idempotency_key) do nothing
          returning id
        ), e as (
          insert into ${ledgerEntries} (transaction_id, ledger_account_id, amount, currency)
          select t.id, v.ledger_account_id, v.amount, v.currency
          from t, (values ${sql.join(entryRows, sql`, `)}) as v (ledger_account_id, amount, currency)
          returning 1
        )
        select (select id from t) as id, (select count(*)::int from e) as entries`,
  );
  if (posted?.id) return { transactionId: posted.id, created: true };
  const [existing] = await db
    .select({ id: ledgerTransactions.id })
    .from(ledgerTransactions)
    .where(eq(ledgerTransactions.idempotencyKey, input.idempotencyKey));
  return { transactionId: existing!.id, created: false };
}

export type CustomerLedgerKind = "main" | "bonus" | "hold_main" | "hold_bonus";
export const customerLedgerKinds: CustomerLedgerKind[] = ["main", "bonus", "hold_main", "hold_bonus"];

export interface CustomerLedger {
  ids: Record<CustomerLedgerKind, string>;
  balances: Record<CustomerLedgerKind, Money>;
}

/**
 * The customer's four ledger accounts with their cached balances. With `lock`, the rows are locked
 * FOR UPDATE (always in the same order, so two transactions never deadlock on them): a reservation or
 * a void decided on these balances cannot be overtaken by another one before it commits.
 */
export async function loadCustomerLedger(
  db: Db,
  accountId: string,
  currency: Currency,
  options: { lock: boolean },
): Promise<CustomerLedger> {
  const select = () =>
    queryRows<{ id: string; kind: CustomerLedgerKind; balance: string }>(
      db,
      sql`select id, kind, balance::text as balance from ${ledgerAccounts}
          where account_id = ${accountId} and currency = ${currency}
            and kind in ('main', 'bonus', 'hold_main', 'hold_bonus')
          order by kind
          ${options.lock ? sql`for update` : sql``}`,
    );
  let rows = await select();
  if (rows.length < customerLedgerKinds.length) {
    // First movement of this account in this currency: open its ledger accounts (race-safe).
    await db
      .insert(ledgerAccounts)
      .values(customerLedgerKinds.map((kind) => ({ accountId, kind, currency })))
      .onConflictDoNothing();
    rows = await select();
  }
  const ids = {} as Record<CustomerLedgerKind, string>;
  const balances = {} as Record<CustomerLedgerKind, Money>;
  for (const row of rows) {
    ids[row.kind] = row.id;
    balances[row.kind] = moneyFromDb(row.balance, currency);
  }
  return { ids, balances };
}

/** Cached balances (the trigger keeps them equal to the sum of entries; `ledger_violations` proves it). */
export async function sumBalances(
  db: Db,
  accountId: string,
  currency: Currency,
): Promise<Record<CustomerLedgerKind, Money>> {
  const rows = await queryRows<{ kind: string; balance: string }>(
    db,
    sql`select kind, balance::text as balance from ${ledgerAccounts} where account_id = ${accountId} and currency = ${currency}`,
  );
  const out: Record<CustomerLedgerKind, Money> = {
    main: Money.zero(currency),
    bonus: Money.zero(currency),
    hold_main: Money.zero(currency),
    hold_bonus: Money.zero(currency),
  };
  for (const row of rows) {
    if ((customerLedgerKinds as string[]).includes(row.kind))
      out[row.kind as CustomerLedgerKind] = moneyFromDb(row.balance, currency);
  }
  return out;
}

/** Entries of one transaction by ledger-account kind (e.g. how a call's hold was split bonus/main). */
export async function findTransactionEntries(
  db: Db,
  idempotencyKey: string,
  currency: Currency,
): Promise<{ kind: string; amount: Money }[] | undefined> {
  const rows = await queryRows<{ kind: string; amount: string }>(
    db,
    sql`select la.kind, e.amount::text as amount
        from ${ledgerTransactions} t
        join ${ledgerEntries} e on e.transaction_id = t.id
        join ${ledgerAccounts} la on la.id = e.ledger_account_id
        where t.idempotency_key = ${idempotencyKey}`,
  );
  if (rows.length === 0) return undefined;
  return rows.map((r) => ({ kind: r.kind, amount: moneyFromDb(r.amount, currency) }));
}

export interface LedgerViolation {
  problem: string;
  subject: string;
  detail: string;
}

/** The books' invariants, checked by the database view `ledger_violations`: an empty list is healthy. */
export async function findLedgerViolations(db: Db): Promise<LedgerViolation[]> {
  return queryRows<LedgerViolation>(db, sql`select problem, subject, detail from ledger_violations`);
}

export interface LedgerLine {
  id: string;
  at: Date;
  type: LedgerTransactionType;
  /** Signed effect on the customer's main + bonus (which include reserved money, as API.md defines them). */
  amount: Money;
  /** Signed effect on the reserved money (holds +, settlements and releases −). */
  reservedChange: Money;
  callId: string | null;
  paymentId: string | null;
  invoiceId: string | null;
}

export async function findLedgerLines(
  db: Db,
  accountId: string,
  currency: Currency,
  options: { limit: number; before?: { at: Date; id: string } },
): Promise<LedgerLine[]> {
  const rows = await queryRows<{
    id: string;
    occurred_at: Date | string;
    type: LedgerTransactionType;
    amount: string;
    reserved: string;
    call_id: string | null;
    payment_id: string | null;
    invoice_id: string | null;
  }>(
    db,
    sql`select t.id, t.occurred_at, t.type, coalesce(sum(e.amount), 0)::text as amount,
               coalesce(sum(e.amount) filter (where la.kind in ('hold_main','hold_bonus')), 0)::text as reserved,
               t.call_id, t.payment_id, t.invoice_id
        from ${ledgerTransactions} t
        join ${ledgerEntries} e on e.transaction_id = t.id
        join ${ledgerAccounts} la on la.id = e.ledger_account_id and la.account_id = ${accountId}
        where t.account_id = ${accountId}
        ${options.before ? sql`and (t.occurred_at, t.id) < (${options.before.at.toISOString()}::timestamptz, ${options.before.id}::uuid)` : sql``}
        group by t.id
        order by t.occurred_at desc, t.id desc
        limit ${options.limit}`,
  );
  return rows.map((r) => ({
    id: r.id,
    at: new Date(r.occurred_at),
    type: r.type,
    amount: moneyFromDb(r.amount, currency),
    reservedChange: moneyFromDb(r.reserved, currency),
    callId: r.call_id,
    paymentId: r.payment_id,
    invoiceId: r.invoice_id,
  }));
}

export async function hasTransactionOfTypes(
  db: Db,
  accountId: string,
  types: readonly LedgerTransactionType[],
): Promise<boolean> {
  const rows = await queryRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from ${ledgerTransactions}
        where account_id = ${accountId} and type in (${sql.join(
          types.map((t) => sql`${t}`),
          sql`, `,
        )})`,
  );
  return (rows[0]?.n ?? 0) > 0;
}

/**
 * Whether, before `before`, the account connected a data source or had a ledger transaction of one of
 * `types` (what keeps the welcome bonus, clause 7.1.3).
 */
export async function hasSourceOrTransactionBefore(
  db: Db,
  accountId: string,
  before: Date,
  types: readonly LedgerTransactionType[],
): Promise<boolean> {
  const [row] = await queryRows<{ kept: boolean }>(
    db,
    sql`select exists (select 1 from sources where account_id = ${accountId} and created_at < ${before.toISOString()}::timestamptz)
            or exists (select 1 from ledger_transactions where account_id = ${accountId}
                       and occurred_at < ${before.toISOString()}::timestamptz
                       and type in (${sql.join(
                         types.map((t) => sql`${t}`),
                         sql`, `,
                       )})) as kept`,
  );
  return row?.kept === true;
}

/** Accounts registered before `registeredBefore` with a positive bonus that was never voided. */
export async function findUnvoidedBonusAccounts(
  db: Db,
  registeredBefore: Date,
): Promise<{ id: string; currency: Currency; createdAt: Date }[]> {
  return db
    .select({ id: accounts.id, currency: accounts.currency, createdAt: accounts.createdAt })
    .from(accounts)
    .where(
      and(
        lt(accounts.createdAt, registeredBefore),
        sql`exists (select 1 from ledger_accounts la where la.account_id = ${accounts.id} and la.kind = 'bonus' and la.balance > 0)`,
        sql`not exists (select 1 from ledger_transactions t where t.account_id = ${accounts.id} and t.type = 'bonus_void')`,
      ),
    );
}

export interface Tariff {
  id: string;
  version: number;
  currency: Currency;
  transcriptionPerMinute: Money;
  templateBasePerMinute: Money;
  perQuestionPerMinute: Money;
  welcomeBonus: Money;
}

/** The tariff version in force at `at` for a currency. */
export async function findTariffInForce(db: Db, currency: Currency, at: Date): Promise<Tariff> {
  const [row] = await db
    .select()
    .from(tariffs)
    .where(and(eq(tariffs.currency, currency), lte(tariffs.effectiveFrom, at)))
    .orderBy(desc(tariffs.effectiveFrom), desc(tariffs.version))
    .limit(1);
  if (!row) throw new Error(`no tariff in force for ${currency} at ${at.toISOString()}`);
  return {
    id: row.id,
    version: row.version,
    currency,
    transcriptionPerMinute: moneyFromDb(row.transcriptionPerMinute, currency),
    templateBasePerMinute: moneyFromDb(row.templateBasePerMinute, currency),
    perQuestionPerMinute: moneyFromDb(row.perQuestionPerMinute, currency),
    welcomeBonus: moneyFromDb(row.welcomeBonus, currency),
  };
}
