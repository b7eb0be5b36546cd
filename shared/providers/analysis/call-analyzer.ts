import type { AnalysisAnswer, Speaker } from "../../domain/calls.ts";
import type { TemplateQuestion } from "../../domain/templates.ts";

export interface DialogueLine {
  speaker: Speaker;
  startSec: number;
  endSec: number;
  text: string;
}

export interface AnalysisInput {
  template: { id: string; version: number; name: string; questions: TemplateQuestion[] };
  dialogue: DialogueLine[];
  language: string;
  signal?: AbortSignal;
}

export interface AnalysisResult {
  answers: AnalysisAnswer[];
  /** Provider usage for our own cost accounting (tokens; 0 for offline providers). */
  usage: { inputTokens: number; outputTokens: number };
}

/** Answers a template's questions about one call. Errors are AppError ANALYSIS_FAILED (retryable when transient). */
export interface CallAnalyzer {
  readonly name: string;
  analyze(input: AnalysisInput): Promise<AnalysisResult>;
}
