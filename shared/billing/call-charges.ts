import { getAccount } from "../db/repositories/accounts.repository.ts";
import { recordCallReservation } from "../db/repositories/call-costs.repository.ts";
import { type CallRow, updateCall } from "../db/repositories/calls.repository.ts";
import { findTariffInForce } from "../db/repositories/ledger.repository.ts";
import { findTemplates } from "../db/repositories/templates.repository.ts";
import type { Currency } from "../money/money.ts";
import { voidBonusIfDue } from "./bonus-expiry.ts";
import type { CallBilling } from "./call-billing.ts";
import { chargeHold, placeHold, releaseHold } from "./holds.ts";
import { callCost, pricePerMinute } from "./tariff.ts";

/**
 * Two-phase charging per call on the double-entry ledger (PRODUCT.md steps 3 and 8): reserve places a
 * hold of the call's cost (bonus first), settle charges it, release gives it back — each keyed by the
 * call (`hold:<callId>`, …) and a unique index lets only one of charge/release exist per call, so
 * retries and races cannot double-spend. All run inside the caller's transaction, which also holds the
 * call row's lock.
 */
export function createLedgerCallBilling(): CallBilling {
  return {
    async reserve(tx, call, now) {
      if (call.costStatus) return { outcome: call.costStatus === "released" ? "free" : "reserved" };
      const account = await getAccount(tx, call.accountId);
      if (!account) throw new Error(`account ${call.accountId} of call ${call.id} not found`);
      const currency = account.currency;
      // A bonus past its void instant is voided first: it must not pay for a call made after that.
      await voidBonusIfDue(tx, account, now);
      const tariff = await findTariffInForce(tx, currency, now);
      const templates = await findTemplates(tx, call.accountId, { activeOnly: true });
      const price = pricePerMinute(tariff, templates);
      const { minutes, amount } = callCost(call.durationSec ?? 0, price);
      // What is priced is what is analysed: the analyze step answers exactly these versions.
      const pricedTemplates = templates.map((t) => ({ templateId: t.id, version: t.version }));
      if (minutes === 0) {
        await updateCall(tx, call.accountId, call.id, { pricedTemplates });
        return { outcome: "free" };
      }
      const held = await placeHold(tx, {
        accountId: call.accountId,
        ref: call.id,
        amount,
        occurredAt: now,
        callId: call.id,
        memo: `${minutes} min × ${price.toFixed(2)} ${currency}`,
      });
      if (held === "insufficient") return { outcome: "awaiting_funds" };
      await recordCallReservation(tx, call, { minutes, pricePerMinute: price, amount, pricedTemplates });
      return { outcome: "reserved" };
    },

    async settle(tx, call, now) {
      if (call.costStatus !== "reserved") return;
      const hold = {
        accountId: call.accountId,
        ref: call.id,
        currency: reservedCurrency(call),
        occurredAt: now,
        callId: call.id,
      };
      await chargeHold(tx, hold);
      await updateCall(tx, call.accountId, call.id, { costStatus: "charged" });
    },

    async release(tx, call, now) {
      if (call.costStatus !== "reserved") return;
      const hold = {
        accountId: call.accountId,
        ref: call.id,
        currency: reservedCurrency(call),
        occurredAt: now,
        callId: call.id,
      };
      await releaseHold(tx, hold);
      await updateCall(tx, call.accountId, call.id, { costStatus: "released" });
    },
  };
}

/** The currency of a reserved call's hold (recorded with the reservation). */
function reservedCurrency(call: CallRow): Currency {
  if (call.costCurrency === null) throw new Error(`call ${call.id} is reserved without a cost currency`);
  return call.costCurrency;
}
