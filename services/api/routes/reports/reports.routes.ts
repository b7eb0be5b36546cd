import { z } from "zod";
import { recordAudit } from "../../../../shared/audit/audit-log.ts";
import {
  type AnswerCondition,
  type CallReportFilter,
  findCallsReport,
  findDailyTrends,
  findOperatorKpis,
} from "../../../../shared/db/repositories/reports.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import { astanaDate, startOfAstanaDay, toAstanaIso } from "../../../../shared/time/astana-time.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { clientAddress } from "../../http/caller.ts";
import { fetchPage, pageOf, pageQuery } from "../../http/cursor.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import { callSummaryDto, toCallSummary } from "../calls/calls.dto.ts";
import { writeCallsCsv } from "./calls-csv.writer.ts";

const DAY_MS = 24 * 3600 * 1000;
/** Reports cover at most this many days (a year, leap or not). */
export const MAX_REPORT_DAYS = 366;
/** Without `from`, reports cover the last 30 Astana days up to today. */
export const DEFAULT_REPORT_DAYS = 30;

/** A calendar day (Astana) or an instant with its offset. */
const dayOrInstant = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);
const isDay = (v: string) => /^\d{4}-\d{2}-\d{2}$/.test(v);
const dayStart = (day: string) => new Date(`${day}T00:00:00+05:00`);

const answerParam = z
  .string()
  .max(300)
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[a-z][a-z0-9_]{0,63}:.{1,200}$/i,
    "<templateId>.<question key>:<value>, e.g. 7c9e…-….greeting:true",
  )
  .transform((v): AnswerCondition => {
    const dot = v.indexOf(".");
    const colon = v.indexOf(":", dot);
    return {
      templateId: v.slice(0, dot).toLowerCase(),
      key: v.slice(dot + 1, colon),
      value: v.slice(colon + 1),
    };
  });

