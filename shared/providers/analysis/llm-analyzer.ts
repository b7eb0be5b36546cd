/**
 * The engine every language-model analyzer shares: builds the prompt and schema from the template, asks
 * the provider's `complete`, parses and validates the reply, makes exactly one repair attempt when the
 * reply is unusable, and maps the result onto our answers. Adapters only speak their provider's
 * protocol and turn its failures into AppError ANALYSIS_FAILED (see the helpers at the end).
 */
import { AppError, isAppError } from "../../errors/app-error.ts";
import {
  ANSWER_SCHEMA_NAME,
  buildAnalysisPrompt,
  buildAnswerJsonSchema,
  buildAnswerValidator,
  buildRepairInstruction,
  describeIssues,
  type JsonSchema,
  type ModelAnswers,
  toAnswers,
} from "./answer-schema.ts";
import type { AnalysisInput, AnalysisResult, CallAnalyzer } from "./call-analyzer.ts";

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface LlmCompletionRequest {
  system: string;
  user: string;
  /**
   * Only on the repair attempt: the rejected reply (to be sent back as the assistant's turn) and the
   * user's follow-up listing what was wrong with it.
   */
  repair?: { rejectedReply: string; instruction: string };
  /** The reply's JSON Schema, for providers that can enforce one. */
  jsonSchema: JsonSchema;
  schemaName: string;
  signal?: AbortSignal;
}

export interface LlmCompletion {
  /** The model's reply text, expected to be the JSON object. */
  content: string;
  usage: TokenUsage;
}

export type LlmComplete = (request: LlmCompletionRequest) => Promise<LlmCompletion>;

export interface LlmAnalyzerOptions {
  /** The provider's name as templates and analyses record it ("openai", "gigachat", …). */
  name: string;
  complete: LlmComplete;
  /** For providers that cannot enforce `jsonSchema`: the schema is then written into the system prompt. */
  schemaInPrompt?: boolean;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A rejected reply longer than this is cut when sent back: the model needs its gist, not all of it. */
const MAX_ECHOED_REPLY_CHARS = 8000;
/** The repair prompt lists at most this many problems; the rest are the same kind. */
const MAX_PROBLEMS = 20;

export function createLlmAnalyzer(options: LlmAnalyzerOptions): CallAnalyzer {
  const { name, complete } = options;
  return {
    name,
    async analyze(input: AnalysisInput): Promise<AnalysisResult> {
      const { questions } = input.template;
      const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
      // Nothing to ask, or nothing was said: every answer is unknown, and no model is paid to say so.
      if (questions.length === 0 || input.dialogue.length === 0) {
        return { answers: toAnswers(questions, { answers: {} }, input.dialogue), usage };
      }

      const jsonSchema = buildAnswerJsonSchema(questions);
      const validator = buildAnswerValidator(questions);
      const prompt = buildAnalysisPrompt({
        templateName: input.template.name,
        questions,
        dialogue: input.dialogue,
        language: input.language,
        ...(options.schemaInPrompt ? { schemaInPrompt: jsonSchema } : {}),
      });
      const base = {
        ...prompt,
        jsonSchema,
        schemaName: ANSWER_SCHEMA_NAME,
        ...(input.signal === undefined ? {} : { signal: input.signal }),
      };

      const first = await complete(base);
      addUsage(usage, first.usage);
      const firstOutcome = interpret(
        first.content,
        validator,
        questions.map((q) => q.key),
      );
      if (firstOutcome.ok)
        return { answers: toAnswers(questions, firstOutcome.value, input.dialogue), usage };

      let second: LlmCompletion;
      try {
        second = await complete({
          ...base,
          repair: {
            rejectedReply: clip(first.content),
            instruction: buildRepairInstruction(input.language, firstOutcome.problems),
          },
        });
      } catch (err) {
        // The first attempt was paid for: let whoever records provider cost see it.
        if (isAppError(err)) err.context.usage = { ...usage };
        throw err;
      }
      addUsage(usage, second.usage);
      const secondOutcome = interpret(
        second.content,
        validator,
        questions.map((q) => q.key),
      );
      if (secondOutcome.ok)
        return { answers: toAnswers(questions, secondOutcome.value, input.dialogue), usage };

      throw new AppError(
        "ANALYSIS_FAILED",
        `The ${name} model's answers did not match the template's questions, also after a repair attempt: ${secondOutcome.problems.slice(0, 3).join("; ")}`,
        {
          retryable: false,
          context: {
            provider: name,
            problems: secondOutcome.problems,
            firstProblems: firstOutcome.problems,
            usage,
          },
        },
      );
    },
  };
}

type Outcome = { ok: true; value: ModelAnswers } | { ok: false; problems: string[] };

function interpret(
  content: string,
  validator: ReturnType<typeof buildAnswerValidator>,
  keys: string[],
): Outcome {
  const parsed = parseModelJson(content);
  if (!parsed.ok) return { ok: false, problems: [parsed.problem] };
  const result = validator.safeParse(unwrapBareAnswers(parsed.value, keys));
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: describeIssues(result.error).slice(0, MAX_PROBLEMS) };
}

