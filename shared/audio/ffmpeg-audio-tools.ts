/**
 * The ffmpeg/ffprobe adapter behind AudioTools; the only module that imports fluent-ffmpeg.
 *
 * Format detection is left to ffprobe/ffmpeg content probing: nothing here looks at file names.
 */
import { constants } from "node:fs";
import { access, open, stat } from "node:fs/promises";
import { delimiter, join } from "node:path";
import type { FfmpegCommand, FfprobeData, FfprobeStream } from "fluent-ffmpeg";
import ffmpeg from "fluent-ffmpeg";
import { AppError, STOP_SIGNALS } from "../errors/app-error.ts";
import type { AudioTools, ProbeResult, SpeechInterval, SplitResult } from "./audio-tools.ts";

export interface FfmpegAudioToolsOptions {
  /** Directories searched for ffmpeg/ffprobe given by name (the process's PATH, passed in by config). */
  searchPath?: string;
  ffmpegPath?: string;
  ffprobePath?: string;
  /** silencedetect threshold in dBFS: quieter than this counts as silence. */
  silenceNoiseDb?: number;
  /** Shortest pause (seconds) that splits speech into two intervals. */
  minSilenceSec?: number;
  /** Kill any single ffmpeg/ffprobe run after this many seconds. */
  processTimeoutSec?: number;
}

/**
 * -35 dBFS sits well under telephone speech (flite speech normalised to -3 dBFS peak reads about
 * -20 dBFS RMS) and above line hiss; 0.35 s is shorter than a between-phrase pause (≥0.4 s) but
 * longer than the stop-consonant gaps inside words, so phrases split and words do not.
 */
export const DEFAULT_SILENCE_NOISE_DB = -35;
export const DEFAULT_MIN_SILENCE_SEC = 0.35;
/** Speech intervals shorter than this (seconds) are clicks or breaths, not speech. */
export const MIN_SPEECH_SEC = 0.1;
export const SPLIT_SAMPLE_RATE = 16_000;
/**
 * A file whose decodable audio falls short of its declared duration by more than
 * max(TRUNCATION_MIN_SHORTFALL_SEC, TRUNCATION_MAX_SHORTFALL_RATIO × declared) is truncated.
 * The slack absorbs encoder padding/delay (MP3 ≈ 0.1 s) and rounding in container headers.
 */
export const TRUNCATION_MIN_SHORTFALL_SEC = 0.5;
export const TRUNCATION_MAX_SHORTFALL_RATIO = 0.02;
/**
 * Billing follows the audio that decodes (PRODUCT.md): a container whose declared duration differs from
 * the decoded one by more than max(DURATION_MISMATCH_MIN_SEC, DURATION_MISMATCH_RATIO × decoded) is
 * refused: MEDIA_DURATION_MISMATCH when more decodes than declared, MEDIA_UNREADABLE (truncated, with
 * the tighter truncation slack below) when less does.
 */
export const DURATION_MISMATCH_MIN_SEC = 2;
export const DURATION_MISMATCH_RATIO = 0.05;
/**
 * The only demuxers ffmpeg/ffprobe may open on uploaded bytes (`-format_whitelist`): audio containers
 * telephony sends. Playlists and scripts that name other files or URLs (hls, concat, …), images and
 * everything else are refused before ffmpeg reads a byte past the probe. `mov` covers M4A/MP4 audio and
 * `matroska` covers WebM/MKA; files in them that carry video are refused by probe().
 */
export const ACCEPTED_DEMUXERS = [
  "wav",
  "w64",
  "mp3",
  "ogg",
  "flac",
  "mov",
  "matroska",
  "aac",
  "amr",
  "au",
  "aiff",
  "caf",
] as const;
/** Every ffmpeg/ffprobe run: local files only (no network, no pipes), and only the demuxers above. */
export const INPUT_GUARD = ["-protocol_whitelist", "file", "-format_whitelist", ACCEPTED_DEMUXERS.join(",")];
const DEFAULT_PROCESS_TIMEOUT_SEC = 900;
/** How much of a file's head is read to find a RIFF/WAVE data chunk header. */
const WAV_HEADER_READ_BYTES = 64 * 1024;

export interface SilenceInterval {
  startSec: number;
  endSec: number;
}

