import { z } from "zod";
import { recordAudit } from "../../../../shared/audit/audit-log.ts";
import {
  type AccountRow,
  updateAccountSettings,
} from "../../../../shared/db/repositories/accounts.repository.ts";
import {
  lowBalanceThresholdColumn,
  lowBalanceThresholdOf,
} from "../../../../shared/db/repositories/notifications.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import { apiAmount, Money } from "../../../../shared/money/money.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import { clientAddress } from "../auth/auth.routes.ts";
import { privacyRoutes } from "./privacy.routes.ts";

export const accountDto = z.object({
  id: z.uuid(),
  company: z.string(),
  currency: z.string(),
  status: z.enum(["active", "blocked", "closed"]),
  retentionDays: z.number().int().nullable(),
  maskPersonalData: z.boolean(),
  lowBalanceThreshold: z.string().nullable(),
  speechLanguage: z.enum(["ru", "kk", "en", "auto"]),
  speechProviders: z.array(z.string()),
  analysisProviders: z.array(z.string()),
  /** When the agreement ended (account closed); the 3-year retention clock runs from here. */
  closedAt: z.string().nullable(),
  /** A pending deletion request: when it was made and when the account will be deleted. */
  deletionRequestedAt: z.string().nullable(),
  deleteBy: z.string().nullable(),
  /** The owner blocked processing: no new calls are accepted or processed, data is kept. */
  processingBlocked: z.boolean(),
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
    /** The language calls are recognised in (auto: the recognizer decides). */
    speechLanguage: z.enum(["ru", "kk", "en", "auto"]),
    /** Speech-to-text providers in fallback order ([]: the server's default order). */
    speechProviders: z.array(z.string().min(1).max(40)).max(10),
    /** Analysis providers tried after a template's own one fails ([]: the server's default). */
    analysisProviders: z.array(z.string().min(1).max(40)).max(10),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, "nothing to change");

export function toDto(a: AccountRow): z.infer<typeof accountDto> {
  return {
    id: a.id,
    company: a.company,
    currency: a.currency,
    status: a.status,
    retentionDays: a.retentionDays,
    maskPersonalData: a.maskPersonalData,
    lowBalanceThreshold: apiAmount(lowBalanceThresholdOf(a)),
    speechLanguage: a.speechLanguage,
    speechProviders: a.speechProviders,
    analysisProviders: a.analysisProviders,
    closedAt: a.closedAt?.toISOString() ?? null,
    deletionRequestedAt: a.deletionRequestedAt?.toISOString() ?? null,
    deleteBy: a.deletionScheduledFor?.toISOString() ?? null,
    processingBlocked: a.processingBlockedAt !== null,
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
      handler: async ({ body, auth, req }) => {
        const unknown = (asked: string[] | undefined, known: readonly string[]) =>
          (asked ?? []).filter((p) => !known.includes(p));
        const badSpeech = unknown(body.speechProviders, deps.speechProviders);
        const badAnalysis = unknown(body.analysisProviders, deps.analysisProviders);
        if (badSpeech.length + badAnalysis.length > 0) {
          throw new AppError(
            "VALIDATION_FAILED",
            `Not configured on this server: ${[...badSpeech, ...badAnalysis].join(", ")}.`,
            {
              details: [
                ...badSpeech.map((p) => ({
                  path: "body.speechProviders",
                  message: `unknown provider ${p}; available: ${deps.speechProviders.join(", ")}`,
                })),
                ...badAnalysis.map((p) => ({
                  path: "body.analysisProviders",
                  message: `unknown provider ${p}; available: ${deps.analysisProviders.join(", ")}`,
                })),
              ],
            },
          );
        }
        const { lowBalanceThreshold, ...rest } = body;
        const patch = {
          ...rest,
          ...(lowBalanceThreshold === undefined
            ? {}
            : {
                lowBalanceThreshold: lowBalanceThresholdColumn(
                  lowBalanceThreshold === null ? null : Money.of(lowBalanceThreshold, auth.account.currency),
                ),
              }),
        };
        const updated = await deps.database.db.transaction(async (tx) => {
          const row = await updateAccountSettings(tx, auth.account.id, patch);
          await recordAudit(tx, {
            accountId: auth.account.id,
            actor: { userId: auth.user.id, role: auth.user.role, ip: clientAddress(req) },
            action: "account.update",
            objectType: "account",
            objectId: auth.account.id,
            // Field names only: values may be personal data (the company name).
            details: { fields: Object.keys(body).sort() },
          });
          return row;
        });
        return { status: 200, body: toDto(updated) };
      },
    }),
    ...privacyRoutes(deps),
  ];
}
