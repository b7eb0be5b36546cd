/** The one ffmpeg/ffprobe seam (fluent-ffmpeg is imported only under shared/audio). */

export interface ProbeResult {
  /** Seconds of audio that decode (never the container's claim): what the call is billed for. */
  durationSec: number;
  channels: number;
  sampleRate: number;
  codec: string;
  formatName: string;
}

/** A stretch of speech on one channel, in seconds from the start of the recording. */
export interface SpeechInterval {
  startSec: number;
  endSec: number;
}

export type SplitResult = { kind: "stereo"; left: string; right: string } | { kind: "mono"; mono: string };

export interface AudioTools {
  /**
   * Throws AppError MEDIA_UNREADABLE for anything that is not decodable audio with a positive duration
   * (playlists, video and images, truncated files included), MEDIA_DURATION_MISMATCH when more audio
   * decodes than the container declares. `durationSec` is the decoded duration: what is billed.
   */
  probe(filePath: string): Promise<ProbeResult>;
  /**
   * Writes 16 kHz mono PCM WAV files into outDir: one per channel for 2+ channel input (first two
   * channels), one for mono input, each at most `maxSec` long (the billed duration). Returns their paths.
   */
  split(filePath: string, channels: number, outDir: string, maxSec: number): Promise<SplitResult>;
  /** Speech intervals of a mono file from ffmpeg silencedetect (speech = not silence). */
  speechIntervals(monoWavPath: string, durationSec: number): Promise<SpeechInterval[]>;
  /**
   * Writes [startSec, endSec) of a recording to outPath as 16-bit PCM WAV, keeping its sample rate and
   * channels; sample-accurate, so times in the piece plus startSec are times in the original.
   */
  cut(filePath: string, startSec: number, endSec: number, outPath: string): Promise<void>;
}