/** The list's filters (GET /api/v1/calls) plus direction, transcript search and answer values. */
export const callFilterQuery = z.object({
  from: dayOrInstant.optional(),
  to: dayOrInstant.optional(),
  status: z.enum(["received", "awaiting_funds", "processing", "done", "failed"]).optional(),
  operator: z.string().trim().min(1).max(200).optional(),
  direction: z.enum(["inbound", "outbound"]).optional(),
  q: z.string().trim().min(1).max(200).optional(),
  /** Repeat for several conditions; all must hold. */
  answer: z
    .union([answerParam, z.array(answerParam).max(10)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
});

/** Query values → repository filter: a `from` day starts at 00:00 Astana, a `to` day includes the whole day. */
export function toCallFilter(query: z.output<typeof callFilterQuery>): CallReportFilter {
  const from = query.from ? (isDay(query.from) ? dayStart(query.from) : new Date(query.from)) : undefined;
  const to = query.to
    ? isDay(query.to)
      ? new Date(dayStart(query.to).getTime() + DAY_MS - 1)
      : new Date(query.to)
    : undefined;
  return {
    from,
    to,
    status: query.status,
    operator: query.operator,
    direction: query.direction,
    q: query.q,
    answers: query.answer,
  };
}

const periodQuery = z.object({ from: dayOrInstant.optional(), to: dayOrInstant.optional() });

/**
 * The reports' period, half-open [from, to): a `to` day includes that whole day; by default the last
 * 30 Astana days including today. Refused when empty or longer than a year.
 */
export function resolvePeriod(
  query: { from?: string | undefined; to?: string | undefined },
  now: Date,
): { from: Date; to: Date; firstDay: string; lastDay: string } {
  const to = query.to
    ? isDay(query.to)
      ? new Date(dayStart(query.to).getTime() + DAY_MS)
      : new Date(query.to)
    : new Date(startOfAstanaDay(now).getTime() + DAY_MS);
  const from = query.from
    ? isDay(query.from)
      ? dayStart(query.from)
      : new Date(query.from)
    : new Date(to.getTime() - DEFAULT_REPORT_DAYS * DAY_MS);
  const invalid = (message: string) =>
    new AppError("VALIDATION_FAILED", message, { details: [{ path: "query.from", message }] });
  if (from.getTime() >= to.getTime()) throw invalid("`from` must be before `to`.");
  if (to.getTime() - from.getTime() > MAX_REPORT_DAYS * DAY_MS) {
    throw invalid(`A report covers at most ${MAX_REPORT_DAYS} days.`);
  }
  return { from, to, firstDay: astanaDate(from), lastDay: astanaDate(new Date(to.getTime() - 1)) };
}

const operatorKpisDto = z.object({
  operator: z.string().nullable(),
  externalId: z.string().nullable(),
  name: z.string().nullable(),
  calls: z.number().int(),
  doneCalls: z.number().int(),
  measuredCalls: z.number().int(),
  minutes: z.number(),
  averageScore: z.number().nullable(),
  scoreAnswers: z.number().int(),
  averageTalkRatio: z.number().nullable(),
  interruptionsPerCall: z.number().nullable(),
  clientInterruptionsPerCall: z.number().nullable(),
  silenceShare: z.number().nullable(),
});
const dayTrendDto = z.object({
  day: z.string(),
  calls: z.number().int(),
  minutes: z.number(),
  averageScore: z.number().nullable(),
});

/** Rounds measurements for display-sized JSON (ratios to 4 places, minutes to 2). */
const round = (v: number | null, places: number) =>
  v === null ? null : Math.round(v * 10 ** places) / 10 ** places;

export function reportsRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/reports/operators",
      summary:
        "KPIs per operator for calls that happened in the period (started, else received; Astana days).",
      tag: "reports",
      access: ["owner", "manager"],
      query: periodQuery,
      responses: {
        200: {
          description: "One row per operator, busiest first",
          schema: z.object({ from: z.string(), to: z.string(), items: z.array(operatorKpisDto) }),
        },
        400: { description: "Bad period (empty or longer than a year)" },
      },
      handler: async ({ query, auth }) => {
        const period = resolvePeriod(query, deps.clock());
        const rows = await findOperatorKpis(db, auth.account.id, period);
        return {
          status: 200,
          body: {
            from: toAstanaIso(period.from),
            to: toAstanaIso(period.to),
            items: rows.map((r) => ({
              ...r,
              minutes: round(r.minutes, 2) ?? 0,
              averageScore: round(r.averageScore, 4),
              averageTalkRatio: round(r.averageTalkRatio, 4),
              interruptionsPerCall: round(r.interruptionsPerCall, 2),
              clientInterruptionsPerCall: round(r.clientInterruptionsPerCall, 2),
              silenceShare: round(r.silenceShare, 4),
            })),
          },
        };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/reports/trends",
      summary: "Calls, minutes and average score per Astana day of the period (days without calls too).",
      tag: "reports",
      access: ["owner", "manager"],
      query: periodQuery.extend({ operator: z.string().trim().min(1).max(200).optional() }),
      responses: {
        200: {
          description: "One row per day, oldest first",
          schema: z.object({ from: z.string(), to: z.string(), items: z.array(dayTrendDto) }),
        },
        400: { description: "Bad period (empty or longer than a year)" },
      },
      handler: async ({ query, auth }) => {
        const period = resolvePeriod(query, deps.clock());
        const rows = await findDailyTrends(db, auth.account.id, period, query.operator);
        return {
          status: 200,
          body: {
            from: toAstanaIso(period.from),
            to: toAstanaIso(period.to),
            items: rows.map((r) => ({
              ...r,
              minutes: round(r.minutes, 2) ?? 0,
              averageScore: round(r.averageScore, 4),
            })),
          },
        };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/reports/calls",
      summary:
        "Calls, newest first, filtered as GET /api/v1/calls plus direction, transcript search (q) and answer values.",
      tag: "reports",
      access: ["owner", "manager"],
      query: callFilterQuery.extend(pageQuery.shape),
      responses: { 200: { description: "A page", schema: pageOf(callSummaryDto) } },
      handler: async ({ query, auth }) => {
        const { rows, nextCursor } = await fetchPage(
          query,
          ({ limit, after }) =>
            findCallsReport(db, auth.account.id, {
              ...toCallFilter(query),
              limit,
              cursor: after ? { createdAt: after.at, id: after.id } : undefined,
            }),
          (call) => ({ at: call.createdAt, id: call.id }),
        );
        return { status: 200, body: { items: rows.map(toCallSummary), nextCursor } };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/calls/export.csv",
      summary:
        "The filtered calls list as CSV (UTF-8 with BOM), one row per call, answers as `<template>.<key>` columns.",
      tag: "reports",
      access: ["owner", "manager"],
      query: callFilterQuery.extend({
        /** Spreadsheets in Russian locales expect `;`. */
        delimiter: z.enum(["comma", "semicolon"]).default("comma"),
      }),
      responses: { 200: { description: "text/csv, streamed" } },
      handler: async ({ query, auth, res, log, req }) => {
        // Recorded before the first byte: a download cut short has still exported what it got.
        await recordAudit(db, {
          accountId: auth.account.id,
          actor: { userId: auth.user.id, role: auth.user.role, ip: clientAddress(req) },
          action: "calls.export_csv",
          objectType: "calls",
          details: {
            filters: Object.keys(query).filter((k) => query[k as keyof typeof query] !== undefined),
          },
        });
        const rows = await writeCallsCsv(res, db, auth.account.id, toCallFilter(query), {
          delimiter: query.delimiter === "semicolon" ? ";" : ",",
          fileName: `tyndau-calls-${astanaDate(deps.clock())}.csv`,
        });
        if (rows !== undefined) log.info({ action: "calls.export", rows }, "calls exported as CSV");
        return undefined;
      },
    }),
  ];
}
