import { and, desc, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { queryRows } from "../client.ts";
import { sources } from "../schema/index.ts";

export type SourceRow = typeof sources.$inferSelect;
export type NewSource = typeof sources.$inferInsert;

export async function createSource(db: Db, input: NewSource): Promise<SourceRow> {
  const [row] = await db.insert(sources).values(input).returning();
  return row!;
}

export async function findSources(db: Db, accountId: string): Promise<SourceRow[]> {
  return db
    .select()
    .from(sources)
    .where(and(eq(sources.accountId, accountId), isNull(sources.deletedAt)))
    .orderBy(desc(sources.createdAt));
}

/** The ingest token authenticates: a revoked (deleted) source is not found; a disabled one is (the caller refuses it). */
export async function findSourceByTokenHash(db: Db, tokenHash: string): Promise<SourceRow | undefined> {
  const [row] = await db
    .select()
    .from(sources)
    .where(and(eq(sources.tokenHash, tokenHash), isNull(sources.deletedAt)));
  return row;
}

export type SourceSettings = Partial<
  Pick<
    SourceRow,
    | "name"
    | "enabled"
    | "operatorChannel"
    | "processingDelaySec"
    | "requireSignature"
    | "config"
    | "pullCursor"
  >
>;

/** One live source of the account, locked for the rest of the transaction (a settings change). */
export async function lockSource(
  db: Db,
  accountId: string,
  sourceId: string,
): Promise<SourceRow | undefined> {
  const [row] = await db
    .select()
    .from(sources)
    .where(and(eq(sources.id, sourceId), eq(sources.accountId, accountId), isNull(sources.deletedAt)))
    .for("update");
  return row;
}

export async function updateSource(
  db: Db,
  accountId: string,
  sourceId: string,
  patch: SourceSettings,
): Promise<SourceRow | undefined> {
  const [row] = await db
    .update(sources)
    .set(patch)
    .where(and(eq(sources.id, sourceId), eq(sources.accountId, accountId), isNull(sources.deletedAt)))
    .returning();
  return row;
}

export interface SourceStats {
  sourceId: string;
  received: number;
  failed: number;
  lastReceivedAt: Date | null;
  lastError: { code: string; message: string; at: Date } | null;
}

/** Per source of the account: calls received and failed, the last arrival and the last failure. */
export async function findSourceStats(db: Db, accountId: string): Promise<SourceStats[]> {
  const rows = await queryRows<{
    source_id: string;
    received: number;
    failed: number;
    last_received_at: string | Date | null;
    last_error_code: string | null;
    last_error_message: string | null;
    last_error_at: string | Date | null;
  }>(
    db,
    sql`select c.source_id, count(*)::int as received,
               count(*) filter (where c.status = 'failed')::int as failed,
               max(c.created_at) as last_received_at,
               (array_agg(c.error_code order by c.updated_at desc) filter (where c.status = 'failed'))[1] as last_error_code,
               (array_agg(c.error_message order by c.updated_at desc) filter (where c.status = 'failed'))[1] as last_error_message,
               max(c.updated_at) filter (where c.status = 'failed') as last_error_at
        from calls c
        where c.account_id = ${accountId} and c.source_id is not null
        group by c.source_id`,
  );
  return rows.map((r) => ({
    sourceId: r.source_id,
    received: r.received,
    failed: r.failed,
    lastReceivedAt: r.last_received_at ? new Date(r.last_received_at) : null,
    lastError:
      r.last_error_code && r.last_error_at
        ? { code: r.last_error_code, message: r.last_error_message ?? "", at: new Date(r.last_error_at) }
        : null,
  }));
}

export async function deleteSource(db: Db, accountId: string, sourceId: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(sources)
    .set({ deletedAt: now, enabled: false })
    .where(and(eq(sources.id, sourceId), eq(sources.accountId, accountId), isNull(sources.deletedAt)))
    .returning({ id: sources.id });
  return rows.length > 0;
}

/** "Connected a data source" (clause 7.1.3) counts sources deleted since, too. */
export async function hasEverConnectedSource(db: Db, accountId: string): Promise<boolean> {
  const rows = await db
    .select({ id: sources.id })
    .from(sources)
    .where(eq(sources.accountId, accountId))
    .limit(1);
  return rows.length > 0;
}

/**
 * Takes the lease of one enabled pull source that no other run holds and that this run has not pulled
 * yet (`last_pull_at` before `runStartedAt`): concurrent runs skip each other's rows (SKIP LOCKED) and
 * a held lease keeps a second run away until it ends or expires (a crashed run's source is free again
 * after `leaseSec`). Across all accounts: the pull job serves every tenant.
 */
export async function leaseNextPullSource(
  db: Db,
  kinds: readonly string[],
  runStartedAt: Date,
  now: Date,
  leaseSec: number,
): Promise<SourceRow | undefined> {
  const leaseUntil = new Date(now.getTime() + leaseSec * 1000);
  const kindList = sql.join(
    kinds.map((k) => sql`${k}`),
    sql`, `,
  );
  const rows = await queryRows<{ id: string }>(
    db,
    sql`update sources set pull_lease_until = ${leaseUntil.toISOString()}
        where id = (
          select s.id from sources s
          where s.kind in (${kindList}) and s.enabled and s.deleted_at is null
            and (s.pull_lease_until is null or s.pull_lease_until < ${now.toISOString()})
            and (s.last_pull_at is null or s.last_pull_at < ${runStartedAt.toISOString()})
          order by s.last_pull_at asc nulls first, s.id
          limit 1
          for update skip locked)
        returning id`,
  );
  const id = rows[0]?.id;
  if (!id) return undefined;
  const [row] = await db.select().from(sources).where(eq(sources.id, id));
  return row;
}

/** After each page: the cursor moves on and the lease is extended, only while this run still holds it. */
export async function savePullCursor(
  db: Db,
  sourceId: string,
  cursor: string | null,
  leaseUntil: Date,
): Promise<void> {
  await db
    .update(sources)
    .set({ pullCursor: cursor, pullLeaseUntil: leaseUntil })
    .where(eq(sources.id, sourceId));
}

export interface PullRunEnd {
  at: Date;
  /** Set: the run failed (or an item did) with this; null: clear a run-level error (auth, unavailable, unexpected). */
  error?: { code: string; message: string } | null;
  failedItems: number;
}

/** Ends a run: records the pull time and its error, adds failed items, releases the lease. */
export async function finishPullRun(db: Db, sourceId: string, end: PullRunEnd): Promise<void> {
  const error =
    end.error === undefined
      ? {}
      : end.error === null
        ? {
            lastPullErrorCode: sql`case when ${sources.lastPullErrorCode} in ('SOURCE_AUTH_FAILED', 'SOURCE_UNAVAILABLE', 'INTERNAL') then null else ${sources.lastPullErrorCode} end`,
            lastPullErrorMessage: sql`case when ${sources.lastPullErrorCode} in ('SOURCE_AUTH_FAILED', 'SOURCE_UNAVAILABLE', 'INTERNAL') then null else ${sources.lastPullErrorMessage} end`,
            lastPullErrorAt: sql`case when ${sources.lastPullErrorCode} in ('SOURCE_AUTH_FAILED', 'SOURCE_UNAVAILABLE', 'INTERNAL') then null else ${sources.lastPullErrorAt} end`,
          }
        : {
            lastPullErrorCode: end.error.code,
            lastPullErrorMessage: end.error.message,
            lastPullErrorAt: end.at,
          };
  await db
    .update(sources)
    .set({
      ...error,
      lastPullAt: end.at,
      pullLeaseUntil: null,
      pullFailed: sql`${sources.pullFailed} + ${end.failedItems}`,
    })
    .where(eq(sources.id, sourceId));
}
