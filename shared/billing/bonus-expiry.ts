import { sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { queryRows } from "../db/client.ts";
import { ensureLedgerAccount, postTransaction, sumBalances } from "../db/repositories/ledger.repository.ts";
import type { Currency } from "../money/money.ts";
import { startOfAstanaDay } from "../time/astana-time.ts";
import { BONUS_GRACE_DAYS } from "./balance.ts";

/**
 * Clause 7.1.3: at the start of day 8 (Astana time, registration day = day 1) the welcome bonus of an
 * account that has neither connected a data source nor had a billing event is voided; the remainder
 * moves to the service's `bonus_expired` ledger account. Exactly once per account (idempotency key).
 */
export async function voidExpiredBonuses(
  db: Db,
  now: Date,
): Promise<{ voided: { accountId: string; amount: string }[] }> {
  // Registered before the start of (today − 6 days) means today is day 8 or later.
  const registeredBefore = new Date(startOfAstanaDay(now).getTime() - (BONUS_GRACE_DAYS - 1) * 86_400_000);
  const candidates = await queryRows<{ id: string; currency: Currency }>(
    db,
    sql`select a.id, a.currency from accounts a
        where a.created_at < ${registeredBefore.toISOString()}::timestamptz
          and not exists (select 1 from sources s where s.account_id = a.id)
          and not exists (select 1 from ledger_transactions t where t.account_id = a.id
                          and t.type in ('top_up', 'charge', 'hold', 'bonus_void'))
          and exists (select 1 from ledger_transactions t where t.account_id = a.id and t.type = 'bonus_grant')`,
  );
  const voided: { accountId: string; amount: string }[] = [];
  for (const account of candidates) {
    await db.transaction(async (tx) => {
      const { bonus } = await sumBalances(tx, account.id, account.currency);
      if (!bonus.isPositive()) return;
      const bonusAccount = await ensureLedgerAccount(tx, account.id, "bonus", account.currency);
      const expired = await ensureLedgerAccount(tx, null, "bonus_expired", account.currency);
      const { created } = await postTransaction(tx, {
        accountId: account.id,
        type: "bonus_void",
        idempotencyKey: `bonus_void:${account.id}`,
        occurredAt: now,
        memo: "Welcome bonus voided: no data source or billing event within 7 days",
        entries: [
          { ledgerAccountId: bonusAccount, amount: bonus.negated() },
          { ledgerAccountId: expired, amount: bonus },
        ],
      });
      if (created) voided.push({ accountId: account.id, amount: bonus.toFixed(2) });
    });
  }
  return { voided };
}
