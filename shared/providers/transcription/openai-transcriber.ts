/**
 * Speech-to-text through the OpenAI audio API, or any server speaking the same protocol (self-hosted
 * Whisper behind an OpenAI-compatible endpoint) via baseUrl.
 */
import { openAsBlob } from "node:fs";
import { basename } from "node:path";
import OpenAI from "openai";
import { z } from "zod";
import type { AudioTools, SpeechInterval } from "../../audio/audio-tools.ts";
import { AppError } from "../../errors/app-error.ts";
import { parseRetryAfterSec } from "../registry/resilience.ts";
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
  /**
   * SDK-level retries of connection errors, 408/409/429 and 5xx, with backoff honouring Retry-After.
   * Set 0 when the provider registry does the retrying, so retries are not multiplied.
   */
  maxRetries?: number;
  /**
   * For models that answer with text only (gpt-4o-*-transcribe): finds the file's speech intervals
   * when the caller passed none, so the text can be placed on them instead of over the whole file.
   */
  audio?: Pick<AudioTools, "speechIntervals">;
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
        // A file-backed Blob, not a read stream: the SDK (7.x) retries only bodies it can send again, and
        // a Blob re-reads the file on each attempt without holding it in memory.
        const file = new File([await openAsBlob(input.filePath)], basename(input.filePath));
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
      const timed = body.segments && body.segments.length > 0;
      const segments = timed
        ? toSegments(body.segments)
        : placeTextOnIntervals(body.text ?? "", await intervalsOf(input, options.audio), input.durationSec);
      return {
        language: toLanguageCode(body.language) ?? input.language ?? "und",
        segments,
        usage: { audioSec: input.durationSec },
      };
    },
  };
}

function toSegments(
  segments: { start: number; end: number; text: string }[] | null | undefined,
): TranscribedSegment[] {
  return (segments ?? [])
    .map((s) => ({ startSec: s.start, endSec: s.end, text: s.text.trim() }))
    .filter((s) => s.text !== "");
}

/**
 * The caller's intervals, or silence detection's when an audio adapter was given. A failure to detect
 * only costs precision (the text then spans the whole file): the paid transcription is not thrown away.
 */
async function intervalsOf(
  input: TranscribeInput,
  audio: Pick<AudioTools, "speechIntervals"> | undefined,
): Promise<readonly SpeechInterval[]> {
  if (input.intervals) return input.intervals;
  if (!audio) return [];
  try {
    return await audio.speechIntervals(input.filePath, input.durationSec);
  } catch {
    return [];
  }
}

/** A sentence shorter than this many words on either side of a split is not worth moving the split for. */
const MAX_SENTENCE_SNAP_WORDS = 3;

/**
 * Places an untimed transcript on the recording's speech intervals: the words are spread over the
 * intervals in order, each interval getting a share proportional to its duration (word k of n sits at
 * (k + ½)/n of the total speech time), then each split between two intervals is moved by up to
 * MAX_SENTENCE_SNAP_WORDS words to the nearest sentence end, because people pause between sentences.
 * Intervals that get no words are dropped. Without intervals the text spans [0, durationSec].
 */
export function placeTextOnIntervals(
  text: string,
  intervals: readonly SpeechInterval[],
  durationSec: number,
): TranscribedSegment[] {
  const words = text
    .trim()
    .split(/\s+/)
    .filter((w) => w !== "");
  if (words.length === 0) return [];
  const spans = intervals
    .filter((i) => i.endSec > i.startSec)
    .slice()
    .sort((a, b) => a.startSec - b.startSec);
  const totalSec = spans.reduce((sum, s) => sum + (s.endSec - s.startSec), 0);
  if (spans.length === 0 || !(totalSec > 0)) {
    return [{ startSec: 0, endSec: durationSec, text: words.join(" ") }];
  }

  // owner[k] = index of the span word k falls in; non-decreasing in k.
  const owner: number[] = [];
  let span = 0;
  let spanEnd = spans[0]!.endSec - spans[0]!.startSec;
  for (let k = 0; k < words.length; k++) {
    const position = ((k + 0.5) / words.length) * totalSec;
    while (position > spanEnd && span < spans.length - 1) {
      span++;
      spanEnd += spans[span]!.endSec - spans[span]!.startSec;
    }
    owner.push(span);
  }
  snapSplitsToSentenceEnds(words, owner);

  const segments: TranscribedSegment[] = [];
  for (let k = 0; k < words.length; ) {
    const s = owner[k]!;
    let end = k;
    while (end < words.length && owner[end] === s) end++;
    const interval = spans[s]!;
    segments.push({
      startSec: interval.startSec,
      endSec: interval.endSec,
      text: words.slice(k, end).join(" "),
    });
    k = end;
  }
  return segments;
}

/**
 * Moves each boundary between two spans' words to the closest sentence end within reach, keeping at
 * least one word on each side. A boundary that already follows a sentence end stays.
 */
function snapSplitsToSentenceEnds(words: readonly string[], owner: number[]): void {
  const endsSentence = (k: number) => /[.!?…]["»”)]*$/.test(words[k] ?? "");
  for (let b = 1; b < words.length; b++) {
    if (owner[b] === owner[b - 1]) continue;
    // Boundary b: words[b-1] is the last of one span, words[b] the first of the next.
    if (endsSentence(b - 1)) continue;
    const left = owner[b - 1]!;
    const right = owner[b]!;
    let groupStart = b - 1;
    while (groupStart > 0 && owner[groupStart - 1] === left) groupStart--;
    let groupEnd = b;
    while (groupEnd + 1 < words.length && owner[groupEnd + 1] === right) groupEnd++;
    let best: number | undefined;
    for (let shift = 1; shift <= MAX_SENTENCE_SNAP_WORDS && best === undefined; shift++) {
      // Earlier: the left span ends sooner (keeps ≥1 word); later: the right span starts later (keeps ≥1).
      const earlier = b - shift;
      if (earlier > groupStart && endsSentence(earlier - 1)) best = earlier;
      else if (b + shift <= groupEnd && endsSentence(b + shift - 1)) best = b + shift;
    }
    if (best === undefined) continue;
    if (best < b) for (let k = best; k < b; k++) owner[k] = right;
    else for (let k = b; k < best; k++) owner[k] = left;
    b = Math.max(b, best);
  }
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
    // OpenAI also sends retry-after-ms; either becomes the seconds the registry's retry honours.
    const retryAfterMs = Number(err.headers?.get("retry-after-ms") ?? Number.NaN);
    const retryAfterSec =
      Number.isFinite(retryAfterMs) && retryAfterMs >= 0
        ? retryAfterMs / 1000
        : parseRetryAfterSec(retryAfter);
    const retryable =
      status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
    return new AppError(
      "TRANSCRIPTION_FAILED",
      `Speech-to-text server answered ${status ?? "?"}: ${err.message}`,
      {
        retryable,
        cause: err,
        context: {
          ...context,
          status,
          ...(retryAfter === undefined ? {} : { retryAfter }),
          ...(retryAfterSec === undefined ? {} : { retryAfterSec }),
        },
      },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new AppError("TRANSCRIPTION_FAILED", `Transcription failed: ${message}`, { cause: err, context });
}
