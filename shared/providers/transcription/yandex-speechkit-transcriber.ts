/**
 * Speech-to-text through Yandex SpeechKit's asynchronous recognition, API v3 (REST):
 *
 * 1. `POST {stt}/stt/v3/recognizeFileAsync` with the WAV inline as base64 `content` and
 *    `recognitionModel { model, audioFormat.containerAudio.containerAudioType: "WAV",
 *    textNormalization, languageRestriction { WHITELIST, [ru-RU | kk-KZ | en-US | several for auto] } }`
 *    → an Operation `{ id, done: false, … }`.
 * 2. `GET {operation}/operations/{id}` until `done`; a done operation carries `error` (google.rpc.Status)
 *    or `response`.
 * 3. `GET {stt}/stt/v3/getRecognition?operationId={id}` → a stream of JSON objects, one per line,
 *    each `{ "result": StreamingResponse }` (or `{ "error": Status }`): `final` messages carry the raw
 *    hypothesis with word times (`alternatives[0].words[].startTimeMs/endTimeMs`, int64 as strings),
 *    `finalRefinement.normalizedText` the normalised text of the final with the same `finalIndex`,
 *    and `eouUpdate` / `statusCode` messages nothing we need.
 * 4. `DELETE {stt}/stt/v3/deleteRecognition?operationId={id}`: the customer's words do not stay on the
 *    provider's side for the 3 days it would keep them (best effort).
 *
 * Auth: `Authorization: Api-Key <key>` of a service account with `ai.speechkit-stt.user`, and
 * `x-folder-id` when given. Request bodies are limited to 60 MB, so inline content is at most
 * maxContentBytes (default 40 MiB of WAV, 53 MiB as base64): longer recordings go through
 * createChunkedTranscriber, which cuts them at silences. Quotas (500 recognitions and 2,500 status
 * checks per hour) are why polling backs off instead of hammering.
 */
import { readFile, stat } from "node:fs/promises";
import { z } from "zod";
import { AppError } from "../../errors/app-error.ts";
import { abortableSleep, parseRetryAfterSec } from "../registry/resilience.ts";
import type {
  TranscribedSegment,
  TranscribedWord,
  TranscribeInput,
  Transcriber,
  TranscriptionResult,
} from "./transcriber.ts";

export interface YandexSpeechKitTranscriberOptions {
  apiKey: string;
  /** Sent as x-folder-id; needed when the key's service account works in another folder. */
  folderId?: string;
  /** Default https://stt.api.cloud.yandex.net */
  sttUrl?: string;
  /** Default https://operation.api.cloud.yandex.net */
  operationUrl?: string;
  /** "general" (default), "general:rc", … */
  model?: string;
  /** Request the normalised text (numbers as digits, punctuation); default true. */
  normalize?: boolean;
  /** BCP-47 codes whitelisted when no language is requested ("auto"); default ru-RU, kk-KZ, en-US. */
  autoLanguages?: string[];
  /** Largest WAV sent inline; default 40 MiB (the 60 MB body limit after base64's 4/3). */
  maxContentBytes?: number;
  /** First wait before polling the operation, then growing ×1.5 up to maxPollIntervalMs. */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  /** Give up on an operation that is not done after this long; default 10 min + 1 s per second of audio. */
  maxWaitMs?: number;
  /** Each HTTP request; default 60 s. */
  requestTimeoutMs?: number;
  /** Consecutive transient failures (429/5xx/network) of one poll or result fetch tolerated; default 3. */
  maxTransientErrors?: number;
  /** Delete the results from SpeechKit once read; default true. */
  deleteResults?: boolean;
  fetch?: typeof fetch;
}

export const SPEECHKIT_STT_URL = "https://stt.api.cloud.yandex.net";
export const SPEECHKIT_OPERATION_URL = "https://operation.api.cloud.yandex.net";
export const SPEECHKIT_MAX_CONTENT_BYTES = 40 * 1024 * 1024;
const DEFAULT_AUTO_LANGUAGES = ["ru-RU", "kk-KZ", "en-US"];
/** Our ISO 639-1 codes → SpeechKit's language codes. */
const LANGUAGE_CODES: Record<string, string> = { ru: "ru-RU", kk: "kk-KZ", en: "en-US" };

