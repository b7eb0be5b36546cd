import type { Response } from "express";
import type { Db } from "../../../../shared/db/client.ts";
import { callCostOf } from "../../../../shared/db/repositories/call-costs.repository.ts";
import type { CallRow } from "../../../../shared/db/repositories/calls.repository.ts";
import {
  type AnswerValue,
  type CallReportFilter,
  findAnswerColumns,
  findAnswersOfCalls,
  findCallsReport,
} from "../../../../shared/db/repositories/reports.repository.ts";
import { apiAmount } from "../../../../shared/money/money.ts";
import { toAstanaIso } from "../../../../shared/time/astana-time.ts";

/** Rows per database round trip while streaming CSV. */
const EXPORT_PAGE = 500;

/** Rounds measurements for the export (ratios to 4 places, seconds to 2). */
const round = (v: number | null, places: number) =>
  v === null ? null : Math.round(v * 10 ** places) / 10 ** places;

/**
 * One CSV cell (RFC 4180): quoted when it holds the delimiter, a quote or a line break, quotes doubled.
 * Text that a spreadsheet would run as a formula (= + - @, tab, CR first) is prefixed with `'`.
 */
export function csvCell(value: unknown, delimiter = ","): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  if (typeof value === "boolean") return value ? "true" : "false";
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return text.includes(delimiter) || /["\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvRow = (cells: readonly unknown[], delimiter = ",") =>
  `${cells.map((c) => csvCell(c, delimiter)).join(delimiter)}\r\n`;

/** The fixed columns of the calls export, before one column per answer (`<template>.<key>`). */
export const CSV_CALL_COLUMNS = [
  "call_id",
  "external_id",
  "status",
  "error_code",
  "started_at",
  "received_at",
  "direction",
  "operator_id",
  "operator_name",
  "client_phone",
  "duration_sec",
  "channels",
  "operator_talk_sec",
  "client_talk_sec",
  "talk_ratio",
  "silence_sec",
  "overlap_sec",
  "interruptions_operator",
  "interruptions_client",
  "cost_minutes",
  "cost_amount",
  "cost_currency",
  "cost_status",
] as const;

function callCells(c: CallRow): unknown[] {
  const m = c.metrics;
  const r2 = (v: number | null | undefined) => (v === null || v === undefined ? null : round(v, 2));
  return [
    c.id,
    c.externalId,
    c.status,
    c.errorCode,
    c.startedAt ? toAstanaIso(c.startedAt) : null,
    toAstanaIso(c.createdAt),
    c.direction,
    c.operatorExternalId,
    c.operatorName,
    c.clientPhone,
    r2(c.durationSec),
    c.channels,
    r2(m?.operatorTalkSec),
    r2(m?.clientTalkSec),
    m ? round(m.talkRatio, 4) : null,
    r2(m?.silenceSec),
    r2(m?.overlapSec),
    m?.interruptions.operator,
    m?.interruptions.client,
    c.costMinutes,
    apiAmount(callCostOf(c)?.amount ?? null),
    c.costCurrency,
    c.costStatus,
  ];
}

/** Writes and waits when the socket's buffer is full; false once the client has gone. */
async function write(res: Response, chunk: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(chunk)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
  return !res.destroyed;
}

/**
 * Streams the filtered calls as CSV (UTF-8 with BOM, one column per answer as `<template>.<key>`), page by
 * page with back-pressure. Returns the rows written, or undefined when the client went away mid-way.
 */
export async function writeCallsCsv(
  res: Response,
  db: Db,
  accountId: string,
  filter: CallReportFilter,
  options: { delimiter: string; fileName: string },
): Promise<number | undefined> {
  const { delimiter } = options;
  const answerColumns = await findAnswerColumns(db, accountId, filter);
  const names = answerColumns.map((c) => `${c.templateName}.${c.key}`);
  res.status(200);
  res.setHeader("Content-Type", "text/csv; charset=utf-8");
  res.setHeader("Content-Disposition", `attachment; filename="${options.fileName}"`);
  res.setHeader("Cache-Control", "no-store");
  // The BOM tells Excel the file is UTF-8 (Cyrillic names and answers).
  if (!(await write(res, `\uFEFF${csvRow([...CSV_CALL_COLUMNS, ...names], delimiter)}`))) return undefined;
  let cursor: { createdAt: Date; id: string } | undefined;
  let rowsWritten = 0;
  for (;;) {
    const page = await findCallsReport(db, accountId, { ...filter, limit: EXPORT_PAGE, cursor });
    const answers = await findAnswersOfCalls(
      db,
      accountId,
      page.map((c) => c.id),
    );
    let chunk = "";
    for (const call of page) {
      const own = answers.get(call.id);
      const values: AnswerValue[] = names.map((n) => own?.get(n) ?? null);
      chunk += csvRow([...callCells(call), ...values], delimiter);
    }
    if (chunk && !(await write(res, chunk))) return undefined;
    rowsWritten += page.length;
    const last = page[page.length - 1];
    if (page.length < EXPORT_PAGE || !last) break;
    cursor = { createdAt: last.createdAt, id: last.id };
  }
  res.end();
  return rowsWritten;
}