export function createFfmpegAudioTools(options: FfmpegAudioToolsOptions = {}): AudioTools {
  const noiseDb = options.silenceNoiseDb ?? DEFAULT_SILENCE_NOISE_DB;
  const minSilenceSec = options.minSilenceSec ?? DEFAULT_MIN_SILENCE_SEC;
  const timeoutSec = options.processTimeoutSec ?? DEFAULT_PROCESS_TIMEOUT_SEC;

  const binaries = binaryLocator(
    options.searchPath ?? DEFAULT_SEARCH_PATH,
    options.ffmpegPath,
    options.ffprobePath,
  );
  /**
   * silencedetect output of files split() wrote, by path, kept only while the file is unchanged (same
   * size and mtime) and read at most once; bounded so unread entries cannot pile up.
   */
  const detections = new Map<string, { lines: string[]; size: number; mtimeMs: number }>();
  const remember = async (file: string, lines: string[]) => {
    const { size, mtimeMs } = await stat(file);
    detections.delete(file);
    detections.set(file, { lines, size, mtimeMs });
    for (const key of detections.keys()) {
      if (detections.size <= MAX_REMEMBERED_DETECTIONS) break;
      detections.delete(key);
    }
  };
  const recall = async (file: string): Promise<string[] | undefined> => {
    const entry = detections.get(file);
    if (!entry) return undefined;
    detections.delete(file);
    const current = await stat(file).catch(() => undefined);
    return current?.size === entry.size && current.mtimeMs === entry.mtimeMs ? entry.lines : undefined;
  };
  const command = async (input: string): Promise<FfmpegCommand> =>
    // stdoutLines 0 = keep all stderr lines: silencedetect can print thousands on a long call.
    pinBinaryPaths(ffmpeg(input, { stdoutLines: 0, timeout: timeoutSec }), await binaries()).inputOptions(
      INPUT_GUARD,
    );

  return {
    async probe(filePath: string): Promise<ProbeResult> {
      const size = (await stat(filePath)).size;
      if (size === 0) throw unreadable("The file is empty.", { filePath });

      const data = await ffprobe(await command(filePath)).catch((err: unknown) => {
        throw toolFailure(err, "The file is not a readable audio recording.", { filePath });
      });
      const stream = data.streams.find((s) => s.codec_type === "audio");
      if (!stream) throw unreadable("The file contains no audio.", { filePath });
      // A cover picture (MP3/M4A artwork) is not video; any other picture stream is.
      if (data.streams.some((s) => s.codec_type === "video" && s.disposition?.attached_pic !== 1)) {
        throw unreadable("The file contains video; only audio recordings are accepted.", { filePath });
      }

      const channels = positive(stream.channels);
      const sampleRate = positive(stream.sample_rate);
      if (channels === undefined || sampleRate === undefined) {
        throw unreadable("The audio stream has no channels or sample rate.", { filePath });
      }

      const decoded = await decodeCheck(await command(filePath), filePath);
      const containerSec = containerDuration(data, stream);
      const wavDeclaredSec = declaredWavDuration(await readHead(filePath));
      // A container duration ffmpeg only estimated from the bitrate is not a claim we can hold the
      // file to; the decoded length is the truth then.
      const trustedContainerSec = decoded.durationEstimated ? undefined : containerSec;
      const declaredSec = Math.max(trustedContainerSec ?? 0, wavDeclaredSec ?? 0);

      const decodedSec = decoded.decodedSec;
      if (!(decodedSec > 0)) throw unreadable("The recording contains no decodable audio.", { filePath });
      const context = { filePath, declaredSec, decodedSec };
      // Shorter than declared: cut short in transit, unreadable audio (PRODUCT.md step 2), refused with
      // the tighter truncation slack. Longer than declared: the container lies about its length, which
      // would bill minutes it does not hold (PRODUCT.md "Billing follows the audio that decodes").
      if (isTruncated(declaredSec, decodedSec)) {
        throw unreadable(
          `The recording is truncated: only ${decodedSec.toFixed(1)} s of ${declaredSec.toFixed(1)} s could be decoded.`,
          context,
        );
      }
      if (isDurationMismatch(declaredSec, decodedSec)) {
        throw new AppError(
          "MEDIA_DURATION_MISMATCH",
          `The recording decodes to ${decodedSec.toFixed(1)} s but its header declares ${declaredSec.toFixed(1)} s; a file whose declared and decoded lengths disagree by more than ${DURATION_MISMATCH_MIN_SEC} s or ${DURATION_MISMATCH_RATIO * 100} % is refused.`,
          { context },
        );
      }
      // Billing follows the audio that decodes, never the container's claim (PRODUCT.md).
      const durationSec = decodedSec;

      return {
        durationSec,
        channels,
        sampleRate,
        codec: stream.codec_name ?? "unknown",
        formatName: data.format.format_name ?? "unknown",
      };
    },

    async split(filePath: string, channels: number, outDir: string, maxSec: number): Promise<SplitResult> {
      if (!(Number.isFinite(maxSec) && maxSec > 0)) {
        throw new AppError("INTERNAL", `Cannot split a recording to ${maxSec} s.`, { context: { filePath } });
      }
      // -t per output: nothing past the billed duration is written, transcribed or measured.
      const pcm = [
        "-t",
        seconds(maxSec),
        "-ar",
        String(SPLIT_SAMPLE_RATE),
        "-ac",
        "1",
        "-c:a",
        "pcm_s16le",
        "-f",
        "wav",
      ];
      const cmd = await command(filePath);
      let result: SplitResult;
      const detected: string[] = [];
      if (channels >= 2) {
        const left = join(outDir, "left.wav");
        const right = join(outDir, "right.wav");
        // pan addresses channels by index, so it works whatever layout (or none) the file declares;
        // extra channels beyond the first two are ignored. The same pass runs silencedetect on exactly
        // the samples written (per channel of the two merged back), so speechIntervals() on these
        // files needs no second decode: one ffmpeg start instead of three.
        const side = (c: number, out: string, tap: string) =>
          `[i${c}]pan=mono|c0=c${c},aresample=${SPLIT_SAMPLE_RATE},aformat=sample_fmts=s16,asplit=2[${out}][${tap}]`;
        cmd
          .complexFilter([
            "[0:a:0]asplit=2[i0][i1]",
            side(0, "left", "tap0"),
            side(1, "right", "tap1"),
            `[tap0][tap1]amerge=inputs=2,${silenceFilter(noiseDb, minSilenceSec)}:mono=1,anullsink`,
          ])
          .output(left)
          .outputOptions(["-map", "[left]", ...pcm])
          .output(right)
          .outputOptions(["-map", "[right]", ...pcm])
          .on("stderr", (line: string) => {
            if (line.includes("silence_")) detected.push(line);
          });
        result = { kind: "stereo", left, right };
      } else {
        const mono = join(outDir, "mono.wav");
        cmd.output(mono).outputOptions(["-map", "0:a:0", ...pcm]);
        result = { kind: "mono", mono };
      }
      const logLevel = channels >= 2 ? "info" : "error";
      await runCommand(cmd.inputOptions(["-nostdin", "-nostats", "-v", logLevel])).catch((err: unknown) => {
        throw toolFailure(err, "The recording could not be decoded.", { filePath });
      });
      if (result.kind === "stereo") {
        await remember(result.left, channelLines(detected, 0));
        await remember(result.right, channelLines(detected, 1));
      }
      return result;
    },

    async speechIntervals(monoWavPath: string, durationSec: number): Promise<SpeechInterval[]> {
      const known = await recall(monoWavPath);
      if (known) return trimSilenceIntervalsToSpeech(parseSilenceDetect(known, durationSec), durationSec);
      const lines: string[] = [];
      const cmd = (await command(monoWavPath))
        .inputOptions(["-nostdin", "-nostats", "-v", "info"])
        .audioFilters(silenceFilter(noiseDb, minSilenceSec))
        .outputOptions(["-map", "0:a:0"])
        .format("null")
        .output("-")
        .on("stderr", (line: string) => {
          if (line.includes("silence_")) lines.push(line);
        });
      await runCommand(cmd).catch((err: unknown) => {
        throw toolFailure(err, "The recording could not be decoded.", { filePath: monoWavPath });
      });
      return trimSilenceIntervalsToSpeech(parseSilenceDetect(lines, durationSec), durationSec);
    },

    async cut(filePath: string, startSec: number, endSec: number, outPath: string): Promise<void> {
      if (!(Number.isFinite(startSec) && Number.isFinite(endSec) && startSec >= 0 && endSec > startSec)) {
        throw new AppError("INTERNAL", `Cannot cut [${startSec}, ${endSec}) out of a recording.`, {
          context: { filePath, startSec, endSec },
        });
      }
      // -ss before -i on decoded PCM is sample-accurate (ffmpeg decodes and drops up to the point);
      // -t then counts output samples, so the piece is exactly endSec − startSec long.
      const cmd = (await command(filePath))
        .inputOptions(["-nostdin", "-nostats", "-v", "error", "-ss", seconds(startSec)])
        .output(outPath)
        .outputOptions(["-map", "0:a:0", "-t", seconds(endSec - startSec), "-c:a", "pcm_s16le", "-f", "wav"]);
      await runCommand(cmd).catch((err: unknown) => {
        throw toolFailure(err, "The recording could not be cut.", { filePath, startSec, endSec });
      });
    },
  };
}