// Only what we use is checked; int64 fields arrive as strings (protobuf JSON), some as numbers.
const int64 = z.union([z.string().regex(/^-?\d+$/), z.number().int()]).transform(Number);
const operationSchema = z.object({
  id: z.string().min(1),
  done: z.boolean().optional(),
  error: z.object({ code: z.number().int().optional(), message: z.string().optional() }).nullish(),
});
const wordSchema = z.object({ text: z.string(), startTimeMs: int64, endTimeMs: int64 });
const alternativeSchema = z.object({
  words: z.array(wordSchema).optional(),
  text: z.string().optional(),
  startTimeMs: int64.optional(),
  endTimeMs: int64.optional(),
  languages: z
    .array(
      z.object({
        languageCode: z.string(),
        probability: z.union([z.string(), z.number()]).transform(Number),
      }),
    )
    .optional(),
});
const updateSchema = z.object({
  alternatives: z.array(alternativeSchema),
  channelTag: z.string().optional(),
});
const resultSchema = z.object({
  audioCursors: z.object({ finalIndex: int64.optional() }).partial().optional(),
  final: updateSchema.optional(),
  finalRefinement: z
    .object({ finalIndex: int64.optional(), normalizedText: updateSchema.optional() })
    .optional(),
  channelTag: z.string().optional(),
});
const streamItemSchema = z.union([
  z.object({ result: resultSchema }),
  z.object({ error: z.object({ code: z.number().int().optional(), message: z.string().optional() }) }),
]);

type Alternative = z.infer<typeof alternativeSchema>;

export function createYandexSpeechKitTranscriber(options: YandexSpeechKitTranscriberOptions): Transcriber {
  const sttUrl = (options.sttUrl ?? SPEECHKIT_STT_URL).replace(/\/+$/, "");
  const operationUrl = (options.operationUrl ?? SPEECHKIT_OPERATION_URL).replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;
  const requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
  const maxTransientErrors = options.maxTransientErrors ?? 3;
  const maxContentBytes = options.maxContentBytes ?? SPEECHKIT_MAX_CONTENT_BYTES;
  const headers: Record<string, string> = {
    authorization: `Api-Key ${options.apiKey}`,
    ...(options.folderId ? { "x-folder-id": options.folderId } : {}),
  };

  /** One HTTP request; any failure becomes an AppError (retryable when transient). */
  async function request(
    method: string,
    url: string,
    what: string,
    signal: AbortSignal | undefined,
    body?: unknown,
  ): Promise<string> {
    const timeout = AbortSignal.timeout(requestTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await doFetch(url, {
        method,
        headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: combined,
      });
    } catch (err) {
      const cancelled = signal?.aborted === true;
      throw failure(
        cancelled
          ? "Transcription was cancelled."
          : timeout.aborted
            ? `SpeechKit did not answer ${what} within ${requestTimeoutMs} ms.`
            : `SpeechKit unreachable (${what}): ${err instanceof Error ? err.message : String(err)}`,
        true,
        { step: what },
        err,
      );
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw failure(
        `SpeechKit's answer to ${what} was cut off.`,
        true,
        { step: what, status: response.status },
        err,
      );
    }
    if (!response.ok) {
      const status = response.status;
      const retryAfterSec = parseRetryAfterSec(response.headers.get("retry-after"));
      const detail = errorMessage(text);
      throw failure(
        `SpeechKit answered ${status} to ${what}${detail ? `: ${detail}` : ""}`,
        status === 408 || status === 409 || status === 429 || status >= 500,
        { step: what, status, ...(retryAfterSec === undefined ? {} : { retryAfterSec }) },
      );
    }
    return text;
  }

  /** Polls and fetches tolerate a few transient failures: redoing the recognition would cost twice. */
  async function patiently<T>(fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    for (let failures = 0; ; ) {
      try {
        return await fn();
      } catch (err) {
        failures++;
        if (!(err instanceof AppError) || !err.retryable || failures > maxTransientErrors || signal?.aborted)
          throw err;
        const hinted = err.context.retryAfterSec;
        const waitMs = typeof hinted === "number" ? Math.min(hinted * 1000, 30_000) : 250 * 2 ** failures;
        await abortableSleep(waitMs, signal);
      }
    }
  }

  return {
    name: "yandex",
    async transcribe(input: TranscribeInput): Promise<TranscriptionResult> {
      const size = (await stat(input.filePath)).size;
      if (size > maxContentBytes) {
        throw failure(
          `The file is ${size} bytes; SpeechKit takes at most ${maxContentBytes} inline. Wrap the transcriber in createChunkedTranscriber.`,
          false,
          { size, maxContentBytes },
        );
      }
      const languageCodes =
        input.language === undefined || input.language === "auto"
          ? (options.autoLanguages ?? DEFAULT_AUTO_LANGUAGES)
          : [LANGUAGE_CODES[input.language] ?? input.language];
      const body = {
        content: (await readFile(input.filePath)).toString("base64"),
        recognitionModel: {
          model: options.model ?? "general",
          audioFormat: { containerAudio: { containerAudioType: "WAV" } },
          textNormalization: {
            textNormalization:
              options.normalize === false ? "TEXT_NORMALIZATION_DISABLED" : "TEXT_NORMALIZATION_ENABLED",
            profanityFilter: false,
            literatureText: false,
          },
          languageRestriction: { restrictionType: "WHITELIST", languageCode: languageCodes },
        },
      };

      const submitted = parseOperation(
        await request(
          "POST",
          `${sttUrl}/stt/v3/recognizeFileAsync`,
          "recognizeFileAsync",
          input.signal,
          body,
        ),
      );
      const id = submitted.id;
      const maxWaitMs = options.maxWaitMs ?? 600_000 + Math.max(0, input.durationSec) * 1000;
      const deadline = Date.now() + maxWaitMs;
      let interval = options.pollIntervalMs ?? 2_000;
      let operation = submitted;
      while (!operation.done) {
        if (Date.now() + interval > deadline) {
          throw failure(`SpeechKit operation ${id} was not done within ${maxWaitMs} ms.`, true, {
            operationId: id,
            maxWaitMs,
          });
        }
        await abortableSleep(interval, input.signal);
        if (input.signal?.aborted) throw failure("Transcription was cancelled.", true, { operationId: id });
        interval = Math.min(interval * 1.5, options.maxPollIntervalMs ?? 10_000);
        operation = await patiently(
          async () =>
            parseOperation(
              await request(
                "GET",
                `${operationUrl}/operations/${encodeURIComponent(id)}`,
                "operation",
                input.signal,
              ),
            ),
          input.signal,
        );
      }
      if (operation.error) {
        const code = operation.error.code;
        throw failure(
          `SpeechKit could not recognise the file: ${operation.error.message ?? `code ${code}`}`,
          isTransientGrpc(code),
          {
            operationId: id,
            grpcCode: code,
          },
        );
      }

      const query = `operationId=${encodeURIComponent(id)}`;
      const stream = await patiently(async () => {
        const text = await request(
          "GET",
          `${sttUrl}/stt/v3/getRecognition?${query}`,
          "getRecognition",
          input.signal,
        );
        // A stream that stops mid-object was cut in transfer: fetching it again may work.
        const { objects, rest } = splitJsonStream(text);
        if (rest.trim() !== "") {
          throw failure("SpeechKit's recognition results were cut off.", true, { operationId: id });
        }
        return objects;
      }, input.signal);
      const result = toTranscription(stream, id, input);
      if (options.deleteResults !== false) {
        await request(
          "DELETE",
          `${sttUrl}/stt/v3/deleteRecognition?${query}`,
          "deleteRecognition",
          undefined,
        ).catch(() => undefined);
      }
      return result;
    },
  };
}

