import { and, desc, eq, gte, inArray, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { CallStatus } from "../../domain/calls.ts";
import { type Db, queryRows } from "../client.ts";
import { callAnalyses, calls } from "../schema/index.ts";
import type { CallRow } from "./calls.repository.ts";

/**
 * Read models for managers: the filtered calls list (also streamed as CSV), per-operator KPIs and
 * per-day trends. Every query is scoped by `account_id`; measurements are plain numbers (seconds,
 * ratios), never money.
 */

/** `answer=<templateId>.<key>:<value>`: the call has an answer with this text value (`true`, `4`, `yes`…). */
export interface AnswerCondition {
  templateId: string;
  key: string;
  /** The answer's value as text; `null` matches an unanswered question. */
  value: string;
}

export interface CallReportFilter {
  /** Received at or after (calls.created_at, as the plain list). */
  from?: Date;
  /** Received at or before. */
  to?: Date;
  status?: CallStatus;
  /** Operator's external id or name, exactly. */
  operator?: string;
  direction?: "inbound" | "outbound";
  /** Words to find in the transcript, case-insensitive (a substring of one line). */
  q?: string;
  /** All must hold. */
  answers?: AnswerCondition[];
}

/** A LIKE pattern that matches `text` literally anywhere (backslash is the default escape). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function callConditions(accountId: string, filter: CallReportFilter): SQL[] {
  const conditions: (SQL | undefined)[] = [eq(calls.accountId, accountId)];
  if (filter.from) conditions.push(gte(calls.createdAt, filter.from));
  if (filter.to) conditions.push(lte(calls.createdAt, filter.to));
  if (filter.status) conditions.push(eq(calls.status, filter.status));
  if (filter.direction) conditions.push(eq(calls.direction, filter.direction));
  if (filter.operator) {
    conditions.push(
      or(eq(calls.operatorExternalId, filter.operator), eq(calls.operatorName, filter.operator)),
    );
  }
  const q = filter.q?.trim();
  if (q) {
    conditions.push(
      sql`exists (select 1 from jsonb_array_elements(coalesce(${calls.transcript}->'segments', '[]'::jsonb)) seg
                   where seg->>'text' ilike ${containsPattern(q)})`,
    );
  }
  for (const answer of filter.answers ?? []) {
    conditions.push(
      sql`exists (select 1 from ${callAnalyses} an
                   cross join lateral jsonb_array_elements(an.answers) ans
                   where an.call_id = ${calls.id} and an.account_id = ${accountId} and an.status = 'done'
                     and an.template_id = ${answer.templateId}::uuid
                     and ans->>'key' = ${answer.key}
                     and coalesce(ans->>'value', 'null') = ${answer.value})`,
    );
  }
  return conditions.filter((c): c is SQL => c !== undefined);
}

/** The calls list with every filter, newest first, keyset-paginated on (created_at, id) like findCalls. */
export async function findCallsReport(
  db: Db,
  accountId: string,
  filter: CallReportFilter & { limit: number; cursor?: { createdAt: Date; id: string } },
): Promise<CallRow[]> {
  const conditions = callConditions(accountId, filter);
  if (filter.cursor) {
    const after = or(
      lt(calls.createdAt, filter.cursor.createdAt),
      and(eq(calls.createdAt, filter.cursor.createdAt), lt(calls.id, filter.cursor.id)),
    );
    if (after) conditions.push(after);
  }
  return db
    .select()
    .from(calls)
    .where(and(...conditions))
    .orderBy(desc(calls.createdAt), desc(calls.id))
    .limit(filter.limit);
}

export interface AnswerColumn {
  templateName: string;
  key: string;
}

/**
 * The answer columns of an export of these calls: one per (template name, question key) that any of
 * them was answered on, templates by name, questions in the template's order.
 */
export async function findAnswerColumns(
  db: Db,
  accountId: string,
  filter: CallReportFilter,
): Promise<AnswerColumn[]> {
  const rows = await queryRows<{ template_name: string; key: string }>(
    db,
    sql`select an.template_name, ans.v->>'key' as key
          from ${calls}
          join ${callAnalyses} an on an.call_id = ${calls.id} and an.account_id = ${accountId}
          cross join lateral jsonb_array_elements(an.answers) with ordinality ans(v, ord)
         where ${and(...callConditions(accountId, filter))} and an.status = 'done'
         group by an.template_name, ans.v->>'key'
         order by an.template_name, min(ans.ord), ans.v->>'key'`,
  );
  return rows.map((r) => ({ templateName: r.template_name, key: r.key }));
}

export type AnswerValue = boolean | number | string | null;

/**
 * Answers of these calls keyed `<template name>.<key>`; a later analysis of the same template (a
 * reanalysis) overrides an earlier one.
 */
export async function findAnswersOfCalls(
  db: Db,
  accountId: string,
  callIds: readonly string[],
): Promise<Map<string, Map<string, AnswerValue>>> {
  const out = new Map<string, Map<string, AnswerValue>>();
  if (callIds.length === 0) return out;
  const rows = await db
    .select({
      callId: callAnalyses.callId,
      templateName: callAnalyses.templateName,
      answers: callAnalyses.answers,
    })
    .from(callAnalyses)
    .where(
      and(
        eq(callAnalyses.accountId, accountId),
        inArray(callAnalyses.callId, [...callIds]),
        eq(callAnalyses.status, "done"),
      ),
    )
    .orderBy(callAnalyses.createdAt, callAnalyses.id);
  for (const row of rows) {
    let answers = out.get(row.callId);
    if (!answers) {
      answers = new Map();
      out.set(row.callId, answers);
    }
    for (const answer of row.answers) answers.set(`${row.templateName}.${answer.key}`, answer.value);
  }
  return out;
}

/** A half-open period [from, to) of instants. */
export interface Period {
  from: Date;
  to: Date;
}

/** When a call happened for reports: when it started, or when it was received if telephony did not say. */
const callTime = sql`coalesce(c.started_at, c.created_at)`;

/**
 * Score answers of one call `c` (a lateral subquery), normalised to 0..1 on the question's scale (from
 * the template version the answer was given for): `total` / `n` is the call's mean; n = 0 without any.
 * Per call through call_analyses' call_id index, so the cost follows the period's calls: a join of all
 * the period's calls against the account's analyses let the planner scan every analysis per template.
 */
const scoresOfCall = (accountId: string) => sql`
  left join lateral (
    select sum(greatest(0, least(1,
                 ((ans.v->>'value')::float8 - (q.v->'scale'->>'min')::float8)
                 / nullif((q.v->'scale'->>'max')::float8 - (q.v->'scale'->>'min')::float8, 0)))) as total,
           count(*) as n
      from call_analyses an
      join template_versions tv on tv.template_id = an.template_id and tv.version = an.template_version
      cross join lateral jsonb_array_elements(an.answers) ans(v)
      cross join lateral jsonb_array_elements(tv.questions) q(v)
     where an.call_id = c.id and an.account_id = ${accountId} and an.status = 'done'
       and ans.v->>'type' = 'score' and jsonb_typeof(ans.v->'value') = 'number'
       and q.v->>'key' = ans.v->>'key' and q.v->'scale' is not null
  ) sc on true`;

export interface OperatorKpis {
  /** The operator's external id, else their name; null for calls without an operator. */
  operator: string | null;
  externalId: string | null;
  name: string | null;
  calls: number;
  /** Calls whose processing finished. */
  doneCalls: number;
  /** Calls with two-channel measurements (talk ratio, silence, interruptions). */
  measuredCalls: number;
  /** Recorded minutes (duration / 60, not billed minutes). */
  minutes: number;
  /** Mean of every score answer, each normalised to 0..1 on its scale; null when none. */
  averageScore: number | null;
  scoreAnswers: number;
  /** Mean share of the talk time the operator had (0..1). */
  averageTalkRatio: number | null;
  /** Mean interruptions of the client by the operator per measured call. */
  interruptionsPerCall: number | null;
  /** Mean interruptions of the operator by the client per measured call. */
  clientInterruptionsPerCall: number | null;
  /** Silence seconds / recorded seconds over measured calls (0..1). */
  silenceShare: number | null;
}

/**
 * Runs a period aggregate with JIT compilation off: on a month of a big account the plan's cost crosses
 * jit_above_cost and compiling took seconds of a query that runs in less (docs/BENCHMARKS.md).
 */
function withoutJit<T>(db: Db, query: (tx: Db) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`set local jit = off`);
    return query(tx);
  });
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * KPIs per operator straight from calls and analyses (every call of the period read): the reference
 * the rollup-based findOperatorKpis is checked against (reports-rollup.int.test.ts).
 */
