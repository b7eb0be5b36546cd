import type { Db } from "../db/client.ts";
import {
  ensureLedgerAccount,
  findTransactionEntries,
  loadCustomerLedger,
  postTransaction,
} from "../db/repositories/ledger.repository.ts";
import { type Currency, Money } from "../money/money.ts";

/**
 * Holds: money reserved for work in progress (a call's processing, a reanalysis). A hold is taken from
 * bonus first, then main, only when the available money covers it, decided under the lock of the
 * customer's ledger accounts. It ends exactly once: charged (to revenue / bonus_spent) or released.
 * `ref` names the work: `hold:<ref>`, `charge:<ref>`, `release:<ref>` are the ledger idempotency keys.
 */
export interface HoldRequest {
  accountId: string;
  ref: string;
  amount: Money;
  occurredAt: Date;
  /** Set for a call's own processing (one hold per call, enforced by a unique index). */
  callId?: string;
  memo?: string;
}

export async function placeHold(tx: Db, request: HoldRequest): Promise<"held" | "insufficient"> {
  const currency = request.amount.currency;
  const ledger = await loadCustomerLedger(tx, request.accountId, currency, { lock: true });
  const available = ledger.balances.main.plus(ledger.balances.bonus);
  if (available.compare(request.amount) < 0) return "insufficient";
  const fromBonus = ledger.balances.bonus.min(request.amount);
  const fromMain = request.amount.minus(fromBonus);
  await postTransaction(tx, {
    accountId: request.accountId,
    type: "hold",
    idempotencyKey: `hold:${request.ref}`,
    occurredAt: request.occurredAt,
    callId: request.callId,
    memo: request.memo,
    entries: [
      ...move(ledger.ids.bonus, ledger.ids.hold_bonus, fromBonus),
      ...move(ledger.ids.main, ledger.ids.hold_main, fromMain),
    ],
  });
  return "held";
}

export async function chargeHold(
  tx: Db,
  hold: { accountId: string; ref: string; currency: Currency; occurredAt: Date; callId?: string },
): Promise<void> {
  const parts = await holdParts(tx, hold.ref, hold.currency);
  // Locked in the same order as placeHold, so charging and holding for one account never deadlock.
  const ledger = await loadCustomerLedger(tx, hold.accountId, hold.currency, { lock: true });
  const revenue = await ensureLedgerAccount(tx, null, "revenue", hold.currency);
  const bonusSpent = await ensureLedgerAccount(tx, null, "bonus_spent", hold.currency);
  await postTransaction(tx, {
    accountId: hold.accountId,
    type: "charge",
    idempotencyKey: `charge:${hold.ref}`,
    occurredAt: hold.occurredAt,
    callId: hold.callId,
    entries: [
      ...move(ledger.ids.hold_bonus, bonusSpent, parts.bonus),
      ...move(ledger.ids.hold_main, revenue, parts.main),
    ],
  });
}

export async function releaseHold(
  tx: Db,
  hold: { accountId: string; ref: string; currency: Currency; occurredAt: Date; callId?: string },
): Promise<void> {
  const parts = await holdParts(tx, hold.ref, hold.currency);
  const ledger = await loadCustomerLedger(tx, hold.accountId, hold.currency, { lock: true });
  await postTransaction(tx, {
    accountId: hold.accountId,
    type: "release",
    idempotencyKey: `release:${hold.ref}`,
    occurredAt: hold.occurredAt,
    callId: hold.callId,
    entries: [
      ...move(ledger.ids.hold_bonus, ledger.ids.bonus, parts.bonus),
      ...move(ledger.ids.hold_main, ledger.ids.main, parts.main),
    ],
  });
}

/** Entries moving `amount` from one ledger account to another; none for zero (entries are never 0). */
function move(from: string, to: string, amount: Money) {
  if (amount.isZero()) return [];
  return [
    { ledgerAccountId: from, amount: amount.negated() },
    { ledgerAccountId: to, amount },
  ];
}

/** How a hold was split between bonus and main, read back from the hold transaction itself. */
async function holdParts(tx: Db, ref: string, currency: Currency): Promise<{ bonus: Money; main: Money }> {
  const entries = await findTransactionEntries(tx, `hold:${ref}`, currency);
  if (!entries) throw new Error(`no hold ${ref}`);
  const sum = (kind: string) =>
    entries.filter((e) => e.kind === kind).reduce((s, e) => s.plus(e.amount), Money.zero(currency));
  return { bonus: sum("hold_bonus"), main: sum("hold_main") };
}
