import { z } from "zod";
import { getBalance } from "../../../../shared/billing/balance.ts";
import { pricePerMinute } from "../../../../shared/billing/tariff.ts";
import { hasCallsInStatus } from "../../../../shared/db/repositories/calls.repository.ts";
import { findLedgerLines, findTariffInForce } from "../../../../shared/db/repositories/ledger.repository.ts";
import { findTemplates } from "../../../../shared/db/repositories/templates.repository.ts";
import { apiAmount } from "../../../../shared/money/money.ts";
import { toAstanaIso } from "../../../../shared/time/astana-time.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { fetchPage, pageOf, pageQuery } from "../../http/cursor.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";

const balanceDto = z.object({
  currency: z.string(),
  available: z.string(),
  main: z.string(),
  bonus: z.string(),
  reserved: z.string(),
  bonusVoidsAt: z.string().nullable(),
  suspended: z.boolean(),
});
const tariffDto = z.object({
  currency: z.string(),
  version: z.number().int(),
  transcriptionPerMinute: z.string(),
  templateBasePerMinute: z.string(),
  perQuestionPerMinute: z.string(),
  pricePerMinute: z.string(),
});
const ledgerItem = z.object({
  id: z.uuid(),
  at: z.string(),
  type: z.enum(["bonus_grant", "top_up", "hold", "charge", "release", "bonus_void", "refund"]),
  /** Effect on main + bonus (API.md: they include reserved money), so holds and releases show 0.00. */
  amount: z.string(),
  /** Effect on the reserved money: + for a hold, − when it is charged or released. */
  reserved: z.string(),
  currency: z.string(),
  callId: z.uuid().optional(),
  paymentId: z.uuid().optional(),
  invoiceId: z.uuid().optional(),
});

export function billingRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/billing/balance",
      summary: "Available, main, bonus and reserved money; when the bonus would be voided.",
      tag: "billing",
      access: ["owner"],
      responses: { 200: { description: "Balance", schema: balanceDto } },
      handler: async ({ auth }) => {
        const awaitingFunds = await hasCallsInStatus(db, auth.account.id, "awaiting_funds");
        const b = await getBalance(db, auth.account, { awaitingFunds });
        return {
          status: 200,
          body: {
            currency: b.currency,
            available: apiAmount(b.available),
            main: apiAmount(b.main),
            bonus: apiAmount(b.bonus),
            reserved: apiAmount(b.reserved),
            bonusVoidsAt: b.bonusVoidsAt ? toAstanaIso(b.bonusVoidsAt) : null,
            suspended: b.suspended,
          },
        };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/billing/tariff",
      summary: "Prices per minute in force, and what a call costs per minute with the active templates.",
      tag: "billing",
      access: ["owner", "manager"],
      responses: { 200: { description: "Tariff", schema: tariffDto } },
      handler: async ({ auth }) => {
        const currency = auth.account.currency;
        const tariff = await findTariffInForce(db, currency, deps.clock());
        const active = await findTemplates(db, auth.account.id, { activeOnly: true });
        return {
          status: 200,
          body: {
            currency,
            version: tariff.version,
            transcriptionPerMinute: apiAmount(tariff.transcriptionPerMinute),
            templateBasePerMinute: apiAmount(tariff.templateBasePerMinute),
            perQuestionPerMinute: apiAmount(tariff.perQuestionPerMinute),
            pricePerMinute: apiAmount(pricePerMinute(tariff, active)),
          },
        };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/billing/ledger",
      summary: "Movements of the account's money, newest first (credits positive, debits negative).",
      tag: "billing",
      access: ["owner"],
      query: pageQuery,
      responses: { 200: { description: "A page", schema: pageOf(ledgerItem) } },
      handler: async ({ query, auth }) => {
        const currency = auth.account.currency;
        const { rows, nextCursor } = await fetchPage(
          query,
          ({ limit, after }) => findLedgerLines(db, auth.account.id, currency, { limit, before: after }),
          (line) => ({ at: line.at, id: line.id }),
        );
        return {
          status: 200,
          body: {
            items: rows.map((l) => ({
              id: l.id,
              at: toAstanaIso(l.at),
              type: l.type,
              amount: apiAmount(l.amount),
              reserved: apiAmount(l.reservedChange),
              currency,
              ...(l.callId ? { callId: l.callId } : {}),
              ...(l.paymentId ? { paymentId: l.paymentId } : {}),
              ...(l.invoiceId ? { invoiceId: l.invoiceId } : {}),
            })),
            nextCursor,
          },
        };
      },
    }),
  ];
}