/**
 * The JSON object in a model's reply. Models without a JSON mode wrap it in Markdown fences or a
 * sentence; the object is taken from the first `{` to the last `}` of the fenced block or the text.
 */
export function parseModelJson(
  content: string,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  let text = content.trim();
  const fenced = /```(?:json|JSON)?\s*\n?([\s\S]*?)(?:```|$)/.exec(text);
  if (fenced?.[1] !== undefined) text = fenced[1].trim();
  if (text === "") return { ok: false, problem: "The reply is empty; a JSON object was expected." };
  if (!text.startsWith("{")) {
    const start = text.indexOf("{");
    const end = text.lastIndexOf("}");
    if (start >= 0 && end > start) text = text.slice(start, end + 1);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return { ok: false, problem: "The reply is JSON but not an object; a JSON object was expected." };
    }
    return { ok: true, value };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { ok: false, problem: `The reply is not valid JSON (${reason}); it may have been cut off.` };
  }
}

/** `{ "greeting": {...}, … }` without the `answers` wrapper is the same reply; accept it as such. */
function unwrapBareAnswers(value: unknown, keys: string[]): unknown {
  if (typeof value !== "object" || value === null || "answers" in value) return value;
  return keys.length > 0 && keys.every((k) => k in value) ? { answers: value } : value;
}

function addUsage(total: TokenUsage, more: TokenUsage): void {
  total.inputTokens += more.inputTokens;
  total.outputTokens += more.outputTokens;
}

function clip(text: string): string {
  return text.length <= MAX_ECHOED_REPLY_CHARS ? text : `${text.slice(0, MAX_ECHOED_REPLY_CHARS)}…`;
}

/** The request as a chat: system, user, and on the repair attempt the rejected reply and the follow-up. */
export function toChatMessages(request: LlmCompletionRequest): ChatMessage[] {
  const messages: ChatMessage[] = [
    { role: "system", content: request.system },
    { role: "user", content: request.user },
  ];
  if (request.repair) {
    messages.push(
      { role: "assistant", content: request.repair.rejectedReply },
      { role: "user", content: request.repair.instruction },
    );
  }
  return messages;
}

// ---------------------------------------------------------------------------------------------------
// Error mapping shared by the adapters
// ---------------------------------------------------------------------------------------------------

/**
 * Seconds to wait from `Retry-After` (delta-seconds or an HTTP date) or OpenAI's `retry-after-ms`;
 * undefined when absent or unreadable.
 */
export function retryAfterSeconds(
  header: (name: string) => string | null | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  const ms = header("retry-after-ms");
  if (ms !== null && ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms) / 1000;
  const value = header("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/** 408, 409 (a conflict of the provider's own), 429 and 5xx pass; the rest will fail the same way again. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

export function httpFailure(
  provider: string,
  status: number,
  detail: string,
  context: Record<string, unknown> & { retryAfterSec?: number | undefined },
  cause?: unknown,
): AppError {
  const { retryAfterSec, ...rest } = context;
  return new AppError("ANALYSIS_FAILED", `${provider} answered ${status}: ${detail}`, {
    retryable: isRetryableStatus(status),
    ...(cause === undefined ? {} : { cause }),
    context: {
      provider,
      status,
      ...rest,
      ...(retryAfterSec === undefined ? {} : { retryAfterSec }),
    },
  });
}

export type TransportFailure = "timeout" | "cancelled" | "network" | "tls" | "protocol";

/**
 * A request that got no usable answer. Timeouts, cancellations and network errors are transient; a
 * certificate the CA bundle does not vouch for, or a reply that is not the provider's protocol, is
 * configuration and will not heal by itself.
 */
export function transportFailure(
  provider: string,
  kind: TransportFailure,
  cause: unknown,
  context: Record<string, unknown> = {},
): AppError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const messages: Record<TransportFailure, string> = {
    timeout: `${provider} did not answer in time.`,
    cancelled: `The ${provider} request was cancelled.`,
    network: `${provider} is unreachable: ${reason}`,
    tls: `${provider}'s TLS certificate is not trusted (${reason}); configure its CA bundle.`,
    protocol: `${provider} returned an unexpected response: ${reason}`,
  };
  return new AppError("ANALYSIS_FAILED", messages[kind], {
    retryable: kind === "timeout" || kind === "cancelled" || kind === "network",
    cause,
    context: { provider, failure: kind, ...context },
  });
}

const TLS_ERROR_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** Whether a socket-level error (or its cause) is a failed certificate check. */
export function isTlsVerificationError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && TLS_ERROR_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * One deadline for a request: the caller's signal (cancellation) joined with a timeout, and which of
 * the two fired, so the failure can be told apart.
 */
export function requestDeadline(
  timeoutMs: number,
  signal: AbortSignal | undefined,
): { signal: AbortSignal; timedOut: () => boolean } {
  const timeout = AbortSignal.timeout(timeoutMs);
  return {
    signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    timedOut: () => timeout.aborted && !signal?.aborted,
  };
}
