import type { Db } from "../db/client.ts";
import type { AccountRow } from "../db/repositories/accounts.repository.ts";
import {
  ensureLedgerAccount,
  findTariffInForce,
  hasTransactionOfTypes,
  loadCustomerLedger,
  postTransaction,
  sumBalances,
} from "../db/repositories/ledger.repository.ts";
import { hasEverConnectedSource } from "../db/repositories/sources.repository.ts";
import type { Currency, Money } from "../money/money.ts";
import { endOfDayOnePeriod } from "../time/astana-time.ts";

/** Ledger movements that count as a "billing event" for clause 7.1.3 (a void ends the question too). */
export const billingEventTypes = ["top_up", "hold", "charge", "bonus_void"] as const;

/** Days the welcome bonus survives without a data source or a billing event (clause 7.1.3). */
export const BONUS_GRACE_DAYS = 7;

/**
 * Credits the welcome bonus once per account (idempotency key per account), from the service's
 * `bonus_issued` system account.
 */
export async function grantWelcomeBonus(db: Db, account: AccountRow, now: Date): Promise<void> {
  const currency = account.currency;
  const tariff = await findTariffInForce(db, currency, now);
  if (tariff.welcomeBonus.isZero()) return;
  const { ids } = await loadCustomerLedger(db, account.id, currency, { lock: false });
  const issued = await ensureLedgerAccount(db, null, "bonus_issued", currency);
  await postTransaction(db, {
    accountId: account.id,
    type: "bonus_grant",
    idempotencyKey: `bonus_grant:${account.id}`,
    occurredAt: now,
    memo: "Welcome bonus",
    entries: [
      { ledgerAccountId: ids.bonus, amount: tariff.welcomeBonus },
      { ledgerAccountId: issued, amount: tariff.welcomeBonus.negated() },
    ],
  });
}

export interface BalanceView {
  currency: Currency;
  available: Money;
  main: Money;
  bonus: Money;
  reserved: Money;
  bonusVoidsAt: Date | null;
  suspended: boolean;
}

/**
 * The balance as the API shows it. A hold moves money from `main`/`bonus` into `hold_main`/`hold_bonus`;
 * API.md's main and bonus include what is reserved, so main = main + hold_main, bonus = bonus + hold_bonus,
 * reserved = both holds, and available = what is left in main + bonus (never negative: the database
 * refuses it).
 */
export async function getBalance(
  db: Db,
  account: AccountRow,
  options: { awaitingFunds: boolean },
): Promise<BalanceView> {
  const currency = account.currency;
  const sums = await sumBalances(db, account.id, currency);
  const bonus = sums.bonus.plus(sums.hold_bonus);
  return {
    currency,
    available: sums.main.plus(sums.bonus),
    main: sums.main.plus(sums.hold_main),
    bonus,
    reserved: sums.hold_main.plus(sums.hold_bonus),
    bonusVoidsAt: await bonusVoidsAt(db, account, bonus),
    suspended: options.awaitingFunds,
  };
}

/** When the bonus will be voided, or null once it no longer can be (source connected, billing event, none left). */
async function bonusVoidsAt(db: Db, account: AccountRow, bonus: Money): Promise<Date | null> {
  if (!bonus.isPositive()) return null;
  if (await hasEverConnectedSource(db, account.id)) return null;
  if (await hasTransactionOfTypes(db, account.id, billingEventTypes)) return null;
  return endOfDayOnePeriod(account.createdAt, BONUS_GRACE_DAYS);
}