function parseOperation(text: string): z.infer<typeof operationSchema> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw failure("SpeechKit returned an operation that is not JSON.", false, {});
  }
  const parsed = operationSchema.safeParse(json);
  if (!parsed.success) {
    throw failure("SpeechKit returned an unexpected operation.", false, {
      issues: parsed.error.issues.slice(0, 5),
    });
  }
  return parsed.data;
}

/**
 * Turns the result stream into segments: one per final (utterance), its text the normalised text of
 * the refinement with the same finalIndex when there is one, its words and times the raw final's
 * (normalisation can merge words, "five five five" → "555", so only the raw words have exact times).
 */
function toTranscription(
  stream: readonly unknown[],
  operationId: string,
  input: TranscribeInput,
): TranscriptionResult {
  const finals = new Map<number, { alternative: Alternative; channel: string }>();
  const refined = new Map<number, Alternative>();
  let sequence = 0;
  for (const item of stream) {
    const parsed = streamItemSchema.safeParse(item);
    if (!parsed.success) {
      throw failure("SpeechKit returned unexpected recognition results.", false, {
        operationId,
        issues: parsed.error.issues.slice(0, 5),
      });
    }
    if ("error" in parsed.data) {
      const code = parsed.data.error.code;
      throw failure(
        `SpeechKit recognition failed: ${parsed.data.error.message ?? `code ${code}`}`,
        isTransientGrpc(code),
        {
          operationId,
          grpcCode: code,
        },
      );
    }
    const result = parsed.data.result;
    if (result.final) {
      const alternative = result.final.alternatives[0];
      const index = result.audioCursors?.finalIndex ?? sequence;
      sequence = index + 1;
      if (alternative)
        finals.set(index, { alternative, channel: result.final.channelTag ?? result.channelTag ?? "0" });
    } else if (result.finalRefinement?.normalizedText) {
      const alternative = result.finalRefinement.normalizedText.alternatives[0];
      const index = result.finalRefinement.finalIndex ?? result.audioCursors?.finalIndex;
      if (alternative && index !== undefined) refined.set(index, alternative);
    }
  }

  const segments: TranscribedSegment[] = [];
  const languageWeight = new Map<string, number>();
  for (const [index, { alternative }] of [...finals.entries()].sort((a, b) => a[0] - b[0])) {
    const words: TranscribedWord[] = (alternative.words ?? [])
      .filter((w) => w.text.trim() !== "")
      .map((w) => ({ word: w.text.trim(), startSec: w.startTimeMs / 1000, endSec: w.endTimeMs / 1000 }));
    const text = (refined.get(index)?.text ?? alternative.text ?? words.map((w) => w.word).join(" ")).trim();
    if (text === "") continue;
    const first = words[0];
    const last = words.at(-1);
    const startSec = first ? first.startSec : (alternative.startTimeMs ?? 0) / 1000;
    const endSec = last ? last.endSec : (alternative.endTimeMs ?? input.durationSec * 1000) / 1000;
    segments.push({ startSec, endSec, text, ...(words.length > 0 ? { words } : {}) });
    for (const l of alternative.languages ?? []) {
      const code = l.languageCode.split(/[-_]/)[0]?.toLowerCase();
      if (code && code !== "auto" && Number.isFinite(l.probability)) {
        languageWeight.set(code, (languageWeight.get(code) ?? 0) + l.probability * text.length);
      }
    }
  }
  segments.sort((a, b) => a.startSec - b.startSec);
  let language = input.language && input.language !== "auto" ? input.language : "und";
  let best = 0;
  for (const [code, weight] of languageWeight) {
    if (weight > best) {
      best = weight;
      language = code;
    }
  }
  return { language, segments, usage: { audioSec: input.durationSec } };
}

