import { auditActorOf, type Caller } from "../accounts/caller.ts";
import { recordAudit } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import type { AccountRow } from "../db/repositories/accounts.repository.ts";
import {
  type AnalysisRow,
  type CallRow,
  findAnalyses,
  findCalls,
} from "../db/repositories/calls.repository.ts";
import { findInvoices, type Invoice } from "../db/repositories/invoices.repository.ts";
import { findLedgerLines, type LedgerLine } from "../db/repositories/ledger.repository.ts";
import { findAccountUsers } from "../db/repositories/privacy.repository.ts";
import { findSources, type SourceRow } from "../db/repositories/sources.repository.ts";
import type { ObjectStorage } from "../providers/storage/object-storage.ts";

export interface ExportedCall {
  call: CallRow;
  /** None for a purged call (only its non-personal shell is left). */
  analyses: AnalysisRow[];
  audioUrl: string | null;
}

/**
 * Everything the account holds, read section by section as the caller writes it out: the big sections
 * come in pages, so the export is never held in memory whole.
 */
export interface AccountExport {
  exportedAt: Date;
  /** When the signed audio links in `calls` stop working. */
  audioLinksExpireAt: Date;
  account: AccountRow;
  users(): Promise<Awaited<ReturnType<typeof findAccountUsers>>>;
  sources(): Promise<SourceRow[]>;
  calls(): AsyncGenerator<ExportedCall>;
  ledger(): AsyncGenerator<LedgerLine>;
  invoices(): AsyncGenerator<Invoice>;
}

export interface ExportAccountDataDeps {
  db: Db;
  storage: ObjectStorage;
  clock: () => Date;
}

/**
 * The data subject's right of access: records the export in the audit log (committed before any data
 * leaves), then hands back the account's data — users and sources without secrets, calls with
 * transcripts, analyses and signed audio links valid `audioUrlTtlSec`, ledger, invoices.
 */
export async function exportAccountData(
  deps: ExportAccountDataDeps,
  caller: Caller,
  options: { audioUrlTtlSec: number },
): Promise<AccountExport> {
  const { db } = deps;
  const { account } = caller;
  const accountId = account.id;
  const now = deps.clock();
  await db.transaction(async (tx) =>
    recordAudit(tx, {
      accountId,
      actor: auditActorOf(caller),
      action: "account.export",
      objectType: "account",
      objectId: accountId,
      details: { at: now.toISOString() },
    }),
  );
  return {
    exportedAt: now,
    audioLinksExpireAt: new Date(now.getTime() + options.audioUrlTtlSec * 1000),
    account,
    users: () => findAccountUsers(db, accountId),
    sources: () => findSources(db, accountId),
    async *calls() {
      let cursor: { createdAt: Date; id: string } | undefined;
      for (;;) {
        const page = await findCalls(db, accountId, { limit: 100, cursor });
        for (const call of page) {
          const analyses = call.purgedAt ? [] : await findAnalyses(db, accountId, call.id);
          const audioUrl = call.recordingKey
            ? await deps.storage.signedUrl(call.recordingKey, options.audioUrlTtlSec)
            : null;
          yield { call, analyses, audioUrl };
        }
        if (page.length < 100) return;
        const last = page[page.length - 1]!;
        cursor = { createdAt: last.createdAt, id: last.id };
      }
    },
    async *ledger() {
      let before: { at: Date; id: string } | undefined;
      for (;;) {
        const lines = await findLedgerLines(db, accountId, account.currency, {
          limit: 500,
          before,
        });
        yield* lines;
        if (lines.length < 500) return;
        const last = lines[lines.length - 1]!;
        before = { at: last.at, id: last.id };
      }
    },
    async *invoices() {
      let before: { at: Date; id: string } | undefined;
      for (;;) {
        const page = await findInvoices(db, accountId, { limit: 100, before });
        yield* page;
        if (page.length < 100) return;
        const last = page[page.length - 1]!;
        before = { at: last.createdAt, id: last.id };
      }
    },
  };
}
