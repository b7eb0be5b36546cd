/**
 * Analysis through YandexGPT, the Yandex Cloud Foundation Models text generation API (REST,
 * synchronous): `POST {baseUrl}/foundationModels/v1/completion` (default base
 * https://llm.api.cloud.yandex.net) with `Authorization: Api-Key <key>` (a service account's API key) or
 * `Authorization: Bearer <IAM token>`, and `x-folder-id: <folder>`. Body:
 *   { modelUri: "gpt://<folder>/yandexgpt-lite/latest",
 *     completionOptions: { stream: false, temperature, maxTokens: "<int64 as string>" },
 *     messages: [{ role: "system", text }, { role: "user", text }, …],
 *     jsonSchema: { schema } | jsonObject: true }            (one of the two, or neither)
 * Reply: `result.alternatives[0].message.text` with `status` (ALTERNATIVE_STATUS_FINAL,
 * …_TRUNCATED_FINAL when the token limit cut it, …_CONTENT_FILTER when the filter stopped it) and
 * `result.usage.inputTextTokens / completionTokens` (int64 as strings). Errors:
 * `{ error: { grpcCode, httpCode, message, httpStatus } }`.
 *
 * Structured output: the current API reference lists `jsonObject` (boolean) and `jsonSchema`
 * (`{ schema }`) as mutually exclusive request fields ("response format"), supported by the YandexGPT 5
 * generation of models. `responseFormat` picks the mode: "json_schema" (default) sends the template's
 * schema there; "json_object" asks for JSON and spells the schema out in the prompt; "none" sends
 * neither field (older models or a proxy that rejects unknown fields) and relies on the prompt alone.
 * The engine's validation and one repair attempt apply in every mode.
 *
 * Privacy: Yandex may log requests to improve its models unless `x-data-logging-enabled: false` is sent;
 * call transcripts are personal data, so that header is sent unless `dataLogging` is turned on.
 *
 * Transport: Node's fetch; Yandex's certificates chain to public roots, so no CA option is needed.
 */
import { z } from "zod";
import { AppError } from "../../errors/app-error.ts";
import type { CallAnalyzer } from "./call-analyzer.ts";
import {
  createLlmAnalyzer,
  httpFailure,
  isTlsVerificationError,
  type LlmCompletion,
  type LlmCompletionRequest,
  requestDeadline,
  retryAfterSeconds,
  toChatMessages,
  transportFailure,
} from "./llm-analyzer.ts";

export type YandexResponseFormat = "json_schema" | "json_object" | "none";

export interface YandexGptAnalyzerOptions {
  /** A service account's API key (`Authorization: Api-Key …`). One of apiKey / iamToken is needed. */
  apiKey?: string;
  /** An IAM token (`Authorization: Bearer …`), or a function returning a fresh one (they live 12 h). */
  iamToken?: string | (() => string | Promise<string>);
  /** The Yandex Cloud folder billed for the requests. */
  folderId: string;
  /** Default `gpt://<folderId>/yandexgpt-lite/latest`. */
  modelUri?: string;
  /** Default "https://llm.api.cloud.yandex.net". */
  baseUrl?: string;
  /** Default "json_schema"; see the file comment. */
  responseFormat?: YandexResponseFormat;
  /** 0..1; default 0, for answers that do not drift between runs. */
  temperature?: number;
  /** Cap on the reply's tokens. Default 2000. */
  maxOutputTokens?: number;
  /** Per request, milliseconds. Default 120 s. */
  timeoutMs?: number;
  /** Let Yandex log requests (off by default: transcripts are personal data). */
  dataLogging?: boolean;
}

export const YANDEX_LLM_URL = "https://llm.api.cloud.yandex.net";
const PROVIDER = "yandexgpt";
const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_OUTPUT_TOKENS = 2000;

// int64 fields arrive as strings in Yandex's JSON mapping; numbers are accepted too.
const int64 = z.union([z.string().regex(/^\d+$/), z.number()]).transform(Number);

const completionSchema = z.object({
  result: z.object({
    alternatives: z
      .array(z.object({ message: z.object({ text: z.string().nullish() }), status: z.string().nullish() }))
      .min(1),
    usage: z.object({ inputTextTokens: int64.nullish(), completionTokens: int64.nullish() }).nullish(),
  }),
});

