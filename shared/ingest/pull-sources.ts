import fs from "node:fs/promises";
import path from "node:path";
import { accountAcceptsCalls } from "../accounts/assert-account-accepts-calls.ts";
import { type AccountRow, getAccount } from "../db/repositories/accounts.repository.ts";
import { findCallBySourceKey } from "../db/repositories/calls.repository.ts";
import {
  finishPullRun,
  leaseNextPullSource,
  type SourceRow,
  savePullCursor,
} from "../db/repositories/sources.repository.ts";
import { AppError, isAppError } from "../errors/app-error.ts";
import type { AppMetrics } from "../observability/metrics.ts";
import { createPullConnector, type PulledCall, pullKinds } from "./connectors/index.ts";
import type { DownloadOptions } from "./download-recording.ts";
import { type IngestDeps, ingestRecording } from "./ingest-recording.ts";

export interface PullDeps extends IngestDeps {
  scratchDir: string;
  appSecret: string;
  pull: { maxPagesPerRun: number; maxItemsPerRun: number; leaseSec: number };
  download: DownloadOptions;
  metrics?: Pick<AppMetrics, "pullItems" | "pullRuns">;
  /** Tests: runs after each page's cursor is saved (e.g. to simulate a crash). */
  afterPage?: (sourceId: string, page: number) => void | Promise<void>;
}

export interface SourcePullResult {
  sourceId: string;
  kind: string;
  pages: number;
  accepted: number;
  duplicates: number;
  failed: number;
  error?: { code: string; message: string };
}

/**
 * The `pull-sources` job: leases each enabled pull source in turn, reads pages of its remote call
 * history from its cursor, ingests every call through the same path as a push (idempotent on
 * (source, externalId)), saves the cursor after each page, and stops at the per-run bounds. One
 * source's failure (bad credentials, remote down) is recorded on that source and never stops the others.
 */
export async function runPullSources(
  deps: PullDeps,
): Promise<{ sources: number; accepted: number; failed: number; results: SourcePullResult[] }> {
  const clock = () => deps.clock?.() ?? new Date();
  const runStartedAt = clock();
  const results: SourcePullResult[] = [];
  for (;;) {
    const source = await leaseNextPullSource(
      deps.database.db,
      pullKinds,
      runStartedAt,
      clock(),
      deps.pull.leaseSec,
    );
    if (!source) break;
    results.push(await pullOneSource(deps, source));
  }
  return {
    sources: results.length,
    accepted: results.reduce((n, r) => n + r.accepted, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    results,
  };
}

async function pullOneSource(deps: PullDeps, source: SourceRow): Promise<SourcePullResult> {
  const clock = () => deps.clock?.() ?? new Date();
  const log = deps.logger.child({
    sourceId: source.id,
    accountId: source.accountId,
    sourceKind: source.kind,
  });
  const result: SourcePullResult = {
    sourceId: source.id,
    kind: source.kind,
    pages: 0,
    accepted: 0,
    duplicates: 0,
    failed: 0,
  };
  let lastItemError: { code: string; message: string } | undefined;
  const count = (outcome: "accepted" | "duplicate" | "failed") =>
    deps.metrics?.pullItems.inc({ source_kind: source.kind, outcome });
  try {
    // Read once per run: every call of this run is ingested for the account as it stood here.
    const owner = await getAccount(deps.database.db, source.accountId);
    if (!accountAcceptsCalls(owner)) {
      log.info("account does not accept calls: source not pulled");
      await finishPullRun(deps.database.db, source.id, { at: clock(), failedItems: 0 });
      return result;
    }
    const connector = createPullConnector(source, deps.appSecret, { now: clock(), download: deps.download });
    let cursor = source.pullCursor;
    let items = 0;
    pages: while (result.pages < deps.pull.maxPagesPerRun) {
      const page = await connector.fetchPage(cursor);
      result.pages++;
      for (const call of page.calls) {
        const callLog = log.child({ externalId: call.metadata.externalId });
        if (call.invalid) {
          result.failed++;
          count("failed");
          lastItemError = { code: call.invalid.code, message: call.invalid.message };
          callLog.warn({ code: call.invalid.code }, "pulled call refused: %s", call.invalid.message);
          continue;
        }
        const existing = await findCallBySourceKey(
          deps.database.db,
          source.accountId,
          source.id,
          call.metadata.externalId,
        );
        if (existing) {
          result.duplicates++;
          count("duplicate");
          continue;
        }
        // Only downloads count toward the bound: a page redone after the bound is skipped through quickly.
        if (items >= deps.pull.maxItemsPerRun) break pages; // this page's cursor is not saved: redone next run
        items++;
        try {
          const outcome = await ingestPulled(deps, source, owner, call);
          if (outcome.duplicate) {
            result.duplicates++;
            count("duplicate");
          } else {
            result.accepted++;
            count("accepted");
            callLog.info({ callId: outcome.callId }, "pulled call received");
          }
        } catch (error) {
          const appError = asAppError(error);
          if (appError.retryable) throw appError; // remote or limit trouble: stop here, this page is redone next run
          result.failed++;
          count("failed");
          lastItemError = { code: appError.code, message: appError.message };
          callLog.warn({ code: appError.code }, "pulled call refused: %s", appError.message);
        }
      }
      cursor = page.cursor;
      await savePullCursor(
        deps.database.db,
        source.id,
        cursor,
        new Date(clock().getTime() + deps.pull.leaseSec * 1000),
      );
      await deps.afterPage?.(source.id, result.pages);
      if (page.done) break;
    }
    await finishPullRun(deps.database.db, source.id, {
      at: clock(),
      error: lastItemError ?? null,
      failedItems: result.failed,
    });
    deps.metrics?.pullRuns.inc({ source_kind: source.kind, outcome: "ok" });
    log.info({ ...result, sourceId: undefined }, "source pulled");
  } catch (error) {
    const appError = asAppError(error);
    result.error = { code: appError.code, message: appError.message };
    deps.metrics?.pullRuns.inc({
      source_kind: source.kind,
      outcome:
        appError.code === "SOURCE_AUTH_FAILED"
          ? "auth_failed"
          : appError.code === "SOURCE_UNAVAILABLE"
            ? "unavailable"
            : "error",
    });
    log.warn(
      { code: appError.code, err: appError.code === "INTERNAL" ? error : undefined },
      "pull failed: %s",
      appError.message,
    );
    await finishPullRun(deps.database.db, source.id, {
      at: clock(),
      error: result.error,
      failedItems: result.failed,
    }).catch((err) => log.error({ err }, "could not record the pull failure"));
  }
  return result;
}

async function ingestPulled(deps: PullDeps, source: SourceRow, owner: AccountRow, call: PulledCall) {
  await fs.mkdir(deps.scratchDir, { recursive: true });
  const dir = await fs.mkdtemp(path.join(deps.scratchDir, "pull-"));
  try {
    const target = path.join(dir, "recording");
    const { bytes } = await call.fetchRecording(target);
    return await ingestRecording(deps, {
      account: owner,
      source: {
        id: source.id,
        operatorChannel: source.operatorChannel,
        processingDelaySec: source.processingDelaySec,
      },
      metadata: call.metadata,
      filePath: target,
      bytes,
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Unexpected failures (storage, database) are treated as temporary: the run stops and is retried. */
function asAppError(error: unknown): AppError {
  return isAppError(error)
    ? error
    : new AppError("INTERNAL", "An unexpected error stopped the pull; it is retried on the next run.", {
        retryable: true,
        cause: error,
      });
}
