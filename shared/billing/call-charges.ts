import type { Db } from "../db/client.ts";
import { getAccount } from "../db/repositories/accounts.repository.ts";
import type { CallRow } from "../db/repositories/calls.repository.ts";
import { updateCall } from "../db/repositories/calls.repository.ts";
import {
  ensureLedgerAccount,
  findTariffInForce,
  findTransactionEntries,
  loadCustomerLedger,
  postTransaction,
} from "../db/repositories/ledger.repository.ts";
import { findTemplates } from "../db/repositories/templates.repository.ts";
import { type Currency, Money } from "../money/money.ts";
import { voidBonusIfDue } from "./bonus-expiry.ts";
import type { CallBilling } from "./call-billing.ts";
import { callCost, pricePerMinute } from "./tariff.ts";

const holdKey = (callId: string) => `hold:${callId}`;

/**
 * Two-phase charging per call on the double-entry ledger (PRODUCT.md steps 3 and 8):
 * reserve = a `hold` moving the cost from bonus (first) and main into the hold accounts, only when
 * available ≥ cost, decided under a row lock of the customer's ledger accounts; settle = a `charge`
 * moving the hold to revenue; release = a `release` moving it back. Each is keyed by the call, and a
 * unique index lets only one of charge/release exist per call, so retries and races cannot double-spend.
 * All run inside the caller's transaction, which also holds the call row's lock.
 */
export function createLedgerCallBilling(): CallBilling {
  return {
    async reserve(tx, call, now) {
      if (call.costStatus) return { outcome: call.costStatus === "released" ? "free" : "reserved" };
      const account = await getAccount(tx, call.accountId);
      if (!account) throw new Error(`account ${call.accountId} of call ${call.id} not found`);
      const currency = account.currency as Currency;
      // A bonus past its void instant is voided first: it must not pay for a call made after that.
      await voidBonusIfDue(tx, account, now);
      const tariff = await findTariffInForce(tx, currency, now);
      const templates = await findTemplates(tx, call.accountId, { activeOnly: true });
      const price = pricePerMinute(tariff, templates);
      const { minutes, amount } = callCost(call.durationSec ?? 0, price);
      if (minutes === 0) return { outcome: "free" };

      const ledger = await loadCustomerLedger(tx, call.accountId, currency, { lock: true });
      const available = ledger.balances.main.plus(ledger.balances.bonus);
      if (available.compare(amount) < 0) return { outcome: "awaiting_funds" };
      const fromBonus = ledger.balances.bonus.min(amount);
      const fromMain = amount.minus(fromBonus);
      await postTransaction(tx, {
        accountId: call.accountId,
        type: "hold",
        idempotencyKey: holdKey(call.id),
        occurredAt: now,
        callId: call.id,
        memo: `${minutes} min × ${price.toFixed(2)} ${currency}`,
        entries: [
          ...move(ledger.ids.bonus, ledger.ids.hold_bonus, fromBonus),
          ...move(ledger.ids.main, ledger.ids.hold_main, fromMain),
        ],
      });
      await updateCall(tx, call.accountId, call.id, {
        costMinutes: minutes,
        pricePerMinute: price.toDbString(),
        costAmount: amount.toDbString(),
        costCurrency: currency,
        costStatus: "reserved",
      });
      return { outcome: "reserved" };
    },

    async settle(tx, call, now) {
      if (call.costStatus !== "reserved") return;
      const parts = await holdParts(tx, call);
      // Locked in the same order as reserve, so settling and reserving for one account never deadlock.
      const ledger = await loadCustomerLedger(tx, call.accountId, parts.currency, { lock: true });
      const revenue = await ensureLedgerAccount(tx, null, "revenue", parts.currency);
      const bonusSpent = await ensureLedgerAccount(tx, null, "bonus_spent", parts.currency);
      await postTransaction(tx, {
        accountId: call.accountId,
        type: "charge",
        idempotencyKey: `charge:${call.id}`,
        occurredAt: now,
        callId: call.id,
        entries: [
          ...move(ledger.ids.hold_bonus, bonusSpent, parts.bonus),
          ...move(ledger.ids.hold_main, revenue, parts.main),
        ],
      });
      await updateCall(tx, call.accountId, call.id, { costStatus: "charged" });
    },

    async release(tx, call, now) {
      if (call.costStatus !== "reserved") return;
      const parts = await holdParts(tx, call);
      const ledger = await loadCustomerLedger(tx, call.accountId, parts.currency, { lock: true });
      await postTransaction(tx, {
        accountId: call.accountId,
        type: "release",
        idempotencyKey: `release:${call.id}`,
        occurredAt: now,
        callId: call.id,
        entries: [
          ...move(ledger.ids.hold_bonus, ledger.ids.bonus, parts.bonus),
          ...move(ledger.ids.hold_main, ledger.ids.main, parts.main),
        ],
      });
      await updateCall(tx, call.accountId, call.id, { costStatus: "released" });
    },
  };
}

/** Entries moving `amount` from one ledger account to another; none for zero (entries are never 0). */
function move(from: string, to: string, amount: Money) {
  if (amount.isZero()) return [];
  return [
    { ledgerAccountId: from, amount: amount.negated() },
    { ledgerAccountId: to, amount },
  ];
}

/** How the call's hold was split between bonus and main, read back from the hold transaction itself. */
async function holdParts(tx: Db, call: CallRow): Promise<{ currency: Currency; bonus: Money; main: Money }> {
  const currency = call.costCurrency as Currency;
  const entries = await findTransactionEntries(tx, holdKey(call.id), currency);
  if (!entries) throw new Error(`call ${call.id} is marked reserved but has no hold`);
  const sum = (kind: string) =>
    entries.filter((e) => e.kind === kind).reduce((s, e) => s.plus(e.amount), Money.zero(currency));
  return { currency, bonus: sum("hold_bonus"), main: sum("hold_main") };
}