export async function findOperatorKpisDirect(
  db: Db,
  accountId: string,
  period: Period,
): Promise<OperatorKpis[]> {
  const rows = await withoutJit(db, (tx) =>
    queryRows<Record<string, unknown>>(
      tx,
      sql`with c as (
            select c.id, c.status, c.created_at, c.duration_sec, c.metrics,
                   c.operator_external_id, c.operator_name
              from calls c
             where c.account_id = ${accountId}
               and ${callTime} >= ${period.from.toISOString()}::timestamptz
               and ${callTime} < ${period.to.toISOString()}::timestamptz
          )
          select coalesce(c.operator_external_id, c.operator_name) as operator,
                 (array_agg(c.operator_external_id order by c.created_at desc)
                    filter (where c.operator_external_id is not null))[1] as external_id,
                 (array_agg(c.operator_name order by c.created_at desc)
                    filter (where c.operator_name is not null))[1] as name,
                 count(*)::int as calls,
                 (count(*) filter (where c.status = 'done'))::int as done_calls,
                 count(c.metrics)::int as measured_calls,
                 (coalesce(sum(c.duration_sec), 0) / 60)::float8 as minutes,
                 (sum(sc.total) / nullif(sum(sc.n), 0))::float8 as average_score,
                 coalesce(sum(sc.n), 0)::int as score_answers,
                 avg((c.metrics->>'talkRatio')::float8)::float8 as average_talk_ratio,
                 avg((c.metrics->'interruptions'->>'operator')::float8)::float8 as interruptions_per_call,
                 avg((c.metrics->'interruptions'->>'client')::float8)::float8 as client_interruptions_per_call,
                 (sum((c.metrics->>'silenceSec')::float8)
                    / nullif(sum(c.duration_sec) filter (where c.metrics is not null), 0))::float8 as silence_share
            from c
            ${scoresOfCall(accountId)}
           group by 1
           order by calls desc, name nulls last, operator nulls last`,
    ),
  );
  return rows.map(toOperatorKpis);
}

