import { recordAudit, systemActor } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import {
  countAccountRows,
  deleteAccountRows,
  findAccountStorageKeys,
  insertDeletionReport,
  lockAccountsDueForDeletion,
  lockCallsDueForPurge,
  purgeCallContent,
} from "../db/repositories/privacy.repository.ts";
import type { Logger } from "../logging/logger.ts";
import type { ObjectStorage } from "../providers/storage/object-storage.ts";

/** A deletion request waits this long (cancellable) before deletion-purge runs; well within 30 days. */
export const deletionGraceDays = 14;
const dayMs = 86_400_000;

export const deletionDueAt = (requestedAt: Date) =>
  new Date(requestedAt.getTime() + deletionGraceDays * dayMs);

export interface PurgeDeps {
  db: Db;
  storage: ObjectStorage;
  logger: Logger;
}

/**
 * retention-purge: in batches of `batchSize`, each in its own transaction, locks due calls (SKIP LOCKED,
 * so concurrent runs share the work), deletes their recordings from storage (already-missing objects
 * are fine) and leaves a non-personal shell. A crash mid-batch rolls the batch back; the next run
 * deletes the same (possibly already deleted) objects again and finishes it. Idempotent.
 */
export async function purgeExpiredCalls(
  deps: PurgeDeps,
  now: Date,
  options: { batchSize?: number; maxBatches?: number } = {},
): Promise<{ calls: number; analyses: number; objects: number; batches: number }> {
  const batchSize = options.batchSize ?? 100;
  const maxBatches = options.maxBatches ?? 1000;
  const total = { calls: 0, analyses: 0, objects: 0, batches: 0 };
  for (let i = 0; i < maxBatches; i++) {
    const batch = await deps.db.transaction(async (tx) => {
      const due = await lockCallsDueForPurge(tx, now, batchSize);
      let analyses = 0;
      let objects = 0;
      const perAccount = new Map<string, number>();
      for (const call of due) {
        if (call.recordingKey) {
          await deps.storage.delete(call.recordingKey);
          objects++;
        }
        analyses += await purgeCallContent(tx, call.accountId, call.id, now);
        perAccount.set(call.accountId, (perAccount.get(call.accountId) ?? 0) + 1);
      }
      for (const [accountId, count] of perAccount) {
        await recordAudit(tx, {
          accountId,
          actor: systemActor,
          action: "retention.purge",
          objectType: "account",
          objectId: accountId,
          details: { calls: count, asOf: now.toISOString() },
        });
      }
      return { calls: due.length, analyses, objects };
    });
    if (batch.calls === 0) break;
    total.calls += batch.calls;
    total.analyses += batch.analyses;
    total.objects += batch.objects;
    total.batches++;
    if (batch.calls < batchSize) break;
  }
  if (total.calls > 0) deps.logger.info({ ...total }, "retention purge");
  return total;
}

/**
 * deletion-purge: deletes, one account per transaction, every account whose grace period has ended:
 * storage objects first (missing ones are fine, so a rerun after a crash completes), then all its rows;
 * the ledger stays (no personal data in it). Leaves a report of counts per kind, and an
 * `account.deleted` audit entry naming only ids.
 */
export async function deleteDueAccounts(
  deps: PurgeDeps,
  now: Date,
  options: { maxAccounts?: number } = {},
): Promise<{ accounts: string[] }> {
  const deleted: string[] = [];
  const max = options.maxAccounts ?? 100;
  while (deleted.length < max) {
    const id = await deps.db.transaction(async (tx) => {
      const [account] = await lockAccountsDueForDeletion(tx, now, 1);
      if (!account) return undefined;
      const keys = await findAccountStorageKeys(tx, account.id);
      for (const key of keys) await deps.storage.delete(key);
      const counts = { ...(await countAccountRows(tx, account.id)), storageObjects: keys.length };
      await deleteAccountRows(tx, account.id);
      await insertDeletionReport(tx, {
        accountId: account.id,
        requestedAt: account.deletionRequestedAt,
        executedAt: now,
        counts,
      });
      await recordAudit(tx, {
        accountId: account.id,
        actor: systemActor,
        action: "account.deleted",
        objectType: "account",
        objectId: account.id,
        details: { counts, asOf: now.toISOString() },
      });
      return account.id;
    });
    if (!id) break;
    deleted.push(id);
  }
  if (deleted.length > 0) deps.logger.info({ accounts: deleted }, "accounts deleted");
  return { accounts: deleted };
}
