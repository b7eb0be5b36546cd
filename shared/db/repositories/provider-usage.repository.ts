import { and, asc, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import type { ProviderKind, ProviderOutcome } from "../../domain/providers.ts";
import { type Money, moneyFromDb } from "../../money/money.ts";
import type { Db } from "../client.ts";
import { providerUsage } from "../schema/index.ts";

type ProviderUsageRow = typeof providerUsage.$inferSelect;

/** A provider_usage row with its cost as Money (the string ↔ Money conversion lives here only). */
export interface ProviderUsage {
  id: string;
  accountId: string;
  callId: string | null;
  kind: ProviderKind;
  provider: string;
  audioSec: number;
  inputTokens: number;
  outputTokens: number;
  ourCost: Money;
  attempts: number;
  outcome: ProviderOutcome;
  errorCode: string | null;
  createdAt: Date;
}

export interface NewProviderUsage {
  accountId: string;
  callId?: string | null;
  kind: ProviderKind;
  provider: string;
  audioSec?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** Our cost in the provider's price currency; stored with 6 decimals. */
  ourCost: Money;
  attempts: number;
  outcome: ProviderOutcome;
  errorCode?: string | null;
}

export async function createProviderUsage(db: Db, input: NewProviderUsage): Promise<ProviderUsage> {
  const [row] = await db
    .insert(providerUsage)
    .values({
      accountId: input.accountId,
      callId: input.callId ?? null,
      kind: input.kind,
      provider: input.provider,
      audioSec: input.audioSec ?? 0,
      inputTokens: input.inputTokens ?? 0,
      outputTokens: input.outputTokens ?? 0,
      ourCost: input.ourCost.toDbString(),
      currency: input.ourCost.currency,
      attempts: input.attempts,
      outcome: input.outcome,
      errorCode: input.errorCode ?? null,
    })
    .returning();
  return toProviderUsage(row!);
}

/** Every provider row of one call, oldest first (fallbacks appear in the order they were tried). */
export async function findProviderUsageOfCall(
  db: Db,
  accountId: string,
  callId: string,
): Promise<ProviderUsage[]> {
  const rows = await db
    .select()
    .from(providerUsage)
    .where(and(eq(providerUsage.accountId, accountId), eq(providerUsage.callId, callId)))
    .orderBy(asc(providerUsage.createdAt), asc(providerUsage.id));
  return rows.map(toProviderUsage);
}

export interface ProviderCostTotal {
  kind: ProviderKind;
  provider: string;
  /** Rows (pieces of work) counted, failed ones included. */
  uses: number;
  failures: number;
  attempts: number;
  audioSec: number;
  inputTokens: number;
  outputTokens: number;
  ourCost: Money;
}

/**
 * Our provider costs over [from, to), per kind, provider and currency; for one account or, without
 * accountId, for the whole service. Sums are done by PostgreSQL in numeric, never in floats.
 */
export async function findProviderCostTotals(
  db: Db,
  filter: { accountId?: string; from: Date; to: Date },
): Promise<ProviderCostTotal[]> {
  const conditions: SQL[] = [
    gte(providerUsage.createdAt, filter.from),
    lt(providerUsage.createdAt, filter.to),
  ];
  if (filter.accountId !== undefined) conditions.push(eq(providerUsage.accountId, filter.accountId));
  const rows = await db
    .select({
      kind: providerUsage.kind,
      provider: providerUsage.provider,
      currency: providerUsage.currency,
      uses: sql<number>`count(*)::int`,
      failures: sql<number>`(count(*) filter (where ${providerUsage.outcome} = 'failed'))::int`,
      attempts: sql<number>`coalesce(sum(${providerUsage.attempts}), 0)::int`,
      audioSec: sql<number>`coalesce(sum(${providerUsage.audioSec}), 0)::float8`,
      inputTokens: sql<string>`coalesce(sum(${providerUsage.inputTokens}), 0)::text`,
      outputTokens: sql<string>`coalesce(sum(${providerUsage.outputTokens}), 0)::text`,
      ourCost: sql<string>`coalesce(sum(${providerUsage.ourCost}), 0)::numeric(20, 6)::text`,
    })
    .from(providerUsage)
    .where(and(...conditions))
    .groupBy(providerUsage.kind, providerUsage.provider, providerUsage.currency)
    .orderBy(asc(providerUsage.kind), asc(providerUsage.provider), asc(providerUsage.currency));
  return rows.map((r) => ({
    kind: r.kind,
    provider: r.provider,
    uses: Number(r.uses),
    failures: Number(r.failures),
    attempts: Number(r.attempts),
    audioSec: Number(r.audioSec),
    // Token sums can exceed int4; bigint arrives as text and stays exact up to 2^53.
    inputTokens: Number(r.inputTokens),
    outputTokens: Number(r.outputTokens),
    ourCost: moneyFromDb(r.ourCost, r.currency),
  }));
}

function toProviderUsage(row: ProviderUsageRow): ProviderUsage {
  return {
    id: row.id,
    accountId: row.accountId,
    callId: row.callId,
    kind: row.kind,
    provider: row.provider,
    audioSec: row.audioSec,
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
    ourCost: moneyFromDb(row.ourCost, row.currency),
    attempts: row.attempts,
    outcome: row.outcome,
    errorCode: row.errorCode,
    createdAt: row.createdAt,
  };
}
