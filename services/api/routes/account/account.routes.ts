import { z } from "zod";
import {
  type AccountRow,
  updateAccountSettings,
} from "../../../../shared/db/repositories/accounts.repository.ts";
import { Money, moneyFromDb } from "../../../../shared/money/money.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";

const accountDto = z.object({
  id: z.uuid(),
  company: z.string(),
  currency: z.string(),
  status: z.enum(["active", "blocked", "closed"]),
  retentionDays: z.number().int().nullable(),
  maskPersonalData: z.boolean(),
  lowBalanceThreshold: z.string().nullable(),
  createdAt: z.string(),
});

const patchBody = z
  .object({
    company: z.string().trim().min(1).max(200),
    /** Keep recordings and transcripts at most this many days (null: the 3-year maximum after closing). */
    retentionDays: z.number().int().min(1).max(3650).nullable(),
    maskPersonalData: z.boolean(),
    /** E-mail the owners when the available balance falls below this (null: never). */
    lowBalanceThreshold: z
      .string()
      .refine(Money.isValidAmount, "a decimal amount such as 5000.00")
      .refine((v) => !v.startsWith("-"), "must not be negative")
      .nullable(),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, "nothing to change");

function toDto(a: AccountRow): z.infer<typeof accountDto> {
  return {
    id: a.id,
    company: a.company,
    currency: a.currency,
    status: a.status,
    retentionDays: a.retentionDays,
    maskPersonalData: a.maskPersonalData,
    lowBalanceThreshold: a.lowBalanceThreshold
      ? moneyFromDb(a.lowBalanceThreshold, a.currency).toFixed(2)
      : null,
    createdAt: a.createdAt.toISOString(),
  };
}

export function accountRoutes(deps: ApiDeps): AnyRoute[] {
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/account",
      summary: "The account's settings.",
      tag: "account",
      access: ["owner", "manager"],
      responses: { 200: { description: "Account", schema: accountDto } },
      handler: async ({ auth }) => ({ status: 200, body: toDto(auth.account) }),
    }),
    defineRoute({
      method: "patch",
      path: "/api/v1/account",
      summary: "Change the company name, retention, personal-data masking or the low-balance threshold.",
      tag: "account",
      access: ["owner"],
      body: patchBody,
      responses: { 200: { description: "Updated", schema: accountDto } },
      handler: async ({ body, auth }) => {
        const { lowBalanceThreshold, ...rest } = body;
        const patch = {
          ...rest,
          ...(lowBalanceThreshold === undefined
            ? {}
            : {
                lowBalanceThreshold:
                  lowBalanceThreshold === null
                    ? null
                    : Money.of(lowBalanceThreshold, auth.account.currency as "KZT").toDbString(),
              }),
        };
        return {
          status: 200,
          body: toDto(await updateAccountSettings(deps.database.db, auth.account.id, patch)),
        };
      },
    }),
  ];
}
