import { z } from "zod";
import { callCostOf } from "../../../../shared/db/repositories/call-costs.repository.ts";
import type { AnalysisRow, CallRow } from "../../../../shared/db/repositories/calls.repository.ts";
import { apiAmount } from "../../../../shared/money/money.ts";

const speaker = z.enum(["operator", "client", "unknown"]);

export const callSummaryDto = z.object({
  id: z.uuid(),
  status: z.enum(["received", "awaiting_funds", "processing", "done", "failed"]),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  externalId: z.string().nullable(),
  sourceId: z.uuid().nullable(),
  startedAt: z.string().nullable(),
  createdAt: z.string(),
  direction: z.enum(["inbound", "outbound"]).nullable(),
  operator: z.object({ externalId: z.string().nullable(), name: z.string().nullable() }),
  client: z.object({ phone: z.string().nullable() }),
  durationSec: z.number().nullable(),
  channels: z.number().int().nullable(),
  mono: z.boolean().nullable(),
});

export const callDetailDto = callSummaryDto.extend({
  metrics: z
    .object({
      operatorTalkSec: z.number(),
      clientTalkSec: z.number(),
      talkRatio: z.number(),
      silenceSec: z.number(),
      overlapSec: z.number(),
      interruptions: z.object({ operator: z.number(), client: z.number() }),
      longestMonologueSec: z.number(),
      switchesPerMinute: z.number(),
    })
    .nullable(),
  transcript: z
    .object({
      language: z.string(),
      provider: z.string(),
      segments: z.array(z.object({ speaker, startSec: z.number(), endSec: z.number(), text: z.string() })),
    })
    .nullable(),
  analysis: z.array(
    z.object({
      templateId: z.uuid().nullable(),
      templateName: z.string(),
      templateVersion: z.number().int(),
      provider: z.string(),
      status: z.enum(["done", "failed"]),
      error: z.object({ code: z.string(), message: z.string() }).nullable(),
      answers: z.array(
        z.object({
          key: z.string(),
          question: z.string(),
          type: z.enum(["boolean", "score", "choice", "text"]),
          value: z.union([z.boolean(), z.number(), z.string(), z.null()]),
          evidence: z.array(z.object({ speaker, startSec: z.number(), text: z.string() })),
        }),
      ),
    }),
  ),
  cost: z
    .object({
      minutes: z.number().int(),
      pricePerMinute: z.string(),
      amount: z.string(),
      currency: z.string(),
      status: z.enum(["reserved", "charged", "released"]),
    })
    .nullable(),
  stepTimings: z.record(z.string(), z.number()),
});

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toCallSummary(c: CallRow): z.infer<typeof callSummaryDto> {
  return {
    id: c.id,
    status: c.status,
    error: c.errorCode ? { code: c.errorCode, message: c.errorMessage ?? "" } : null,
    externalId: c.externalId,
    sourceId: c.sourceId,
    startedAt: iso(c.startedAt),
    createdAt: c.createdAt.toISOString(),
    direction: c.direction,
    operator: { externalId: c.operatorExternalId, name: c.operatorName },
    client: { phone: c.clientPhone },
    durationSec: c.durationSec === null ? null : Math.round(c.durationSec * 100) / 100,
    channels: c.channels,
    mono: c.mono,
  };
}

export function toCallDetail(c: CallRow, analyses: AnalysisRow[]): z.infer<typeof callDetailDto> {
  const money = callCostOf(c);
  const cost =
    c.costStatus && money?.pricePerMinute && c.costMinutes !== null
      ? {
          minutes: c.costMinutes,
          pricePerMinute: apiAmount(money.pricePerMinute),
          amount: apiAmount(money.amount),
          currency: money.amount.currency,
          status: c.costStatus,
        }
      : null;
  return {
    ...toCallSummary(c),
    metrics: c.metrics,
    transcript: c.transcript,
    analysis: analyses.map((a) => ({
      templateId: a.templateId,
      templateName: a.templateName,
      templateVersion: a.templateVersion,
      provider: a.provider,
      status: a.status,
      error: a.errorCode ? { code: a.errorCode, message: a.errorMessage ?? "" } : null,
      answers: a.answers,
    })),
    cost,
    stepTimings: c.stepTimings,
  };
}