const MAX_REMEMBERED_DETECTIONS = 64;

function silenceFilter(noiseDb: number, minSilenceSec: number): string {
  return `silencedetect=noise=${noiseDb}dB:d=${minSilenceSec}`;
}

/** The lines of one channel from silencedetect with mono=1 (`channel: N | silence_start: X`). */
function channelLines(lines: readonly string[], channel: number): string[] {
  const tag = `channel: ${channel} |`;
  return lines.filter((line) => line.includes(tag));
}

/** Seconds for an ffmpeg option, in microseconds precision without exponent notation. */
function seconds(value: number): string {
  return value.toFixed(6);
}

/**
 * silencedetect prints `silence_start: X` and later `silence_end: Y | silence_duration: Z`; a
 * silence still open at end of input has no end and lasts until durationSec.
 */
export function parseSilenceDetect(lines: Iterable<string>, durationSec: number): SilenceInterval[] {
  const silences: SilenceInterval[] = [];
  let openStart: number | undefined;
  const number = String.raw`(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)`;
  const startRe = new RegExp(`silence_start:\\s*${number}`);
  const endRe = new RegExp(`silence_end:\\s*${number}`);
  for (const line of lines) {
    const start = startRe.exec(line);
    if (start?.[1] !== undefined) {
      openStart = Number(start[1]);
      continue;
    }
    const end = endRe.exec(line);
    if (end?.[1] !== undefined) {
      silences.push({ startSec: openStart ?? 0, endSec: Number(end[1]) });
      openStart = undefined;
    }
  }
  if (openStart !== undefined) silences.push({ startSec: openStart, endSec: durationSec });
  return silences;
}

