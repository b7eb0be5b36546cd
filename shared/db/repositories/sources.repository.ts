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
  Pick<SourceRow, "name" | "enabled" | "operatorChannel" | "processingDelaySec" | "requireSignature">
>;

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
