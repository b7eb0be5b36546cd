import { and, count, eq, gt, lte, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { downloadSlots } from "../schema/index.ts";

/**
 * Takes one of the account's `max` concurrent-download slots, or returns undefined when all are taken.
 * An advisory lock per account serializes takers (across replicas), so the count cannot be overrun.
 * Run inside a transaction (the lock is released at its end).
 */
export async function takeDownloadSlot(
  tx: Db,
  input: { accountId: string; max: number; now: Date; ttlMs: number },
): Promise<string | undefined> {
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`download-slots:${input.accountId}`}, 0))`,
  );
  await tx
    .delete(downloadSlots)
    .where(and(eq(downloadSlots.accountId, input.accountId), lte(downloadSlots.expiresAt, input.now)));
  const [row] = await tx
    .select({ n: count() })
    .from(downloadSlots)
    .where(and(eq(downloadSlots.accountId, input.accountId), gt(downloadSlots.expiresAt, input.now)));
  if ((row?.n ?? 0) >= input.max) return undefined;
  const [slot] = await tx
    .insert(downloadSlots)
    .values({ accountId: input.accountId, expiresAt: new Date(input.now.getTime() + input.ttlMs) })
    .returning({ id: downloadSlots.id });
  return slot!.id;
}

export async function releaseDownloadSlot(db: Db, accountId: string, slotId: string): Promise<void> {
  await db
    .delete(downloadSlots)
    .where(and(eq(downloadSlots.accountId, accountId), eq(downloadSlots.id, slotId)));
}
