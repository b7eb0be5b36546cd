/**
 * A call and what the pipeline learns about it (PRODUCT.md "The pipeline, per call"): the shapes the
 * pipeline, providers and reports share, stored in `calls` and `call_analyses`.
 */
import type { QuestionType } from "./templates.ts";

export const callStatuses = ["received", "awaiting_funds", "processing", "done", "failed"] as const;
export type CallStatus = (typeof callStatuses)[number];

export const callDirections = ["inbound", "outbound"] as const;
export type CallDirection = (typeof callDirections)[number];

/** Which stereo channel carries the operator (the client is on the other). */
export const operatorChannels = ["left", "right"] as const;
export type OperatorChannel = (typeof operatorChannels)[number];

export type Speaker = "operator" | "client" | "unknown";

export interface CallMetrics {
  operatorTalkSec: number;
  clientTalkSec: number;
  talkRatio: number;
  silenceSec: number;
  overlapSec: number;
  interruptions: { operator: number; client: number };
  longestMonologueSec: number;
  switchesPerMinute: number;
}

export interface TranscriptSegment {
  speaker: Speaker;
  startSec: number;
  endSec: number;
  text: string;
}

export interface CallTranscript {
  language: string;
  provider: string;
  segments: TranscriptSegment[];
}

/** One template version a call's price included. */
export interface PricedTemplate {
  templateId: string;
  version: number;
}

export const callAnalysisStatuses = ["done", "failed"] as const;
export type CallAnalysisStatus = (typeof callAnalysisStatuses)[number];

export interface AnswerEvidence {
  speaker: Speaker;
  startSec: number;
  text: string;
}

export interface AnalysisAnswer {
  key: string;
  question: string;
  type: QuestionType;
  value: boolean | number | string | null;
  evidence: AnswerEvidence[];
}
