import { z } from "zod";
import {
  type AccountRow,
  lowBalanceThresholdOf,
} from "../../../../shared/db/repositories/accounts.repository.ts";
import { apiAmount, Money } from "../../../../shared/money/money.ts";

export const accountSettingsDto = z.object({
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

export const accountPatchBody = z
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

export function toAccountSettingsDto(a: AccountRow): z.infer<typeof accountSettingsDto> {
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
