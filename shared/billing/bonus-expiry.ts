import type { Db } from "../db/client.ts";
import {
  ensureLedgerAccount,
  findUnvoidedBonusAccounts,
  hasSourceOrTransactionBefore,
  loadCustomerLedger,
  postTransaction,
} from "../db/repositories/ledger.repository.ts";
import type { Currency, Money } from "../money/money.ts";
import { endOfDayOnePeriod, startOfAstanaDay } from "../time/astana-time.ts";
import { BONUS_GRACE_DAYS, billingEventTypes } from "./balance.ts";

export interface BonusAccount {
  id: string;
  currency: Currency;
  createdAt: Date;
}

/**
 * Clause 7.1.3: the welcome bonus is voided at the start of day 8 (Astana time, registration day = day 1)
 * unless, before that instant, a data source was connected or a billing event happened. The remainder
 * moves to the service's `bonus_expired` account, once (idempotency key per account). Decided under the
 * lock of the customer's ledger accounts, so a void and a first charge at the boundary cannot both use
 * the bonus: whichever locks first wins, and the other sees its result. Returns the voided amount.
 */
export async function voidBonusIfDue(tx: Db, account: BonusAccount, now: Date): Promise<Money | null> {
  const deadline = endOfDayOnePeriod(account.createdAt, BONUS_GRACE_DAYS);
  if (now.getTime() < deadline.getTime()) return null;
  const { currency } = account;
  const ledger = await loadCustomerLedger(tx, account.id, currency, { lock: true });
  const bonus = ledger.balances.bonus;
  if (!bonus.isPositive()) return null;
  if (await hasSourceOrTransactionBefore(tx, account.id, deadline, billingEventTypes)) return null;
  const expired = await ensureLedgerAccount(tx, null, "bonus_expired", currency);
  const { created } = await postTransaction(tx, {
    accountId: account.id,
    type: "bonus_void",
    idempotencyKey: `bonus_void:${account.id}`,
    occurredAt: deadline,
    memo: "Welcome bonus voided: no data source or billing event within 7 days",
    entries: [
      { ledgerAccountId: ledger.ids.bonus, amount: bonus.negated() },
      { ledgerAccountId: expired, amount: bonus },
    ],
  });
  return created ? bonus : null;
}

/** The `bonus-expiry` job: every account whose day 8 has started and that may still hold a voidable bonus. */
export async function voidExpiredBonuses(
  db: Db,
  now: Date,
): Promise<{ voided: { accountId: string; amount: string }[] }> {
  // Registered before the start of (today − 6 days) means today is day 8 or later.
  const registeredBefore = new Date(startOfAstanaDay(now).getTime() - (BONUS_GRACE_DAYS - 1) * 86_400_000);
  const candidates = await findUnvoidedBonusAccounts(db, registeredBefore);
  const voided: { accountId: string; amount: string }[] = [];
  for (const account of candidates) {
    const amount = await db.transaction((tx) => voidBonusIfDue(tx, account, now));
    if (amount) voided.push({ accountId: account.id, amount: amount.toFixed(2) });
  }
  return { voided };
}
