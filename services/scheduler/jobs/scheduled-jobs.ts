import { voidExpiredBonuses } from "../../../shared/billing/bonus-expiry.ts";
import { expireInvoices } from "../../../shared/billing/invoices.ts";
import type { Database } from "../../../shared/db/client.ts";
import { findLedgerViolations } from "../../../shared/db/repositories/ledger.repository.ts";
import { deleteStaleSignInRecords } from "../../../shared/db/repositories/users.repository.ts";
import type { Logger } from "../../../shared/logging/logger.ts";
import { runLowBalanceNotifications } from "../../../shared/notifications/notifications.ts";
import { deleteDueAccounts, purgeExpiredCalls } from "../../../shared/privacy/data-lifecycle.ts";
import type { Mailer } from "../../../shared/providers/mail/mailer.ts";
import type { ObjectStorage } from "../../../shared/providers/storage/object-storage.ts";
import { pullSourcesJob } from "../../../shared/queue/job-definitions.ts";
import type { JobQueue } from "../../../shared/queue/job-queue.ts";

export interface ScheduledJobDeps {
  database: Database;
  mailer: Mailer;
  storage: ObjectStorage;
  logger: Logger;
  /** Where jobs that run in another service (pull-sources → ingestion) are enqueued. */
  queue?: JobQueue;
}

export interface ScheduledJobSpec {
  name: string;
  /** node-cron expression, evaluated in Astana time. */
  cron: string;
  description: string;
  run(deps: ScheduledJobDeps, now: Date): Promise<Record<string, unknown>>;
}

/**
 * The scheduled jobs API.md names.
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
    name: "low-balance-notify",
    cron: "*/15 * * * *",
    description:
      "E-mail owners: low balance (once per crossing), suspension, bonus voided soon (day 5), missed or failed invoice-paid notices.",
    async run(deps, now) {
      return {
        ...(await runLowBalanceNotifications(
          { db: deps.database.db, mailer: deps.mailer, logger: deps.logger },
          now,
        )),
      };
    },
  },
  {
    name: "retention-purge",
    cron: "40 2 * * *",
    description:
      "Delete recordings, transcripts, analyses and callers' personal data past retention (3 years after closing, or the account's retentionDays).",
    async run(deps, now) {
      const calls = await purgeExpiredCalls(
        { db: deps.database.db, storage: deps.storage, logger: deps.logger },
        now,
      );
      // Sign-in records hold e-mails and addresses: failures past any throttling window (≤ 1 day) and
      // invitations a month after they expired, were accepted or revoked.
      const signIn = await deleteStaleSignInRecords(deps.database.db, {
        failuresBefore: new Date(now.getTime() - 86_400_000),
        invitationsBefore: new Date(now.getTime() - 30 * 86_400_000),
      });
      return { ...calls, ...signIn };
    },
  },
  {
    name: "deletion-purge",
    cron: "10 3 * * *",
    description:
      "Delete accounts whose deletion request's grace period has ended, with their stored objects.",
    async run(deps, now) {
      return deleteDueAccounts({ db: deps.database.db, storage: deps.storage, logger: deps.logger }, now);
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
  {
    name: "pull-sources",
    cron: "* * * * *",
    description:
      "Hand a pull run to the ingestion workers: every enabled pull source is read from its cursor (`npm run job -- pull-sources` runs it here instead).",
    async run(deps, now) {
      if (!deps.queue) throw new Error("pull-sources needs the job queue");
      const slot = now.toISOString().slice(0, 16);
      const id = await deps.queue.send(pullSourcesJob, {}, { singletonKey: `pull-sources:${slot}` });
      return { enqueued: id !== null };
    },
  },
];

export function findScheduledJob(name: string): ScheduledJobSpec | undefined {
  return scheduledJobs.find((j) => j.name === name);
}
