import { and, desc, eq, isNull } from "drizzle-orm";
import type { Db } from "../client.ts";
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

/** The ingest token authenticates: a revoked (deleted) or disabled source is not found. */
export async function findSourceByTokenHash(db: Db, tokenHash: string): Promise<SourceRow | undefined> {
  const [row] = await db
    .select()
    .from(sources)
    .where(and(eq(sources.tokenHash, tokenHash), isNull(sources.deletedAt), eq(sources.enabled, true)));
  return row;
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