/**
 * Speech = the complement of the silences within [0, durationSec], in seconds rounded to 2 decimals,
 * without specks shorter than MIN_SPEECH_SEC.
 */
export function trimSilenceIntervalsToSpeech(
  silences: readonly SilenceInterval[],
  durationSec: number,
): SpeechInterval[] {
  if (!(durationSec > 0)) return [];
  const clipped = silences
    .map((s) => ({ startSec: Math.max(0, s.startSec), endSec: Math.min(durationSec, s.endSec) }))
    .filter((s) => s.endSec > s.startSec)
    .sort((a, b) => a.startSec - b.startSec);

  const speech: SpeechInterval[] = [];
  let cursor = 0;
  const emit = (startSec: number, endSec: number) => {
    const start = round2(startSec);
    const end = round2(endSec);
    if (end - start >= MIN_SPEECH_SEC - 1e-9) speech.push({ startSec: start, endSec: end });
  };
  for (const silence of clipped) {
    if (silence.startSec > cursor) emit(cursor, silence.startSec);
    cursor = Math.max(cursor, silence.endSec);
  }
  if (cursor < durationSec) emit(cursor, durationSec);
  return speech;
}

/**
 * Duration a RIFF/WAVE header promises (data chunk size / byte rate), or undefined when the head is
 * not WAVE or the size is a streaming placeholder (0 or 0xFFFFFFFF, or RF64). ffprobe estimates a
 * cut-short WAV's duration from the bytes present, so only the header still tells what is missing.
 */
