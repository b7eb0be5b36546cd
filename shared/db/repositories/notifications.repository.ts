import { and, eq, gte, isNotNull, lt, type SQL, sql } from "drizzle-orm";
import type { LedgerTransactionType } from "../../domain/billing.ts";
import { type Money, moneyFromDb } from "../../money/money.ts";
import type { Db } from "../client.ts";
import { queryRows } from "../client.ts";
import { accounts, notifications, users } from "../schema/index.ts";
import type { AccountRow } from "./accounts.repository.ts";

/**
 * The `notifications` table (one row per dedupe key: pending → sent | failed, failed → pending again)
 * and the reads that decide who is due a notice. See shared/notifications/notifications.ts for the rules.
 */

/** E-mails of the account's owners (never managers or staff), in a stable order. */
export async function findOwnerEmails(db: Db, accountId: string): Promise<string[]> {
  const rows = await db
    .select({ email: users.email })
    .from(users)
    .where(and(eq(users.accountId, accountId), eq(users.role, "owner")))
    .orderBy(users.email);
  return rows.map((r) => r.email);
}

/**
 * Claims a dedupe key: inserts it as `pending`, or takes back a `failed` row. Returns the row id when
 * this caller won; undefined when the key is sent or being sent by someone else.
 */
export async function claimNotification(
  db: Db,
  input: { accountId: string; kind: string; dedupeKey: string; recipients: string[] },
): Promise<string | undefined> {
  const [inserted] = await db
    .insert(notifications)
    .values({
      accountId: input.accountId,
      kind: input.kind,
      dedupeKey: input.dedupeKey,
      recipients: input.recipients,
      status: "pending",
    })
    .onConflictDoNothing({ target: notifications.dedupeKey })
    .returning({ id: notifications.id });
  if (inserted) return inserted.id;
  // Under READ COMMITTED, two concurrent retries both wait on the row; the second re-checks
  // `status = 'failed'` on the updated row, finds `pending`, and updates nothing.
  const [retried] = await db
    .update(notifications)
    .set({ status: "pending", recipients: input.recipients })
    .where(and(eq(notifications.dedupeKey, input.dedupeKey), eq(notifications.status, "failed")))
    .returning({ id: notifications.id });
  return retried?.id;
}

/** Records the outcome of the send this caller claimed (only a row still `pending` changes). */
export async function completeNotification(db: Db, id: string, outcome: "sent" | "failed"): Promise<void> {
  await db
    .update(notifications)
    .set(outcome === "sent" ? { status: "sent", sentAt: sql`now()` } : { status: "failed" })
    .where(and(eq(notifications.id, id), eq(notifications.status, "pending")));
}

/**
 * The latest top-up by insertion time (not `occurred_at`, which a bank payment may date back): any
 * new top-up changes it.
 */
const latestTopUpIdSql = (accountId: SQL | string) =>
  sql`(select t.id::text from ledger_transactions t
       where t.account_id = ${accountId} and t.type = 'top_up'
       order by t.created_at desc, t.id desc limit 1)`;

export async function findLatestTopUpId(db: Db, accountId: string): Promise<string | null> {
  const [row] = await queryRows<{ id: string | null }>(db, sql`select ${latestTopUpIdSql(accountId)} as id`);
  return row?.id ?? null;
}

export async function countAwaitingCalls(db: Db, accountId: string): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from calls where account_id = ${accountId} and status = 'awaiting_funds'`,
  );
  return row?.n ?? 0;
}

/** No `sent` or `pending` row under this key (a `failed` one is to be retried). */
const notNotifiedYet = (dedupeKey: SQL) =>
  sql`not exists (select 1 from notifications n where n.dedupe_key = ${dedupeKey} and n.status <> 'failed')`;

const accountIdText = sql`${accounts.id}::text`;

/**
 * Active accounts whose available money (main + bonus) is below their threshold and that have no
 * notice under `low_balance:<account>:<latest top-up or "initial">`.
 */
export function findLowBalanceCandidates(db: Db): Promise<AccountRow[]> {
  return db
    .select()
    .from(accounts)
    .where(
      and(
        eq(accounts.status, "active"),
        isNotNull(accounts.lowBalanceThreshold),
        sql`coalesce((select sum(la.balance) from ledger_accounts la
                      where la.account_id = ${accounts.id} and la.currency = ${accounts.currency}
                        and la.kind in ('main', 'bonus')), 0) < ${accounts.lowBalanceThreshold}`,
        notNotifiedYet(
          sql`'low_balance:' || ${accountIdText} || ':' || coalesce(${latestTopUpIdSql(sql`${accounts.id}`)}, 'initial')`,
        ),
      ),
    );
}

/** Active accounts with calls awaiting funds and no notice under `suspended:<account>:<latest top-up>`. */
export function findSuspendedCandidates(db: Db): Promise<AccountRow[]> {
  return db
    .select()
    .from(accounts)
    .where(
      and(
        eq(accounts.status, "active"),
        sql`exists (select 1 from calls c where c.account_id = ${accounts.id} and c.status = 'awaiting_funds')`,
        notNotifiedYet(
          sql`'suspended:' || ${accountIdText} || ':' || coalesce(${latestTopUpIdSql(sql`${accounts.id}`)}, 'initial')`,
        ),
      ),
    );
}

/**
 * Active accounts registered in [registeredFrom, registeredUntil) with a positive bonus, no data source
 * and no ledger transaction of `billingEventTypes`, and no notice under `bonus_day5:<account>`.
 */
export function findBonusDay5Candidates(
  db: Db,
  input: { registeredFrom: Date; registeredUntil: Date; billingEventTypes: readonly LedgerTransactionType[] },
): Promise<AccountRow[]> {
  return db
    .select()
    .from(accounts)
    .where(
      and(
        eq(accounts.status, "active"),
        gte(accounts.createdAt, input.registeredFrom),
        lt(accounts.createdAt, input.registeredUntil),
        sql`exists (select 1 from ledger_accounts la
                    where la.account_id = ${accounts.id} and la.kind = 'bonus' and la.balance > 0)`,
        sql`not exists (select 1 from sources s where s.account_id = ${accounts.id})`,
        sql`not exists (select 1 from ledger_transactions t where t.account_id = ${accounts.id}
                        and t.type in (${sql.join(
                          input.billingEventTypes.map((t) => sql`${t}`),
                          sql`, `,
                        )}))`,
        notNotifiedYet(sql`'bonus_day5:' || ${accountIdText}`),
      ),
    );
}

/**
 * Paid invoices with a payment credited since `since` whose notice (`invoice_paid:<number>`) is missing
 * or failed. The amount is the invoice's: only an exact payment is credited.
 */
export async function findInvoicePaidCandidates(
  db: Db,
  since: Date,
): Promise<{ accountId: string; invoiceNumber: string; amount: Money }[]> {
  const rows = await queryRows<{ account_id: string; number: string; amount: string; currency: string }>(
    db,
    sql`select i.account_id, i.number, i.amount::text as amount, i.currency
        from invoices i
        where i.status = 'paid'
          and exists (select 1 from invoice_payments p where p.invoice_id = i.id and p.outcome = 'credited'
                      and p.created_at >= ${since.toISOString()}::timestamptz)
          and ${notNotifiedYet(sql`'invoice_paid:' || i.number`)}`,
  );
  return rows.map((r) => ({
    accountId: r.account_id,
    invoiceNumber: r.number,
    amount: moneyFromDb(r.amount, r.currency),
  }));
}
