/**
 * Speech-to-text through the OpenAI audio API, or any server speaking the same protocol (self-hosted
 * Whisper behind an OpenAI-compatible endpoint) via baseUrl.
 */
import { createReadStream } from "node:fs";
import OpenAI from "openai";
import { z } from "zod";
import { AppError } from "../../errors/app-error.ts";
import type { TranscribedSegment, TranscribeInput, Transcriber, TranscriptionResult } from "./transcriber.ts";

export interface OpenAiTranscriberOptions {
  /** Servers that need no key (local Whisper) still get a placeholder: the SDK insists on one. */
  apiKey?: string;
  /** e.g. "https://api.openai.com/v1" (the SDK default) or "http://whisper.local:8000/v1". */
  baseUrl?: string;
  /** "whisper-1", "gpt-4o-transcribe", or whatever the compatible server serves. */
  model: string;
  /** Per attempt, milliseconds. */
  timeoutMs?: number;
  /** SDK-level retries of connection errors, 408/409/429 and 5xx, with backoff honouring Retry-After. */
  maxRetries?: number;
}

const OPENAI_BASE_URL = "https://api.openai.com/v1";
const DEFAULT_TIMEOUT_MS = 600_000;
const DEFAULT_MAX_RETRIES = 2;

/** Whisper answers with the language's English name; we speak ISO 639-1. */
const LANGUAGE_CODES: Record<string, string> = {
  english: "en",
  russian: "ru",
  kazakh: "kk",
  ukrainian: "uk",
  uzbek: "uz",
  kyrgyz: "ky",
  turkish: "tr",
  german: "de",
  french: "fr",
  spanish: "es",
  chinese: "zh",
  arabic: "ar",
};

// Only what we use is checked: compatible servers add or omit the rest freely.
const responseSchema = z.object({
  text: z.string().optional(),
  language: z.string().optional(),
  duration: z.number().optional(),
  segments: z.array(z.object({ start: z.number(), end: z.number(), text: z.string() })).nullish(),
});

export function createOpenAiTranscriber(options: OpenAiTranscriberOptions): Transcriber {
  const client = new OpenAI({
    apiKey: options.apiKey ?? "not-needed",
    // Explicit, so the SDK never falls back to reading OPENAI_BASE_URL from the environment.
    baseURL: options.baseUrl ?? OPENAI_BASE_URL,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
  });
  // gpt-4o-*-transcribe models reject verbose_json and timestamps; they return plain text only.
  const textOnly = /^gpt-4o/i.test(options.model);

  return {
    name: "openai",
    async transcribe(input: TranscribeInput): Promise<TranscriptionResult> {
      let raw: unknown;
      try {
        const file = createReadStream(input.filePath);
        const language = input.language === undefined ? {} : { language: input.language };
        const requestOptions = input.signal === undefined ? {} : { signal: input.signal };
        raw = textOnly
          ? await client.audio.transcriptions.create(
              { file, model: options.model, response_format: "json", ...language },
              requestOptions,
            )
          : await client.audio.transcriptions.create(
              {
                file,
                model: options.model,
                response_format: "verbose_json",
                timestamp_granularities: ["segment"],
                ...language,
              },
              requestOptions,
            );
      } catch (err) {
        throw toAppError(err, options.model);
      }

      const parsed = responseSchema.safeParse(raw);
      if (!parsed.success) {
        throw new AppError(
          "TRANSCRIPTION_FAILED",
          "The speech-to-text server returned an unexpected response.",
          {
            context: { provider: "openai", model: options.model, issues: parsed.error.issues.slice(0, 5) },
          },
        );
      }
      const body = parsed.data;
      return {
        language: toLanguageCode(body.language) ?? input.language ?? "und",
        segments: toSegments(body.segments, body.text, input.durationSec),
        usage: { audioSec: input.durationSec },
      };
    },
  };
}

function toSegments(
  segments: { start: number; end: number; text: string }[] | null | undefined,
  text: string | undefined,
  durationSec: number,
): TranscribedSegment[] {
  if (segments && segments.length > 0) {
    return segments
      .map((s) => ({ startSec: s.start, endSec: s.end, text: s.text.trim() }))
      .filter((s) => s.text !== "");
  }
  // Without timestamps the whole text can only be placed over the whole recording.
  const whole = text?.trim() ?? "";
  return whole === "" ? [] : [{ startSec: 0, endSec: durationSec, text: whole }];
}

export function toLanguageCode(language: string | undefined): string | undefined {
  if (!language) return undefined;
  const key = language.trim().toLowerCase();
  if (key === "") return undefined;
  return LANGUAGE_CODES[key] ?? key;
}

/**
 * Transient failures (network, timeouts, rate limits, server errors) are retryable by the pipeline;
 * a request the server rejects (bad key, bad file, unknown model) will fail the same way again.
 */
function toAppError(err: unknown, model: string): AppError {
  const context: Record<string, unknown> = { provider: "openai", model };
  if (err instanceof OpenAI.APIUserAbortError) {
    return new AppError("TRANSCRIPTION_FAILED", "Transcription was cancelled.", {
      retryable: true,
      cause: err,
      context,
    });
  }
  if (err instanceof OpenAI.APIConnectionError) {
    // Includes APIConnectionTimeoutError.
    return new AppError("TRANSCRIPTION_FAILED", `Speech-to-text server unreachable: ${err.message}`, {
      retryable: true,
      cause: err,
      context,
    });
  }
  if (err instanceof OpenAI.APIError) {
    const status = err.status;
    const retryAfter = err.headers?.get("retry-after") ?? undefined;
    const retryable =
      status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
    return new AppError(
      "TRANSCRIPTION_FAILED",
      `Speech-to-text server answered ${status ?? "?"}: ${err.message}`,
      {
        retryable,
        cause: err,
        context: { ...context, status, ...(retryAfter === undefined ? {} : { retryAfter }) },
      },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new AppError("TRANSCRIPTION_FAILED", `Transcription failed: ${message}`, { cause: err, context });
}