/**
 * Splits concatenated JSON values (newline-delimited, or pretty-printed one after another as the
 * documentation shows them) by tracking braces outside strings. `rest` is an unfinished tail.
 */
export function splitJsonStream(text: string): { objects: unknown[]; rest: string } {
  const objects: unknown[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{") {
      if (depth === 0) start = i;
      depth++;
    } else if (c === "}") {
      depth--;
      if (depth === 0 && start >= 0) {
        const chunk = text.slice(start, i + 1);
        try {
          objects.push(JSON.parse(chunk));
        } catch {
          throw failure("SpeechKit returned recognition results that are not JSON.", false, {});
        }
        start = -1;
      } else if (depth < 0) {
        throw failure("SpeechKit returned recognition results that are not JSON.", false, {});
      }
    } else if (depth === 0 && !/\s/.test(c ?? "")) {
      throw failure("SpeechKit returned recognition results that are not JSON.", false, {});
    }
  }
  return { objects, rest: depth > 0 && start >= 0 ? text.slice(start) : "" };
}

/**
 * google.rpc.Code values worth another try: DEADLINE_EXCEEDED (4), RESOURCE_EXHAUSTED (8), ABORTED (10),
 * INTERNAL (13), UNAVAILABLE (14); an operation error without a code is treated as transient too.
 * INVALID_ARGUMENT (3) and the like will fail the same way again.
 */
function isTransientGrpc(code: number | undefined): boolean {
  return code === undefined || code === 4 || code === 8 || code === 10 || code === 13 || code === 14;
}

function errorMessage(body: string): string {
  try {
    const json = JSON.parse(body) as { message?: unknown; error?: { message?: unknown } };
    const message = json.message ?? json.error?.message;
    return typeof message === "string" ? message.slice(0, 300) : "";
  } catch {
    return body.slice(0, 200);
  }
}

function failure(
  message: string,
  retryable: boolean,
  context: Record<string, unknown>,
  cause?: unknown,
): AppError {
  return new AppError("TRANSCRIPTION_FAILED", message, {
    retryable,
    context: { provider: "yandex", ...context },
    ...(cause === undefined ? {} : { cause }),
  });
}
