import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import {
  type AccountRow,
  type AccountSettings,
  updateAccountSettings,
} from "../db/repositories/accounts.repository.ts";
import { AppError } from "../errors/app-error.ts";
import { Money } from "../money/money.ts";
import { auditActorOf, type Caller } from "./caller.ts";

export interface UpdateAccountDeps {
  db: Db;
  /** Speech and analysis providers configured on this server: an account may order only these. */
  speechProviders: readonly string[];
  analysisProviders: readonly string[];
}

/** The owner's changes; `lowBalanceThreshold` a decimal amount in the account's currency. */
export type AccountChanges = Omit<AccountSettings, "lowBalanceThreshold"> & {
  lowBalanceThreshold?: string | null;
};

/**
 * Changes the account's settings. Throws VALIDATION_FAILED when it orders providers this server does not
 * run. The audit entry names the changed fields only: values may be personal data (the company name).
 */
export async function updateAccount(
  deps: UpdateAccountDeps,
  caller: Caller,
  changes: AccountChanges,
): Promise<AccountRow> {
  assertProvidersConfigured(deps, changes);
  const { lowBalanceThreshold, ...rest } = changes;
  const patch: AccountSettings =
    lowBalanceThreshold === undefined
      ? rest
      : {
          ...rest,
          lowBalanceThreshold:
            lowBalanceThreshold === null ? null : Money.of(lowBalanceThreshold, caller.account.currency),
        };
  return deps.db.transaction(async (tx) => {
    const row = await updateAccountSettings(tx, caller.account.id, patch);
    await recordAudit(tx, {
      accountId: caller.account.id,
      actor: auditActorOf(caller),
      action: "account.update",
      objectType: "account",
      objectId: caller.account.id,
      details: { fields: Object.keys(changes).sort() },
    });
    return row;
  });
}

function assertProvidersConfigured(deps: UpdateAccountDeps, changes: AccountChanges): void {
  const unknown = (asked: string[] | undefined, known: readonly string[]) =>
    (asked ?? []).filter((p) => !known.includes(p));
  const badSpeech = unknown(changes.speechProviders, deps.speechProviders);
  const badAnalysis = unknown(changes.analysisProviders, deps.analysisProviders);
  if (badSpeech.length + badAnalysis.length === 0) return;
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
