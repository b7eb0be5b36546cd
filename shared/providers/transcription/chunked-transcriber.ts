/**
 * Wraps any Transcriber so that recordings above a provider's limits (bytes per request or seconds per
 * file) are cut at silences, transcribed piece by piece and stitched back with each piece's offset.
 *
 * Cut points: for each limit, the middle of the longest silence (a gap between speech intervals) in a
 * window just before the limit, so no word is cut and the pieces stay close to the limit; if that
 * window has no silence, the latest silence in the piece; only if the piece has none, a hard cut at the
 * limit. The speech intervals come from the caller (the pipeline already measured them) or from
 * silence detection.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AudioTools, SpeechInterval } from "../../audio/audio-tools.ts";
import { createConcurrencyLimiter } from "../registry/resilience.ts";
import type { TranscribedSegment, TranscribeInput, Transcriber, TranscriptionResult } from "./transcriber.ts";

export interface ChunkedTranscriberOptions {
  audio: Pick<AudioTools, "speechIntervals" | "cut">;
  /** Largest file the provider accepts in one request, in bytes (e.g. OpenAI 25 MB). */
  maxBytes?: number;
  /** Longest audio the provider accepts in one request, in seconds. */
  maxSec?: number;
  /** How far before each limit (seconds) to look for a silence; default a fifth of the piece length. */
  searchWindowSec?: number;
  /** Pieces transcribed at once (default 1: in order, one request at a time per file). */
  concurrency?: number;
  /** Where the pieces are written (default the OS temp dir); they are deleted afterwards. */
  tmpDir?: string;
}

export interface PlannedChunk {
  startSec: number;
  endSec: number;
  /** False when the piece had to be cut at its limit, in speech, because it contained no usable silence. */
  endsInSilence: boolean;
}

/** Room for the WAV header (and any LIST chunk) of each piece, in bytes. */
const WAV_HEADER_ALLOWANCE = 4096;
const EPSILON_SEC = 1e-6;