function toOperatorKpis(r: Record<string, unknown>): OperatorKpis {
  return {
    operator: (r.operator as string | null) ?? null,
    externalId: (r.external_id as string | null) ?? null,
    name: (r.name as string | null) ?? null,
    calls: Number(r.calls),
    doneCalls: Number(r.done_calls),
    measuredCalls: Number(r.measured_calls),
    minutes: Number(r.minutes),
    averageScore: num(r.average_score),
    scoreAnswers: Number(r.score_answers),
    averageTalkRatio: num(r.average_talk_ratio),
    interruptionsPerCall: num(r.interruptions_per_call),
    clientInterruptionsPerCall: num(r.client_interruptions_per_call),
    silenceShare: num(r.silence_share),
  };
}

export interface DayTrend {
  /** Astana calendar day, YYYY-MM-DD. */
  day: string;
  calls: number;
  minutes: number;
  averageScore: number | null;
}

/** findDailyTrends straight from calls and analyses: the reference the rollup-based one is checked against. */
export async function findDailyTrendsDirect(
  db: Db,
  accountId: string,
  period: Period & { firstDay: string; lastDay: string },
  operator?: string,
): Promise<DayTrend[]> {
  const byOperator = operator
    ? sql`and (c.operator_external_id = ${operator} or c.operator_name = ${operator})`
    : sql``;
  const rows = await withoutJit(db, (tx) =>
    queryRows<Record<string, unknown>>(
      tx,
      sql`with c as (
            select c.id, c.duration_sec,
                   ((${callTime} at time zone 'UTC') + interval '5 hours')::date as day
              from calls c
             where c.account_id = ${accountId}
               and ${callTime} >= ${period.from.toISOString()}::timestamptz
               and ${callTime} < ${period.to.toISOString()}::timestamptz
               ${byOperator}
          ),
          days as (
            select d::date as day
              from generate_series(${period.firstDay}::date, ${period.lastDay}::date, interval '1 day') d
          )
          select to_char(days.day, 'YYYY-MM-DD') as day,
                 count(c.id)::int as calls,
                 (coalesce(sum(c.duration_sec), 0) / 60)::float8 as minutes,
                 (sum(sc.total) / nullif(sum(sc.n), 0))::float8 as average_score
            from days
            left join c on c.day = days.day
            ${scoresOfCall(accountId)}
           group by days.day
           order by days.day`,
    ),
  );
  return rows.map(toDayTrend);
}

function toDayTrend(r: Record<string, unknown>): DayTrend {
  return {
    day: String(r.day),
    calls: Number(r.calls),
    minutes: Number(r.minutes),
    averageScore: num(r.average_score),
  };
}

const DAY_MS = 86_400_000;
const ASTANA_OFFSET_MS = 5 * 3_600_000;
const astanaDay = (ms: number) => new Date(ms + ASTANA_OFFSET_MS).toISOString().slice(0, 10);

/**
 * The period's rollup rows (per Astana day and operator pair, columns of report_daily_operators):
 * whole Astana days inside [from, to) from report_daily_operators, the partial days at either edge
 * computed live from calls by report_rollup_compute (the function the triggers maintain the rollup
 * with), so the sums equal those over the period's calls.
 */
