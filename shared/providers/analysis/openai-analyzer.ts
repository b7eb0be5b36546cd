/**
 * Analysis through OpenAI chat completions with structured outputs, or any server speaking the same
 * protocol via baseUrl (vLLM, LocalAI, llama.cpp server, speaches, Ollama's /v1 …).
 *
 * Protocol: `POST {baseUrl}/chat/completions`, `Authorization: Bearer <key>`, body
 * `{ model, messages, temperature, max_completion_tokens, response_format }` where response_format is
 *  - `json_schema` (default): `{ type: "json_schema", json_schema: { name, strict: true, schema } }` —
 *    the server constrains decoding to the template's schema;
 *  - `json_object`: `{ type: "json_object" }` — valid JSON only; the schema goes into the prompt
 *    (for servers without json_schema support);
 *  - `none`: no response_format at all; the schema goes into the prompt.
 * Reply: `choices[0].message.content` (or `.refusal`), `usage.prompt_tokens / completion_tokens`.
 */
import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { z } from "zod";
import { AppError } from "../../errors/app-error.ts";
import type { CallAnalyzer } from "./call-analyzer.ts";
import {
  createLlmAnalyzer,
  httpFailure,
  type LlmCompletion,
  type LlmCompletionRequest,
  retryAfterSeconds,
  toChatMessages,
  transportFailure,
} from "./llm-analyzer.ts";

export type OpenAiResponseFormat = "json_schema" | "json_object" | "none";

export interface OpenAiAnalyzerOptions {
  /** Servers that need no key (a local vLLM) still get a placeholder: the SDK insists on one. */
  apiKey?: string;
  /** e.g. "https://api.openai.com/v1" (default) or "http://vllm.local:8000/v1". */
  baseUrl?: string;
  /** Default "gpt-4o-mini" (supports strict structured outputs). */
  model?: string;
  /** Default "json_schema"; see the file comment. */
  responseFormat?: OpenAiResponseFormat;
  /** Per request, milliseconds. Default 120 s. */
  timeoutMs?: number;
  /** Default 0, for answers that do not drift between runs; null sends none (models that reject it). */
  temperature?: number | null;
  /** Cap on the reply's tokens. Default 4000. */
  maxOutputTokens?: number;
  /** The provider name analyses record. Default "openai"; e.g. "openai-compatible" for a local server. */
  name?: string;
}

const OPENAI_BASE_URL = "https://api.openai.com/v1";
const DEFAULT_MODEL = "gpt-4o-mini";
const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_OUTPUT_TOKENS = 4000;

// Only what we use is checked: compatible servers add or omit the rest freely.
const completionSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullish(), refusal: z.string().nullish() }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: z.object({ prompt_tokens: z.number().nullish(), completion_tokens: z.number().nullish() }).nullish(),
});

export function createOpenAiAnalyzer(options: OpenAiAnalyzerOptions = {}): CallAnalyzer {
  const name = options.name ?? "openai";
  const model = options.model ?? DEFAULT_MODEL;
  const mode = options.responseFormat ?? "json_schema";
  const temperature = options.temperature === undefined ? 0 : options.temperature;
  const client = new OpenAI({
    apiKey: options.apiKey ?? "not-needed",
    // Explicit, so the SDK never falls back to reading OPENAI_BASE_URL from the environment.
    baseURL: options.baseUrl ?? OPENAI_BASE_URL,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    // Retries (with backoff, Retry-After, circuit breaking) belong to the provider registry.
    maxRetries: 0,
  });

  async function complete(request: LlmCompletionRequest): Promise<LlmCompletion> {
    const body: ChatCompletionCreateParamsNonStreaming = {
      model,
      messages: toChatMessages(request),
      max_completion_tokens: options.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS,
      ...(temperature === null ? {} : { temperature }),
      ...(mode === "json_schema"
        ? {
            response_format: {
              type: "json_schema",
              json_schema: { name: request.schemaName, strict: true, schema: request.jsonSchema },
            },
          }
        : mode === "json_object"
          ? { response_format: { type: "json_object" } }
          : {}),
    };
    let raw: unknown;
    try {
      raw = await client.chat.completions.create(
        body,
        request.signal === undefined ? {} : { signal: request.signal },
      );
    } catch (err) {
      throw toAppError(err, name, model);
    }

    const parsed = completionSchema.safeParse(raw);
    if (!parsed.success) {
      throw transportFailure(name, "protocol", new Error("no choices[0].message in the completion"), {
        model,
        issues: parsed.error.issues.slice(0, 5),
      });
    }
    const choice = parsed.data.choices[0]!;
    if (choice.message.refusal) {
      throw new AppError(
        "ANALYSIS_FAILED",
        `The ${name} model refused to answer: ${choice.message.refusal}`,
        {
          retryable: false,
          context: { provider: name, model },
        },
      );
    }
    return {
      // A reply cut by the token limit (finish_reason "length") is invalid JSON: the engine repairs it.
      content: choice.message.content ?? "",
      usage: {
        inputTokens: parsed.data.usage?.prompt_tokens ?? 0,
        outputTokens: parsed.data.usage?.completion_tokens ?? 0,
      },
    };
  }

  return createLlmAnalyzer({ name, complete, schemaInPrompt: mode !== "json_schema" });
}

/**
 * Transient failures (network, timeouts, rate limits, server errors) are retryable by the registry;
 * a request the server rejects (bad key, unknown model, a schema it does not accept) will fail again.
 */
function toAppError(err: unknown, provider: string, model: string): AppError {
  const context = { model };
  if (err instanceof OpenAI.APIUserAbortError) return transportFailure(provider, "cancelled", err, context);
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return transportFailure(provider, "timeout", err, context);
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return transportFailure(provider, "network", err.cause ?? err, context);
  }
  if (err instanceof OpenAI.APIError && err.status !== undefined) {
    const retryAfterSec = retryAfterSeconds((h) => err.headers?.get(h));
    return httpFailure(provider, err.status, err.message, { ...context, retryAfterSec }, err);
  }
  // A 200 whose body is not JSON at all: not a server speaking this protocol.
  if (err instanceof SyntaxError) return transportFailure(provider, "protocol", err, context);
  const message = err instanceof Error ? err.message : String(err);
  return new AppError("ANALYSIS_FAILED", `${provider} analysis failed: ${message}`, {
    cause: err,
    context: { provider, ...context },
  });
}
