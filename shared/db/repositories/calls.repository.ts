import { and, asc, count, desc, eq, gte, lt, lte, or, type SQL } from "drizzle-orm";
import type { CallStatus } from "../../domain/calls.ts";
import type { Db } from "../client.ts";
import { callAnalyses, calls } from "../schema/index.ts";

export type CallRow = typeof calls.$inferSelect;
export type NewCall = typeof calls.$inferInsert;
export type CallPatch = Partial<Omit<CallRow, "id" | "accountId" | "createdAt">>;
export type AnalysisRow = typeof callAnalyses.$inferSelect;

/**
 * Inserts the call unless the source already has one with this externalId. Concurrent duplicates are
 * resolved by the unique index: exactly one insert wins, the others get the winner back.
 */
export async function insertCallOnce(db: Db, input: NewCall): Promise<{ call: CallRow; duplicate: boolean }> {
  const [inserted] = await db.insert(calls).values(input).onConflictDoNothing().returning();
  if (inserted) return { call: inserted, duplicate: false };
  if (!input.sourceId || !input.externalId) throw new Error("insertCallOnce conflicted without a source key");
  const [existing] = await db
    .select()
    .from(calls)
    .where(and(eq(calls.sourceId, input.sourceId), eq(calls.externalId, input.externalId)));
  if (!existing) throw new Error("call conflict without a visible row");
  return { call: existing, duplicate: true };
}

export async function findCall(db: Db, accountId: string, callId: string): Promise<CallRow | undefined> {
  const [row] = await db
    .select()
    .from(calls)
    .where(and(eq(calls.id, callId), eq(calls.accountId, accountId)));
  return row;
}

/** Locks the call row for the rest of the transaction (pipeline steps are serialised per call). */
export async function lockCall(db: Db, accountId: string, callId: string): Promise<CallRow | undefined> {
  const [row] = await db
    .select()
    .from(calls)
    .where(and(eq(calls.id, callId), eq(calls.accountId, accountId)))
    .for("update");
  return row;
}

/** Locks the account's calls mid-pipeline (`processing`: a hold may be open), oldest first. */
export async function lockProcessingCalls(db: Db, accountId: string): Promise<CallRow[]> {
  return db
    .select()
    .from(calls)
    .where(and(eq(calls.accountId, accountId), eq(calls.status, "processing")))
    .orderBy(asc(calls.createdAt), asc(calls.id))
    .for("update");
}

export async function updateCall(db: Db, accountId: string, callId: string, patch: CallPatch): Promise<void> {
  await db
    .update(calls)
    .set({ ...patch, updatedAt: new Date() })
    .where(and(eq(calls.id, callId), eq(calls.accountId, accountId)));
}

export interface CallFilter {
  from?: Date;
  to?: Date;
  status?: CallStatus;
  operator?: string;
  limit: number;
  cursor?: { createdAt: Date; id: string };
}

/** Newest first, keyset-paginated on (created_at, id). */
export async function findCalls(db: Db, accountId: string, filter: CallFilter): Promise<CallRow[]> {
  const conditions: (SQL | undefined)[] = [eq(calls.accountId, accountId)];
  if (filter.from) conditions.push(gte(calls.createdAt, filter.from));
  if (filter.to) conditions.push(lte(calls.createdAt, filter.to));
  if (filter.status) conditions.push(eq(calls.status, filter.status));
  if (filter.operator) {
    conditions.push(
      or(eq(calls.operatorExternalId, filter.operator), eq(calls.operatorName, filter.operator)),
    );
  }
  if (filter.cursor) {
    conditions.push(
      or(
        lt(calls.createdAt, filter.cursor.createdAt),
        and(eq(calls.createdAt, filter.cursor.createdAt), lt(calls.id, filter.cursor.id)),
      ),
    );
  }
  return db
    .select()
    .from(calls)
    .where(and(...conditions))
    .orderBy(desc(calls.createdAt), desc(calls.id))
    .limit(filter.limit);
}

export async function saveAnalysis(db: Db, input: typeof callAnalyses.$inferInsert): Promise<void> {
  await db
    .insert(callAnalyses)
    .values(input)
    .onConflictDoUpdate({
      target: [callAnalyses.callId, callAnalyses.templateId, callAnalyses.templateVersion],
      set: {
        status: input.status,
        answers: input.answers ?? [],
        errorCode: input.errorCode ?? null,
        errorMessage: input.errorMessage ?? null,
      },
    });
}

export async function findAnalyses(db: Db, accountId: string, callId: string): Promise<AnalysisRow[]> {
  return db
    .select()
    .from(callAnalyses)
    .where(and(eq(callAnalyses.callId, callId), eq(callAnalyses.accountId, accountId)))
    .orderBy(asc(callAnalyses.createdAt), asc(callAnalyses.templateName));
}

export async function findCallBySourceKey(
  db: Db,
  accountId: string,
  sourceId: string,
  externalId: string,
): Promise<CallRow | undefined> {
  const [row] = await db
    .select()
    .from(calls)
    .where(
      and(eq(calls.accountId, accountId), eq(calls.sourceId, sourceId), eq(calls.externalId, externalId)),
    );
  return row;
}

export async function hasCallsInStatus(db: Db, accountId: string, status: CallStatus): Promise<boolean> {
  const rows = await db
    .select({ id: calls.id })
    .from(calls)
    .where(and(eq(calls.accountId, accountId), eq(calls.status, status)))
    .limit(1);
  return rows.length > 0;
}

/** The account's oldest call waiting for funds, locked; calls locked by another worker are skipped. */
export async function lockOldestAwaitingCall(db: Db, accountId: string): Promise<CallRow | undefined> {
  const [row] = await db
    .select()
    .from(calls)
    .where(and(eq(calls.accountId, accountId), eq(calls.status, "awaiting_funds")))
    .orderBy(asc(calls.createdAt), asc(calls.id))
    .limit(1)
    .for("update", { skipLocked: true });
  return row;
}

/** Calls the account received since `since` (the per-account upload rate). */
export async function countCallsReceivedSince(db: Db, accountId: string, since: Date): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(calls)
    .where(and(eq(calls.accountId, accountId), gte(calls.createdAt, since)));
  return row?.n ?? 0;
}