function periodParts(accountId: string, period: Period): SQL {
  const from = period.from.getTime();
  const to = period.to.getTime();
  // First Astana midnight at or after `from`, last at or before `to`.
  let wholeFrom = Math.ceil((from + ASTANA_OFFSET_MS) / DAY_MS) * DAY_MS - ASTANA_OFFSET_MS;
  let wholeTo = Math.floor((to + ASTANA_OFFSET_MS) / DAY_MS) * DAY_MS - ASTANA_OFFSET_MS;
  if (wholeFrom >= wholeTo) {
    wholeFrom = to; // no whole day: everything live
    wholeTo = to;
  }
  const iso = (ms: number) => new Date(ms).toISOString();
  return sql`
    select r.day, r.operator_external_id, r.operator_name, r.last_created_at, r.calls, r.done_calls,
           r.measured_calls, r.duration_sum, r.measured_duration_sum, r.score_total, r.score_count,
           r.talk_ratio_sum, r.talk_ratio_count, r.operator_interruptions_sum,
           r.operator_interruptions_count, r.client_interruptions_sum, r.client_interruptions_count,
           r.silence_sum
      from report_daily_operators r
     where r.account_id = ${accountId}
       and r.day >= ${astanaDay(wholeFrom)}::date and r.day < ${astanaDay(wholeTo)}::date
    union all
    select * from report_rollup_compute(${accountId}, ${iso(from)}::timestamptz,
                                        ${iso(Math.min(wholeFrom, to))}::timestamptz, false, null, null)
    union all
    select * from report_rollup_compute(${accountId}, ${iso(Math.max(wholeTo, from))}::timestamptz,
                                        ${iso(to)}::timestamptz, false, null, null)`;
}

/**
 * KPIs per operator for calls that happened in the period, busiest operators first; summed from the
 * report rollup (whole Astana days) and the live partial days at the edges.
 */
export async function findOperatorKpis(db: Db, accountId: string, period: Period): Promise<OperatorKpis[]> {
  const rows = await withoutJit(db, (tx) =>
    queryRows<Record<string, unknown>>(
      tx,
      sql`with p as (${periodParts(accountId, period)})
          select coalesce(p.operator_external_id, p.operator_name) as operator,
                 (array_agg(p.operator_external_id order by p.last_created_at desc)
                    filter (where p.operator_external_id is not null))[1] as external_id,
                 (array_agg(p.operator_name order by p.last_created_at desc)
                    filter (where p.operator_name is not null))[1] as name,
                 sum(p.calls)::int as calls,
                 sum(p.done_calls)::int as done_calls,
                 sum(p.measured_calls)::int as measured_calls,
                 (coalesce(sum(p.duration_sum), 0) / 60)::float8 as minutes,
                 (sum(p.score_total) / nullif(sum(p.score_count), 0))::float8 as average_score,
                 coalesce(sum(p.score_count), 0)::int as score_answers,
                 (sum(p.talk_ratio_sum) / nullif(sum(p.talk_ratio_count), 0))::float8 as average_talk_ratio,
                 (sum(p.operator_interruptions_sum)
                    / nullif(sum(p.operator_interruptions_count), 0))::float8 as interruptions_per_call,
                 (sum(p.client_interruptions_sum)
                    / nullif(sum(p.client_interruptions_count), 0))::float8 as client_interruptions_per_call,
                 (sum(p.silence_sum) / nullif(sum(p.measured_duration_sum), 0))::float8 as silence_share
            from p
           group by 1
           order by calls desc, name nulls last, operator nulls last`,
    ),
  );
  return rows.map(toOperatorKpis);
}

/**
 * One row per Astana day of the period (days without calls included, with zeros), optionally for one
 * operator (external id or name); from the report rollup like findOperatorKpis.
 */
export async function findDailyTrends(
  db: Db,
  accountId: string,
  period: Period & { firstDay: string; lastDay: string },
  operator?: string,
): Promise<DayTrend[]> {
  const byOperator = operator
    ? sql`where (parts.operator_external_id = ${operator} or parts.operator_name = ${operator})`
    : sql``;
  const rows = await withoutJit(db, (tx) =>
    queryRows<Record<string, unknown>>(
      tx,
      sql`with p as (select * from (${periodParts(accountId, period)}) parts ${byOperator}),
          days as (
            select d::date as day
              from generate_series(${period.firstDay}::date, ${period.lastDay}::date, interval '1 day') d
          )
          select to_char(days.day, 'YYYY-MM-DD') as day,
                 coalesce(sum(p.calls), 0)::int as calls,
                 (coalesce(sum(p.duration_sum), 0) / 60)::float8 as minutes,
                 (sum(p.score_total) / nullif(sum(p.score_count), 0))::float8 as average_score
            from days
            left join p on p.day = days.day
           group by days.day
           order by days.day`,
    ),
  );
  return rows.map(toDayTrend);
}
