import type { AnalysisAnswer } from "../../domain/calls.ts";
import type { AnalysisInput, AnalysisResult, CallAnalyzer, DialogueLine } from "./call-analyzer.ts";

/**
 * The offline "dictionary" analyzer: a boolean question is true when any of its phrases occurs in the
 * chosen speaker's words (case-insensitive, on word boundaries), quoting the matching lines as evidence.
 * Other question types need a language model; this provider leaves them unanswered (null).
 */
export function createRulesAnalyzer(): CallAnalyzer {
  return {
    name: "rules",
    async analyze(input: AnalysisInput): Promise<AnalysisResult> {
      const lines = input.dialogue.map((line) => ({ line, normalized: ` ${normalize(line.text)} ` }));
      const answers: AnalysisAnswer[] = input.template.questions.map((question) => {
        const base = { key: question.key, question: question.text, type: question.type };
        if (question.type !== "boolean" || !question.keywords || question.keywords.any.length === 0) {
          return { ...base, value: null, evidence: [] };
        }
        const speaker = question.keywords.speaker ?? "any";
        const phrases = question.keywords.any.map(normalize).filter((p) => p.length > 0);
        const matches: DialogueLine[] = lines
          .filter(({ line }) => speaker === "any" || line.speaker === speaker)
          .filter(({ normalized }) => phrases.some((p) => normalized.includes(` ${p} `)))
          .map(({ line }) => line);
        return {
          ...base,
          value: matches.length > 0,
          evidence: matches
            .slice(0, 3)
            .map((m) => ({ speaker: m.speaker, startSec: m.startSec, text: m.text })),
        };
      });
      return { answers, usage: { inputTokens: 0, outputTokens: 0 } };
    },
  };
}

/** Lower-case letters and digits of any script, single-spaced. */
export function normalize(text: string): string {
  return text
    .toLocaleLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}
