import type { Db } from "../db/client.ts";
import type { AccountRow } from "../db/repositories/accounts.repository.ts";
import {
  ensureLedgerAccount,
  findTariffInForce,
  hasTransactionOfTypes,
  postTransaction,
  sumBalances,
} from "../db/repositories/ledger.repository.ts";
import { findSources } from "../db/repositories/sources.repository.ts";
import type { Currency, Money } from "../money/money.ts";
import { endOfDayOnePeriod } from "../time/astana-time.ts";

/** Days the welcome bonus survives without a data source or a billing event (clause 7.1.3). */
export const BONUS_GRACE_DAYS = 7;

/**
 * Credits the welcome bonus once per account (idempotency key per account), from the service's
 * `bonus_issued` system account.
 */
export async function grantWelcomeBonus(db: Db, account: AccountRow, now: Date): Promise<void> {
  const currency = account.currency as Currency;
  const tariff = await findTariffInForce(db, currency, now);
  if (tariff.welcomeBonus.isZero()) return;
  const bonus = await ensureLedgerAccount(db, account.id, "bonus", currency);
  const issued = await ensureLedgerAccount(db, null, "bonus_issued", currency);
  await postTransaction(db, {
    accountId: account.id,
    type: "bonus_grant",
    idempotencyKey: `bonus_grant:${account.id}`,
    occurredAt: now,
    memo: "Welcome bonus",
    entries: [
      { ledgerAccountId: bonus, amount: tariff.welcomeBonus },
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
 * The balance as the API shows it. Holds move money into the `hold` ledger account, so `reserved` is the
 * hold balance and available = main + bonus − reserved (issue #3 adds the holds themselves).
 */
export async function getBalance(
  db: Db,
  account: AccountRow,
  options: { awaitingFunds: boolean },
): Promise<BalanceView> {
  const currency = account.currency as Currency;
  const sums = await sumBalances(db, account.id, currency);
  const reserved = sums.hold;
  const available = sums.main.plus(sums.bonus).minus(reserved);
  return {
    currency,
    available,
    main: sums.main,
    bonus: sums.bonus,
    reserved,
    bonusVoidsAt: await bonusVoidsAt(db, account, sums.bonus),
    suspended: options.awaitingFunds,
  };
}

/** When the bonus will be voided, or null once it no longer can be (source connected, billing event, none left). */
async function bonusVoidsAt(db: Db, account: AccountRow, bonus: Money): Promise<Date | null> {
  if (!bonus.isPositive()) return null;
  if ((await findSources(db, account.id)).length > 0) return null;
  if (await hasTransactionOfTypes(db, account.id, ["top_up", "charge", "bonus_void"])) return null;
  return endOfDayOnePeriod(account.createdAt, BONUS_GRACE_DAYS);
}