export function declaredWavDuration(head: Uint8Array): number | undefined {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const tag = (offset: number) =>
    offset + 4 <= head.byteLength ? String.fromCharCode(...head.subarray(offset, offset + 4)) : "";
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE") return undefined;

  let byteRate: number | undefined;
  let offset = 12;
  while (offset + 8 <= head.byteLength) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    if (id === "fmt " && offset + 16 <= head.byteLength) {
      byteRate = view.getUint32(offset + 8 + 8, true);
    } else if (id === "data") {
      if (byteRate === undefined || byteRate === 0 || size === 0 || size === 0xffffffff) return undefined;
      return size / byteRate;
    }
    offset += 8 + size + (size % 2); // chunks are word-aligned
  }
  return undefined;
}

/**
 * True when a declared duration and the decoded one differ by more than
 * max(DURATION_MISMATCH_MIN_SEC, DURATION_MISMATCH_RATIO × decoded), either way round.
 */
export function isDurationMismatch(declaredSec: number, decodedSec: number): boolean {
  if (!(declaredSec > 0)) return false;
  const tolerance = Math.max(DURATION_MISMATCH_MIN_SEC, DURATION_MISMATCH_RATIO * decodedSec);
  return Math.abs(declaredSec - decodedSec) > tolerance;
}

export function isTruncated(declaredSec: number, decodedSec: number): boolean {
  if (!(declaredSec > 0)) return false;
  const slack = Math.max(TRUNCATION_MIN_SHORTFALL_SEC, TRUNCATION_MAX_SHORTFALL_RATIO * declaredSec);
  return declaredSec - decodedSec > slack;
}

interface DecodeCheck {
  decodedSec: number;
  /** ffmpeg said the container duration is only a bitrate-based estimate. */
  durationEstimated: boolean;
}

/** Decodes the whole first audio stream to nowhere, measuring how much of it actually decodes. */
async function decodeCheck(cmd: FfmpegCommand, filePath: string): Promise<DecodeCheck> {
  let decodedUs = 0;
  let durationEstimated = false;
  cmd
    // -progress goes around the log level, so warnings and the final position arrive together.
    .inputOptions(["-nostdin", "-nostats", "-v", "warning", "-progress", "pipe:2"])
    .outputOptions(["-map", "0:a:0"])
    .format("null")
    .output("-")
    .on("stderr", (line: string) => {
      const position = /^out_time_(?:us|ms)=(\d+)/.exec(line);
      if (position?.[1] !== undefined) decodedUs = Math.max(decodedUs, Number(position[1]));
      if (line.includes("Estimating duration from bitrate")) durationEstimated = true;
    });
  await runCommand(cmd).catch((err: unknown) => {
    throw toolFailure(err, "The recording could not be decoded.", { filePath });
  });
  return { decodedSec: decodedUs / 1e6, durationEstimated };
}

function containerDuration(data: FfprobeData, stream: FfprobeStream): number | undefined {
  return positive(data.format.duration) ?? positive(stream.duration);
}

