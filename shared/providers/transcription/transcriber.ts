import type { SpeechInterval } from "../../audio/audio-tools.ts";

export interface TranscribedWord {
  word: string;
  startSec: number;
  endSec: number;
}

export interface TranscribedSegment {
  startSec: number;
  endSec: number;
  text: string;
  words?: TranscribedWord[];
}

export interface TranscriptionResult {
  /** ISO 639-1 code of the recognised language ("en", "ru", "kk"). */
  language: string;
  segments: TranscribedSegment[];
  /** What the provider used, for our own cost accounting (seconds of audio sent). */
  usage: { audioSec: number };
}

export interface TranscribeInput {
  /** A 16 kHz mono PCM WAV file on local disk. */
  filePath: string;
  durationSec: number;
  /** Requested language, or undefined for the provider's default/auto. */
  language?: string;
  /**
   * This file's speech intervals from silence detection (seconds from its start), when the caller has
   * them: providers that return text without timestamps place it on them; a chunked run reuses them
   * to choose its cut points.
   */
  intervals?: readonly SpeechInterval[];
  signal?: AbortSignal;
}

/** Speech-to-text provider. Errors are AppError TRANSCRIPTION_FAILED, retryable when transient. */
export interface Transcriber {
  readonly name: string;
  transcribe(input: TranscribeInput): Promise<TranscriptionResult>;
}
