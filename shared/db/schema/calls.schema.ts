import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { callCostStatuses } from "../../domain/billing.ts";
import {
  type AnalysisAnswer,
  type CallMetrics,
  type CallStatus,
  type CallTranscript,
  callAnalysisStatuses,
  callDirections,
  operatorChannels,
  type PricedTemplate,
} from "../../domain/calls.ts";
import { accounts } from "./accounts.schema.ts";
import { createdAt, currencyCode, id, money, tstz } from "./columns.ts";
import { sources } from "./sources.schema.ts";
import { templates } from "./templates.schema.ts";

export const calls = pgTable(
  "calls",
  {
    id: id(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    sourceId: uuid("source_id").references(() => sources.id, { onDelete: "set null" }),
    externalId: text("external_id"),
    status: text("status").$type<CallStatus>().notNull().default("received"),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    startedAt: tstz("started_at"),
    direction: text("direction", { enum: callDirections }),
    operatorExternalId: text("operator_external_id"),
    operatorName: text("operator_name"),
    clientPhone: text("client_phone"),
    /** Which stereo channel carries the operator, copied from the source at ingest. */
    operatorChannel: text("operator_channel", { enum: operatorChannels }).notNull().default("left"),
    recordingKey: text("recording_key"),
    recordingBytes: bigint("recording_bytes", { mode: "number" }),
    /** Seconds; a measurement, not money. */
    durationSec: doublePrecision("duration_sec"),
    channels: integer("channels"),
    sampleRate: integer("sample_rate"),
    mono: boolean("mono"),
    metrics: jsonb("metrics").$type<CallMetrics>(),
    transcript: jsonb("transcript").$type<CallTranscript>(),
    costMinutes: integer("cost_minutes"),
    pricePerMinute: money("price_per_minute"),
    costAmount: money("cost_amount"),
    costCurrency: currencyCode("cost_currency"),
    costStatus: text("cost_status", { enum: callCostStatuses }),
    /**
     * The template versions the cost was priced with, written with the reservation (PRODUCT.md "What is
     * priced is what is analysed"): the analyze step answers exactly these, never templates activated or
     * edited later. Null until the call is priced.
     */
    pricedTemplates: jsonb("priced_templates").$type<PricedTemplate[]>(),
    /** Wall-clock seconds each pipeline step took, for benchmarks and support. */
    stepTimings: jsonb("step_timings").$type<Record<string, number>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: tstz("updated_at").notNull().defaultNow(),
    processedAt: tstz("processed_at"),
    /**
     * Set by retention-purge: the recording, transcript, analyses and personal metadata are gone; the
     * row stays as a shell (duration, metrics, cost) so the ledger and aggregates stay consistent.
     */
    purgedAt: tstz("purged_at"),
  },
  (t) => [
    // The same externalId from one source never makes two calls, even under concurrent deliveries.
    uniqueIndex("calls_source_external_key")
      .on(t.sourceId, t.externalId)
      .where(sql`${t.externalId} is not null`),
    // The calls list (GET /api/v1/calls, reports' list and export): newest first, keyset on (created_at, id).
    // NULLS FIRST is what ORDER BY … DESC means; an index in any other null order cannot give that order.
    index("calls_account_created_idx").on(
      t.accountId,
      t.createdAt.desc().nullsFirst(),
      t.id.desc().nullsFirst(),
    ),
    // The list filtered by status in the same order, and "has calls in status" / oldest awaiting look-ups.
    index("calls_account_status_created_idx").on(
      t.accountId,
      t.status,
      t.createdAt.desc().nullsFirst(),
      t.id.desc().nullsFirst(),
    ),
    // Reports select by when a call happened (started, else received): reports.repository.ts callTime.
    index("calls_account_call_time_idx").on(t.accountId, sql`coalesce(started_at, created_at)`),
    index("calls_unpurged_created_idx").on(t.accountId, t.createdAt).where(sql`${t.purgedAt} is null`),
  ],
);

export const callAnalyses = pgTable(
  "call_analyses",
  {
    id: id(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    callId: uuid("call_id")
      .notNull()
      .references(() => calls.id, { onDelete: "cascade" }),
    templateId: uuid("template_id").references(() => templates.id, { onDelete: "set null" }),
    templateVersion: integer("template_version").notNull(),
    templateName: text("template_name").notNull(),
    provider: text("provider").notNull(),
    status: text("status", { enum: callAnalysisStatuses }).notNull(),
    answers: jsonb("answers").$type<AnalysisAnswer[]>().notNull().default([]),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("call_analyses_call_template_key").on(t.callId, t.templateId, t.templateVersion),
    index("call_analyses_account_idx").on(t.accountId),
  ],
);

/**
 * Report rollup: per account, Astana day (of when the call happened: started, else received) and
 * operator (external id, name — either may be null) the sums the operator KPIs and daily trends are
 * made of. Maintained by triggers on calls and call_analyses (custom migrations `report_rollup_triggers`,
 * `report_rollup_deferred`): every change that moves an aggregate has the affected rows recomputed from
 * `calls` at its transaction's commit, so a call is counted once however often a step reruns. Read by reports.repository.ts for whole days only.
 */
export const reportDailyOperators = pgTable(
  "report_daily_operators",
  {
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    day: date("day").notNull(),
    operatorExternalId: text("operator_external_id"),
    operatorName: text("operator_name"),
    /** created_at of the newest call of the row (the KPIs show the newest external id and name). */
    lastCreatedAt: tstz("last_created_at").notNull(),
    calls: integer("calls").notNull(),
    doneCalls: integer("done_calls").notNull(),
    measuredCalls: integer("measured_calls").notNull(),
    /** Sum of duration_sec (nulls skipped); null when every call's is null. */
    durationSum: doublePrecision("duration_sum"),
    /** Sum of duration_sec over calls with metrics. */
    measuredDurationSum: doublePrecision("measured_duration_sum"),
    scoreTotal: doublePrecision("score_total"),
    scoreCount: integer("score_count").notNull(),
    talkRatioSum: doublePrecision("talk_ratio_sum"),
    talkRatioCount: integer("talk_ratio_count").notNull(),
    operatorInterruptionsSum: doublePrecision("operator_interruptions_sum"),
    operatorInterruptionsCount: integer("operator_interruptions_count").notNull(),
    clientInterruptionsSum: doublePrecision("client_interruptions_sum"),
    clientInterruptionsCount: integer("client_interruptions_count").notNull(),
    silenceSum: doublePrecision("silence_sum"),
  },
  (t) => [index("report_daily_operators_account_day_idx").on(t.accountId, t.day)],
);

/**
 * The rollup rows a transaction changed, recomputed at its commit (custom migration
 * `report_rollup_deferred`): the triggers on calls and call_analyses only note (account, day, operator)
 * here; a deferred trigger then refreshes every noted row in one sorted pass and deletes the notes, so
 * two transactions touching the same rows in opposite order take the rows' locks in the same order and
 * cannot deadlock. Empty outside a running transaction. No foreign key: a note of an account deleted in
 * the same transaction is skipped at commit.
 */
export const reportRollupPending = pgTable("report_rollup_pending", {
  accountId: uuid("account_id").notNull(),
  day: date("day").notNull(),
  operatorExternalId: text("operator_external_id"),
  operatorName: text("operator_name"),
});
