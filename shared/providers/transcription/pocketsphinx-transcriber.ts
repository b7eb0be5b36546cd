/**
 * Offline English speech-to-text through Debian's PocketSphinx 0.8 (`pocketsphinx_continuous`):
 * needs no network or key, at the price of accuracy (fair on clean wideband speech, poor on 8 kHz
 * telephone audio, which the 16 kHz en-us model was not trained on).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { AppError, STOP_SIGNALS } from "../../errors/app-error.ts";
import type {
  TranscribedSegment,
  TranscribedWord,
  TranscribeInput,
  Transcriber,
  TranscriptionResult,
} from "./transcriber.ts";

export interface PocketSphinxTranscriberOptions {
  /** Default "pocketsphinx_continuous" from PATH. */
  binary?: string;
  /**
   * A model directory laid out like Debian's /usr/share/pocketsphinx/model/en-us (en-us/ acoustic
   * model, en-us.lm.bin, cmudict-en-us.dict); default: the binary's compiled-in model.
   */
  modelDir?: string;
  /** Default: 60 s plus twice the audio duration (the recognizer runs at roughly 0.4× real time). */
  timeoutMs?: number;
  /**
   * PocketSphinx's spectral noise removal estimates the noise floor from the first frames; on a split
   * channel that opens with digital silence (the other side talking) the estimate is garbage and the
   * first utterance is lost, so it is off by default.
   */
  removeNoise?: boolean;
  /** Words further apart than this (seconds) start a new segment. */
  maxGapSec?: number;
}

export interface RecognizedWord extends TranscribedWord {
  /** Posterior probability PocketSphinx reports for the word, 0..1. */
  confidence: number;
}

/** A pause this long (seconds) between words ends a segment: between phrases, not inside them. */
export const DEFAULT_MAX_WORD_GAP_SEC = 0.8;
const SAMPLE_RATE = 16_000;
/** Stderr lines kept for the error message; INFO output is discarded as it arrives. */
const MAX_ERROR_LINES = 20;

export function createPocketSphinxTranscriber(options: PocketSphinxTranscriberOptions = {}): Transcriber {
  const binary = options.binary ?? "pocketsphinx_continuous";
  const maxGapSec = options.maxGapSec ?? DEFAULT_MAX_WORD_GAP_SEC;

  return {
    name: "pocketsphinx",
    async transcribe(input: TranscribeInput): Promise<TranscriptionResult> {
      if (input.language !== undefined && !/^en\b/i.test(input.language)) {
        throw new AppError(
          "TRANSCRIPTION_FAILED",
          `PocketSphinx recognises English only, not "${input.language}".`,
          {
            context: { provider: "pocketsphinx", language: input.language },
          },
        );
      }
      const args = [
        "-infile",
        input.filePath,
        "-time",
        "yes",
        "-samprate",
        String(SAMPLE_RATE),
        "-remove_noise",
        options.removeNoise ? "yes" : "no",
      ];
      if (options.modelDir) {
        args.push(
          "-hmm",
          join(options.modelDir, "en-us"),
          "-lm",
          join(options.modelDir, "en-us.lm.bin"),
          "-dict",
          join(options.modelDir, "cmudict-en-us.dict"),
        );
      }
      const timeoutMs = options.timeoutMs ?? 60_000 + Math.max(0, input.durationSec) * 2_000;
      const stdout = await runRecognizer(binary, args, timeoutMs, input.signal);
      const words = parsePocketSphinxTimes(stdout);
      return {
        language: "en",
        segments: groupWordsIntoSegments(words, maxGapSec),
        usage: { audioSec: input.durationSec },
      };
    },
  };
}

/**
 * With `-time yes`, PocketSphinx prints each utterance's hypothesis followed by one
 * `word start end posterior` line per word, times in seconds from the start of the file. Silence,
 * sentence markers, noise and filler tokens are dropped; alternate pronunciations ("to(2)") are
 * reduced to the word.
 */
export function parsePocketSphinxTimes(stdout: string): RecognizedWord[] {
  const words: RecognizedWord[] = [];
  const number = String.raw`(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)`;
  const line = new RegExp(String.raw`^(\S+)\s+${number}\s+${number}\s+${number}$`, "i");
  for (const raw of stdout.split(/\r?\n/)) {
    const match = line.exec(raw.trim());
    if (!match) continue;
    const [, token = "", start = "", end = "", confidence = ""] = match;
    if (isNonSpeechToken(token)) continue;
    const word = token.replace(/\(\d+\)$/, "");
    if (word === "") continue;
    words.push({
      word,
      startSec: Number(start),
      endSec: Number(end),
      confidence: Number(confidence),
    });
  }
  return words;
}

