import { voidExpiredBonuses } from "../../../shared/billing/bonus-expiry.ts";
import { expireInvoices } from "../../../shared/billing/invoices.ts";
import type { Database } from "../../../shared/db/client.ts";
import { findLedgerViolations } from "../../../shared/db/repositories/ledger.repository.ts";
import type { Logger } from "../../../shared/logging/logger.ts";

export interface ScheduledJobDeps {
  database: Database;
  logger: Logger;
}

export interface ScheduledJobSpec {
  name: string;
  /** node-cron expression, evaluated in Astana time. */
  cron: string;
  description: string;
  run(deps: ScheduledJobDeps, now: Date): Promise<Record<string, unknown>>;
}

/**
 * The scheduled jobs that exist so far. API.md also names invoice-expiry, retention-purge,
 * deletion-purge, pull-sources and low-balance-notify: their issues (#3, #4, #7) add them here.
 */
export const scheduledJobs: ScheduledJobSpec[] = [
  {
    name: "bonus-expiry",
    cron: "0 * * * *",
    description: "Void welcome bonuses at the start of day 8 without a data source or billing event.",
    async run(deps, now) {
      const { voided } = await voidExpiredBonuses(deps.database.db, now);
      return { voided: voided.length, accounts: voided };
    },
  },
  {
    name: "invoice-expiry",
    cron: "*/15 * * * *",
    description: "Expire issued invoices whose 5 Kazakhstan working days have ended.",
    async run(deps, now) {
      return expireInvoices(deps.database.db, now);
    },
  },
  {
    name: "ledger-check",
    cron: "17 3 * * *",
    description:
      "Prove the books: cached balances equal their entries, every transaction balances, nothing negative.",
    async run(deps) {
      const violations = await findLedgerViolations(deps.database.db);
      if (violations.length > 0) deps.logger.error({ violations }, "ledger invariants violated");
      return { ok: violations.length === 0, violations };
    },
  },
];

export function findScheduledJob(name: string): ScheduledJobSpec | undefined {
  return scheduledJobs.find((j) => j.name === name);
}