export function createChunkedTranscriber(
  inner: Transcriber,
  options: ChunkedTranscriberOptions,
): Transcriber {
  if (options.maxBytes === undefined && options.maxSec === undefined) {
    throw new RangeError("createChunkedTranscriber needs maxBytes or maxSec.");
  }
  return {
    name: inner.name,
    async transcribe(input: TranscribeInput): Promise<TranscriptionResult> {
      const bytes = (await stat(input.filePath)).size;
      const maxChunkSec = chunkSecondsLimit(bytes, input.durationSec, options);
      const fits =
        input.durationSec <= (options.maxSec ?? Number.POSITIVE_INFINITY) &&
        bytes <= (options.maxBytes ?? Number.POSITIVE_INFINITY);
      if (fits) return inner.transcribe(input);

      const intervals =
        input.intervals ?? (await options.audio.speechIntervals(input.filePath, input.durationSec));
      const plan = planChunks(intervals, input.durationSec, {
        maxChunkSec,
        ...(options.searchWindowSec === undefined ? {} : { searchWindowSec: options.searchWindowSec }),
      });
      const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), "tyndau-chunks-"));
      // One piece failing stops the others: the whole file has failed for this provider.
      const stop = new AbortController();
      const onAbort = () => stop.abort(input.signal?.reason);
      if (input.signal?.aborted) stop.abort(input.signal.reason);
      else input.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        const limiter = createConcurrencyLimiter(Math.max(1, options.concurrency ?? 1));
        let failure: { error: unknown } | undefined;
        const settled = await Promise.allSettled(
          plan.map((chunk, index) =>
            limiter.run(
              async () => {
                const piece = join(dir, `piece-${String(index).padStart(4, "0")}.wav`);
                try {
                  await options.audio.cut(input.filePath, chunk.startSec, chunk.endSec, piece);
                  const result = await inner.transcribe({
                    filePath: piece,
                    durationSec: chunk.endSec - chunk.startSec,
                    ...(input.language === undefined ? {} : { language: input.language }),
                    intervals: intervalsWithin(intervals, chunk),
                    signal: stop.signal,
                  });
                  return { chunk, result };
                } catch (error) {
                  // The first failure is the one to report; the others are its consequences.
                  failure ??= { error };
                  stop.abort(error);
                  throw error;
                } finally {
                  await rm(piece, { force: true });
                }
              },
              { signal: stop.signal },
            ),
          ),
        );
        if (failure) throw failure.error;
        const results = settled.map((s) => {
          if (s.status === "rejected") throw s.reason;
          return s.value;
        });
        return stitch(results, input.language);
      } finally {
        input.signal?.removeEventListener("abort", onAbort);
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The longest piece (seconds) both limits allow, estimating bytes per second from the file itself. */
export function chunkSecondsLimit(
  fileBytes: number,
  durationSec: number,
  limits: { maxBytes?: number; maxSec?: number },
): number {
  let limit = limits.maxSec ?? Number.POSITIVE_INFINITY;
  if (limits.maxBytes !== undefined && durationSec > 0 && fileBytes > 0) {
    const bytesPerSec = fileBytes / durationSec;
    limit = Math.min(limit, Math.max(0, limits.maxBytes - WAV_HEADER_ALLOWANCE) / bytesPerSec);
  }
  if (!(limit > 0)) throw new RangeError("The chunk limits leave no room for audio.");
  return limit;
}

/**
 * Cut points for a recording of durationSec whose speech is `speech` (sorted or not), so that no piece
 * is longer than maxChunkSec. Pure: the planning the integration test relies on is tested on its own.
 */
export function planChunks(
  speech: readonly SpeechInterval[],
  durationSec: number,
  options: { maxChunkSec: number; searchWindowSec?: number },
): PlannedChunk[] {
  const { maxChunkSec } = options;
  if (!(maxChunkSec > 0)) throw new RangeError(`maxChunkSec must be positive: ${maxChunkSec}`);
  const window = Math.min(maxChunkSec, options.searchWindowSec ?? maxChunkSec / 5);
  const silences = silencesOf(speech, durationSec);
  const chunks: PlannedChunk[] = [];
  let start = 0;
  while (durationSec - start > maxChunkSec + EPSILON_SEC) {
    const limit = start + maxChunkSec;
    // Each silence's part that lies inside (start, limit]: any point of it is a clean cut. The silence
    // the previous cut was made in does not count: cutting it again would only make a sliver.
    const usable = silences
      .filter((s) => s.startSec > start + EPSILON_SEC)
      .map((s) => ({
        startSec: s.startSec,
        endSec: Math.min(s.endSec, limit),
        fullSec: s.endSec - s.startSec,
      }))
      .filter((s) => s.endSec - s.startSec > EPSILON_SEC);
    const near = usable.filter((s) => s.endSec > limit - window);
    let cut: number;
    let endsInSilence = true;
    if (near.length > 0) {
      const longest = near.reduce((best, s) => (s.fullSec > best.fullSec ? s : best));
      cut = (longest.startSec + longest.endSec) / 2;
    } else if (usable.length > 0) {
      const latest = usable.reduce((best, s) => (s.endSec > best.endSec ? s : best));
      cut = (latest.startSec + latest.endSec) / 2;
    } else {
      cut = limit;
      endsInSilence = silences.some((s) => s.startSec <= limit && s.endSec >= limit);
    }
    chunks.push({ startSec: start, endSec: cut, endsInSilence });
    start = cut;
  }
  chunks.push({ startSec: start, endSec: durationSec, endsInSilence: true });
  return chunks;
}

/** The gaps between speech intervals within [0, durationSec], leading and trailing silence included. */
export function silencesOf(speech: readonly SpeechInterval[], durationSec: number): SpeechInterval[] {
  const sorted = speech
    .filter((s) => s.endSec > s.startSec)
    .slice()
    .sort((a, b) => a.startSec - b.startSec);
  const silences: SpeechInterval[] = [];
  let cursor = 0;
  for (const s of sorted) {
    if (s.startSec > cursor) silences.push({ startSec: cursor, endSec: Math.min(s.startSec, durationSec) });
    cursor = Math.max(cursor, s.endSec);
  }
  if (cursor < durationSec) silences.push({ startSec: cursor, endSec: durationSec });
  return silences.filter((s) => s.endSec > s.startSec);
}

/** The speech intervals inside a piece, in the piece's own time. */
export function intervalsWithin(
  intervals: readonly SpeechInterval[],
  chunk: { startSec: number; endSec: number },
): SpeechInterval[] {
  return intervals
    .map((i) => ({
      startSec: Math.max(i.startSec, chunk.startSec) - chunk.startSec,
      endSec: Math.min(i.endSec, chunk.endSec) - chunk.startSec,
    }))
    .filter((i) => i.endSec > i.startSec);
}

/** Moves a piece's segments (and words) to the original recording's time, kept inside the piece. */
export function offsetSegments(
  segments: readonly TranscribedSegment[],
  chunk: { startSec: number; endSec: number },
): TranscribedSegment[] {
  const place = (t: number) => Math.min(chunk.endSec, Math.max(chunk.startSec, t + chunk.startSec));
  return segments.map((s) => ({
    ...s,
    startSec: place(s.startSec),
    endSec: place(s.endSec),
    ...(s.words === undefined
      ? {}
      : { words: s.words.map((w) => ({ ...w, startSec: place(w.startSec), endSec: place(w.endSec) })) }),
  }));
}

function stitch(
  pieces: ReadonlyArray<{ chunk: PlannedChunk; result: TranscriptionResult }>,
  requestedLanguage: string | undefined,
): TranscriptionResult {
  const votes = new Map<string, number>();
  for (const { result } of pieces) {
    if (result.language !== "und" && result.segments.length > 0) {
      votes.set(result.language, (votes.get(result.language) ?? 0) + result.segments.length);
    }
  }
  let language =
    requestedLanguage ?? pieces.find((p) => p.result.language !== "und")?.result.language ?? "und";
  let best = 0;
  for (const [code, count] of votes) {
    if (count > best) {
      best = count;
      language = code;
    }
  }
  return {
    language,
    segments: pieces.flatMap(({ chunk, result }) => offsetSegments(result.segments, chunk)),
    usage: { audioSec: pieces.reduce((sum, p) => sum + p.result.usage.audioSec, 0) },
  };
}