/**
 * Joins consecutive words into segments while the pause between them is shorter than maxGapSec.
 * Words must be in time order, as PocketSphinx prints them.
 */
export function groupWordsIntoSegments(
  words: readonly TranscribedWord[],
  maxGapSec: number = DEFAULT_MAX_WORD_GAP_SEC,
): TranscribedSegment[] {
  const segments: TranscribedSegment[] = [];
  let current: TranscribedWord[] = [];
  const flush = () => {
    const first = current[0];
    const last = current.at(-1);
    if (first && last) {
      segments.push({
        startSec: first.startSec,
        endSec: last.endSec,
        text: current.map((w) => w.word).join(" "),
        words: current.map(({ word, startSec, endSec }) => ({ word, startSec, endSec })),
      });
    }
    current = [];
  };
  for (const word of words) {
    const previous = current.at(-1);
    if (previous && word.startSec - previous.endSec >= maxGapSec) flush();
    current.push(word);
  }
  flush();
  return segments;
}

function isNonSpeechToken(token: string): boolean {
  // <s> </s> <sil>, [NOISE] [SPEECH], and ++FILLER++ / +NSN+ style fillers of older models.
  return /^<.*>$/.test(token) || /^\[.*\]$/.test(token) || /^\+.*\+$/.test(token);
}

function runRecognizer(
  binary: string,
  args: string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const context = { provider: "pocketsphinx", binary };
    if (signal?.aborted) {
      reject(aborted(signal, context));
      return;
    }
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    const stdout: string[] = [];
    const errors: string[] = [];
    let partial = "";
    let settled = false;
    let killedBy: "timeout" | "abort" | undefined;

    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      outcome();
    };
    const stop = (why: "timeout" | "abort") => {
      killedBy = why;
      child.kill("SIGKILL");
    };
    const onAbort = () => stop("abort");
    const timer = setTimeout(() => stop("timeout"), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });

    child.stdout.setEncoding("utf8").on("data", (chunk: string) => stdout.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      // PocketSphinx logs megabytes of INFO on a long file; keep only what explains a failure.
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) {
        if (/^(ERROR|FATAL)/.test(l)) errors.push(l.trim());
      }
      if (errors.length > MAX_ERROR_LINES) errors.splice(0, errors.length - MAX_ERROR_LINES);
    });

    child.on("error", (err) =>
      finish(() =>
        reject(
          new AppError("TRANSCRIPTION_FAILED", `PocketSphinx could not be started: ${err.message}`, {
            cause: err,
            context,
          }),
        ),
      ),
    );
    child.on("close", (code, sig) =>
      finish(() => {
        if (killedBy === "timeout") {
          reject(
            new AppError("TRANSCRIPTION_FAILED", `PocketSphinx did not finish within ${timeoutMs} ms.`, {
              retryable: true,
              context: { ...context, timeoutMs },
            }),
          );
        } else if (killedBy === "abort" && signal) {
          reject(aborted(signal, context));
        } else if (code === null && sig && STOP_SIGNALS.has(sig)) {
          // Ctrl-C in a terminal signals the whole process group, this child included: the server is
          // stopping, and the call is resumed after the restart, not failed.
          reject(
            new AppError("TRANSCRIPTION_FAILED", `PocketSphinx was stopped by ${sig}.`, {
              interrupted: true,
              context: { ...context, signal: sig },
            }),
          );
        } else if (code !== 0) {
          if (/^(ERROR|FATAL)/.test(partial)) errors.push(partial.trim());
          // The ERROR line says why, the FATAL line after it what gave up; keep both, minus source locations.
          const reason =
            errors
              .slice(-2)
              .map((l) => l.replace(/^(ERROR|FATAL):\s*"[^"]*",\s*line \d+:\s*/, ""))
              .join(" ") || `exit code ${code ?? sig}`;
          reject(
            new AppError("TRANSCRIPTION_FAILED", `PocketSphinx failed: ${reason}`, {
              context: { ...context, exitCode: code, signal: sig, errors },
            }),
          );
        } else {
          resolve(stdout.join(""));
        }
      }),
    );
  });
}

function aborted(signal: AbortSignal, context: Record<string, unknown>): AppError {
  return new AppError("TRANSCRIPTION_FAILED", "Transcription was cancelled.", {
    retryable: true,
    cause: signal.reason,
    context,
  });
}