async function readHead(filePath: string): Promise<Uint8Array> {
  const handle = await open(filePath, "r");
  try {
    const buffer = new Uint8Array(WAV_HEADER_READ_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** fluent-ffmpeg 2.1.x resolves binaries through these per-command methods (see lib/capabilities.js). */
interface BinaryResolvers {
  _getFfmpegPath(callback: (err: Error | null, path: string) => void): void;
  _getFfprobePath(callback: (err: Error | null, path: string) => void): void;
}

interface Binaries {
  ffmpeg: string;
  ffprobe: string;
}

/**
 * Binaries are located here rather than by fluent-ffmpeg for two reasons: its setFfmpegPath /
 * setFfprobePath write a module-wide cache (one instance's paths would leak into every other), and
 * when ffmpeg is missing fluent-ffmpeg 2.1.3 throws an uncatchable TypeError from its error path
 * instead of reporting it. Successful look-ups are cached; failures are retried next time.
 */
function binaryLocator(
  searchPath: string,
  ffmpegPath?: string,
  ffprobePath?: string,
): () => Promise<Binaries> {
  let found: Binaries | undefined;
  return async () => {
    if (!found) {
      const [ffmpegBin, ffprobeBin] = await Promise.all([
        locateExecutable(ffmpegPath ?? "ffmpeg", searchPath),
        locateExecutable(ffprobePath ?? "ffprobe", searchPath),
      ]);
      found = { ffmpeg: ffmpegBin, ffprobe: ffprobeBin };
    }
    return found;
  };
}

/** Where Debian installs ffmpeg, when no search path is given. */
const DEFAULT_SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

async function locateExecutable(nameOrPath: string, searchPath: string): Promise<string> {
  const candidates = nameOrPath.includes("/")
    ? [nameOrPath]
    : searchPath
        .split(delimiter)
        .filter((dir) => dir !== "")
        .map((dir) => join(dir, nameOrPath));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  throw new AppError("INTERNAL", `${nameOrPath} is not installed or not executable.`, {
    context: { binary: nameOrPath },
  });
}

function pinBinaryPaths(cmd: FfmpegCommand, binaries: Binaries): FfmpegCommand {
  const resolvers = cmd as unknown as BinaryResolvers;
  resolvers._getFfmpegPath = (callback) => callback(null, binaries.ffmpeg);
  resolvers._getFfprobePath = (callback) => callback(null, binaries.ffprobe);
  return cmd;
}

function ffprobe(cmd: FfmpegCommand): Promise<FfprobeData> {
  return new Promise((resolve, reject) => {
    // fluent-ffmpeg passes only these options to ffprobe (not the command's input options).
    cmd.ffprobe(0, ["-hide_banner", ...INPUT_GUARD], (err: unknown, data: FfprobeData) => {
      if (err) reject(err);
      else resolve(data);
    });
  });
}

function runCommand(cmd: FfmpegCommand): Promise<void> {
  return new Promise((resolve, reject) => {
    cmd.on("error", (err: Error, _stdout: string | null, stderr: string | null) => {
      reject(Object.assign(err, { stderr: stderr ?? "" }));
    });
    cmd.on("end", () => resolve());
    cmd.run();
  });
}

/**
 * A missing binary or a killed (timed-out) process is our failure, not the file's: those must not
 * fail a customer's call as unreadable.
 */
function toolFailure(err: unknown, message: string, context: Record<string, unknown>): AppError {
  const detail = err instanceof Error ? err.message : String(err);
  if (/ENOENT|EACCES|Cannot find ff(mpeg|probe)/i.test(detail)) {
    return new AppError("INTERNAL", `ffmpeg is not available: ${firstLine(detail)}`, { cause: err, context });
  }
  const stderr = String((err as { stderr?: unknown })?.stderr ?? "");
  // Killed by the signal, or ffmpeg's own handler: "Exiting normally, received signal 2."
  const signal =
    /killed with signal (SIG[A-Z]+)/i.exec(detail)?.[1] ??
    SIGNAL_NAMES[Number(/received signal (\d+)/i.exec(`${detail}\n${stderr}`)?.[1])];
  if (signal && STOP_SIGNALS.has(signal)) {
    // A terminal's Ctrl-C reaches ffmpeg too: the server is stopping; the step resumes after the restart.
    return new AppError("INTERNAL", `ffmpeg was stopped by ${signal}.`, {
      cause: err,
      interrupted: true,
      context,
    });
  }
  if (/killed with signal|timeout/i.test(detail)) {
    return new AppError("INTERNAL", "ffmpeg took too long and was stopped.", {
      cause: err,
      retryable: true,
      context,
    });
  }
  if (/not on whitelist/i.test(detail)) {
    return unreadable(
      `The file is not an accepted audio format (${ACCEPTED_DEMUXERS.join(", ")}): playlists, scripts, video and images are refused.`,
      { ...context, reason: lastLines(detail) },
      err,
    );
  }
  return unreadable(message, { ...context, reason: lastLines(detail) }, err);
}

/** The stop signals by number, as ffmpeg reports them. */
const SIGNAL_NAMES: Record<number, string> = { 1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 15: "SIGTERM" };

function unreadable(message: string, context: Record<string, unknown>, cause?: unknown): AppError {
  return new AppError("MEDIA_UNREADABLE", message, cause === undefined ? { context } : { context, cause });
}

function positive(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-3).join("\n").slice(0, 500);
}