export function createYandexGptAnalyzer(options: YandexGptAnalyzerOptions): CallAnalyzer {
  if (options.apiKey === undefined && options.iamToken === undefined) {
    throw new Error("createYandexGptAnalyzer needs apiKey or iamToken");
  }
  const url = `${(options.baseUrl ?? YANDEX_LLM_URL).replace(/\/+$/, "")}/foundationModels/v1/completion`;
  const modelUri = options.modelUri ?? `gpt://${options.folderId}/yandexgpt-lite/latest`;
  const mode = options.responseFormat ?? "json_schema";
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  async function authorization(): Promise<string> {
    if (options.apiKey !== undefined) return `Api-Key ${options.apiKey}`;
    const iam = options.iamToken!;
    return `Bearer ${typeof iam === "function" ? await iam() : iam}`;
  }

  async function complete(request: LlmCompletionRequest): Promise<LlmCompletion> {
    const body = {
      modelUri,
      completionOptions: {
        stream: false,
        temperature: options.temperature ?? 0,
        maxTokens: String(options.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS),
      },
      messages: toChatMessages(request).map((m) => ({ role: m.role, text: m.content })),
      ...(mode === "json_schema" ? { jsonSchema: { schema: request.jsonSchema } } : {}),
      ...(mode === "json_object" ? { jsonObject: true } : {}),
    };
    const headers: Record<string, string> = {
      Authorization: await authorization(),
      "x-folder-id": options.folderId,
      "Content-Type": "application/json",
      Accept: "application/json",
    };
    if (!options.dataLogging) headers["x-data-logging-enabled"] = "false";

    const deadline = requestDeadline(timeoutMs, request.signal);
    let status: number;
    let text: string;
    let responseHeaders: Headers;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: deadline.signal,
      });
      status = response.status;
      responseHeaders = response.headers;
      text = await response.text();
    } catch (err) {
      const context = { modelUri };
      if (deadline.timedOut()) throw transportFailure(PROVIDER, "timeout", err, context);
      if (request.signal?.aborted) throw transportFailure(PROVIDER, "cancelled", err, context);
      if (isTlsVerificationError(err)) throw transportFailure(PROVIDER, "tls", err, context);
      throw transportFailure(PROVIDER, "network", err, context);
    }

    if (status !== 200) {
      const retryAfterSec = retryAfterSeconds((name) => responseHeaders.get(name));
      throw httpFailure(PROVIDER, status, errorMessageOf(text) ?? "completion failed", {
        modelUri,
        retryAfterSec,
      });
    }
    const parsed = completionSchema.safeParse(parseJson(text));
    if (!parsed.success) {
      throw transportFailure(PROVIDER, "protocol", new Error("no result.alternatives[0].message"), {
        modelUri,
      });
    }
    const alternative = parsed.data.result.alternatives[0]!;
    if (alternative.status === "ALTERNATIVE_STATUS_CONTENT_FILTER") {
      // Yandex's content filter stopped the reply; the same dialogue will be stopped again.
      throw new AppError(
        "ANALYSIS_FAILED",
        "YandexGPT's content filter declined to answer about this call.",
        {
          retryable: false,
          context: { provider: PROVIDER, modelUri },
        },
      );
    }
    const usage = parsed.data.result.usage;
    return {
      // A reply cut by the token limit (…_TRUNCATED_FINAL) is invalid JSON: the engine repairs it.
      content: alternative.message.text ?? "",
      usage: { inputTokens: usage?.inputTextTokens ?? 0, outputTokens: usage?.completionTokens ?? 0 },
    };
  }

  return createLlmAnalyzer({ name: PROVIDER, complete, schemaInPrompt: mode !== "json_schema" });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `{ error: { grpcCode, httpCode, message, httpStatus } }`; some gateways answer `{ message }`. */
function errorMessageOf(body: string): string | undefined {
  const parsed = parseJson(body) as { error?: { message?: unknown }; message?: unknown } | undefined;
  const message = parsed?.error?.message ?? parsed?.message;
  return typeof message === "string" && message !== "" ? message : undefined;
}
