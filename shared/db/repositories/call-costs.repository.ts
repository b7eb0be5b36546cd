import { type Money, moneyFromDb } from "../../money/money.ts";
import type { Db } from "../client.ts";
import { type CallRow, updateCall } from "./calls.repository.ts";

/**
 * A call's cost columns (cost_amount, price_per_minute: numeric(20,6) in cost_currency) as Money, and
 * back. CallRow keeps the raw columns, so these are the only readers and writers of their values.
 */

export interface CallCostMoney {
  amount: Money;
  /** Null only if the price was not recorded with the amount (every reservation records both). */
  pricePerMinute: Money | null;
}

/** The call's cost as Money, or null while it has none (not reserved yet, or free). */
export function callCostOf(
  call: Pick<CallRow, "costAmount" | "pricePerMinute" | "costCurrency">,
): CallCostMoney | null {
  if (call.costAmount === null || call.costCurrency === null) return null;
  return {
    amount: moneyFromDb(call.costAmount, call.costCurrency),
    pricePerMinute: call.pricePerMinute === null ? null : moneyFromDb(call.pricePerMinute, call.costCurrency),
  };
}

/** Records the call's reserved cost (its hold is placed in the same transaction) and what it was priced with. */
export async function recordCallReservation(
  tx: Db,
  call: { accountId: string; id: string },
  input: {
    minutes: number;
    pricePerMinute: Money;
    amount: Money;
    pricedTemplates: CallRow["pricedTemplates"];
  },
): Promise<void> {
  await updateCall(tx, call.accountId, call.id, {
    costMinutes: input.minutes,
    pricePerMinute: input.pricePerMinute.toDbString(),
    costAmount: input.amount.toDbString(),
    costCurrency: input.amount.currency,
    costStatus: "reserved",
    pricedTemplates: input.pricedTemplates,
  });
}
