import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type SynthesizedCall,
  sampleDialogues,
  synthesizeCall,
  synthesizeMono,
} from "../../scripts/fixtures/synthesize-call.ts";
import {
  concatScriptOf,
  hlsPlaylistOf,
  lyingMatroska,
  transportStream,
  videoWithAudio,
  wavWithTwoDataChunks,
} from "../../test/harness/lying-media.ts";
import { computeConversationMetrics } from "../analytics/conversation-metrics.ts";
import { AppError } from "../errors/app-error.ts";
import type { SpeechInterval } from "./audio-tools.ts";
import { createFfmpegAudioTools } from "./ffmpeg-audio-tools.ts";

const run = promisify(execFile);
const tools = createFfmpegAudioTools();
/** Allowed error (seconds) of a detected speech boundary against the script's true boundary. */
const BOUNDARY_TOLERANCE_SEC = 0.3;

let dir: string;
let call: SynthesizedCall;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tyndau-ffmpeg-"));
  // Default 8 kHz: what telephony recorders deliver.
  call = await synthesizeCall(sampleDialogues[0]!, join(dir, "call.wav"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function unreadable(
  promise: Promise<unknown>,
  code: "MEDIA_UNREADABLE" | "MEDIA_DURATION_MISMATCH" = "MEDIA_UNREADABLE",
): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  return err as AppError;
}

async function truncate(source: string, target: string, keepRatio: number): Promise<string> {
  const bytes = await readFile(source);
  await writeFile(target, bytes.subarray(0, Math.floor(bytes.length * keepRatio)));
  return target;
}

describe("probe", () => {
  it("reads a synthesized stereo WAV", async () => {
    const probe = await tools.probe(call.path);
    expect(Math.abs(probe.durationSec - call.durationSec)).toBeLessThan(0.1);
    expect(probe).toMatchObject({ channels: 2, sampleRate: 8000, codec: "pcm_s16le", formatName: "wav" });
  });

  it.each([
    ["mp3", ["-c:a", "libmp3lame", "-b:a", "64k"], "mp3", "mp3"],
    ["ogg", ["-c:a", "libvorbis"], "vorbis", "ogg"],
    ["flac", ["-c:a", "flac"], "flac", "flac"],
  ])("reads the call converted to %s", async (ext, codecArgs, codec, format) => {
    const path = join(dir, `call.${ext}`);
    await run("ffmpeg", ["-v", "error", "-y", "-i", call.path, ...codecArgs, path]);
    const probe = await tools.probe(path);
    expect(probe.channels).toBe(2);
    expect(probe.sampleRate).toBe(8000);
    expect(probe.codec).toBe(codec);
    expect(probe.formatName).toContain(format);
    // MP3 frames pad the end by a fraction of a frame.
    expect(Math.abs(probe.durationSec - call.durationSec)).toBeLessThan(0.2);
  });

  it("detects the format by content, whatever the file is called", async () => {
    const mp3 = join(dir, "content.mp3");
    await run("ffmpeg", ["-v", "error", "-y", "-i", call.path, "-c:a", "libmp3lame", mp3]);
    const misnamed = join(dir, "recording-without-extension");
    await copyFile(mp3, misnamed);
    const probe = await tools.probe(misnamed);
    expect(probe.codec).toBe("mp3");
    expect(probe.channels).toBe(2);
  });

  it("rejects a text file named .wav", async () => {
    const path = join(dir, "notes.wav");
    await writeFile(path, "This is a meeting note, not a recording.\n".repeat(40));
    await unreadable(tools.probe(path));
  });

  it("rejects an empty file", async () => {
    const path = join(dir, "empty.wav");
    await writeFile(path, "");
    const err = await unreadable(tools.probe(path));
    expect(err.message).toMatch(/empty/i);
  });

  it("rejects a WAV cut short in transit", async () => {
    const path = await truncate(call.path, join(dir, "cut.wav"), 0.5);
    const err = await unreadable(tools.probe(path));
    expect(err.message).toMatch(/truncated/i);
    // Cut by less than the 2 s / 5 % mismatch tolerance but more than the truncation slack: still refused.
    const bytes = await readFile(call.path);
    const slightly = join(dir, "cut-slightly.wav");
    await writeFile(slightly, bytes.subarray(0, bytes.length - 8000 * 4)); // 1 s short
    expect((await unreadable(tools.probe(slightly))).message).toMatch(/truncated/i);
  });

  it("rejects a WAV cut inside its header", async () => {
    await unreadable(tools.probe(await truncate(call.path, join(dir, "header-only.wav"), 0.00005)));
  });

  it.each([
    ["mp3", ["-c:a", "libmp3lame"]],
    ["flac", ["-c:a", "flac"]],
  ])("rejects a truncated %s", async (ext, codecArgs) => {
    const whole = join(dir, `whole.${ext}`);
    await run("ffmpeg", ["-v", "error", "-y", "-i", call.path, ...codecArgs, whole]);
    await unreadable(tools.probe(await truncate(whole, join(dir, `cut.${ext}`), 0.5)));
  });

  it("rejects a file with no audio stream", async () => {
    const path = join(dir, "picture.png");
    await run("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "color=c=red:s=16x16",
      "-frames:v",
      "1",
      path,
    ]);
    const err = await unreadable(tools.probe(path));
    expect(err.message).toMatch(/not an accepted audio format/i);
  });

  it("does not blame the file when ffprobe or ffmpeg itself is missing", async () => {
    for (const broken of [
      createFfmpegAudioTools({ ffprobePath: "/nonexistent/ffprobe" }),
      createFfmpegAudioTools({ ffmpegPath: "/nonexistent/ffmpeg" }),
    ]) {
      const err = await broken.probe(call.path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe("INTERNAL");
    }
    // Paths stay per instance: the default tools still work.
    expect((await tools.probe(call.path)).channels).toBe(2);
  });

  it("uses explicitly configured binaries", async () => {
    const explicit = createFfmpegAudioTools({
      ffmpegPath: "/usr/bin/ffmpeg",
      ffprobePath: "/usr/bin/ffprobe",
    });
    expect((await explicit.probe(call.path)).channels).toBe(2);
  });
});

describe("probe: what is billed is what decodes (PRODUCT.md)", () => {
  it("refuses a Matroska file whose Segment Duration says 0.5 s but which decodes to 120 s", async () => {
    const path = await lyingMatroska(join(dir, "lie.mkv"), 120, 0.5);
    const err = await unreadable(tools.probe(path), "MEDIA_DURATION_MISMATCH");
    expect(err.message).toMatch(/120\.0 s.*0\.5 s/);
  });

  it("bills the decoded length when the container's claim is off by less than the tolerance", async () => {
    const path = await lyingMatroska(join(dir, "close.mkv"), 30, 29);
    const probe = await tools.probe(path);
    expect(Math.abs(probe.durationSec - 30)).toBeLessThan(0.1);
  });

  it("measures a WAV with two data chunks by all that decodes, never the first chunk's header alone", async () => {
    const path = join(dir, "two-data.wav");
    await writeFile(path, wavWithTwoDataChunks(0.5, 30));
    const probe = await tools.probe(path).catch((e: unknown) => e);
    // ffmpeg plays the chunk its header scan settles on: either way, 0.5 s is never what is billed.
    if (probe instanceof AppError) expect(probe.code).toBe("MEDIA_DURATION_MISMATCH");
    else expect((probe as { durationSec: number }).durationSec).toBeGreaterThanOrEqual(29.9);
  });
});

describe("probe: only audio files, opened by the accepted demuxers, reading nothing else", () => {
  it("refuses an HLS playlist naming a local file, without decoding that file", async () => {
    const segment = await transportStream(join(dir, "private.ts"), 3);
    const path = join(dir, "playlist-upload");
    await writeFile(path, hlsPlaylistOf(segment, 3));
    const err = await unreadable(tools.probe(path));
    expect(err.message).toMatch(/not an accepted audio format/i);
    await unreadable(tools.split(path, 1, join(dir), 3));
  });

  it("refuses a concat script naming a local file", async () => {
    const wav = join(dir, "local.wav");
    await run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=2", wav]);
    const path = join(dir, "concat-upload");
    await writeFile(path, concatScriptOf("local.wav"));
    const err = await unreadable(tools.probe(path));
    expect(err.message).toMatch(/not an accepted audio format/i);
  });

  it("refuses a video file with a sound track, and an image", async () => {
    const video = await videoWithAudio(join(dir, "clip.mp4"), 2);
    expect((await unreadable(tools.probe(video))).message).toMatch(/video/i);
    const png = join(dir, "image-upload");
    await run("ffmpeg", [
      ...["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=blue:s=16x16", "-frames:v", "1"],
      ...["-f", "image2", "-c:v", "png", png],
    ]);
    await unreadable(tools.probe(png));
  });

  it("still reads an MP3 with a cover picture", async () => {
    const cover = join(dir, "cover.png");
    await run("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "color=c=red:s=16x16",
      "-frames:v",
      "1",
      cover,
    ]);
    const mp3 = join(dir, "with-cover.mp3");
    await run("ffmpeg", [
      ...["-v", "error", "-y", "-i", call.path, "-i", cover, "-map", "0:a", "-map", "1:v"],
      ...["-c:a", "libmp3lame", "-c:v", "png", "-disposition:v", "attached_pic", mp3],
    ]);
    expect((await tools.probe(mp3)).channels).toBe(2);
  });
});

describe("split", () => {
  it("writes the two channels as 16 kHz mono PCM WAVs", async () => {
    const out = join(dir, "split-stereo");
    await mkdir(out);
    const split = await tools.split(call.path, 2, out, call.durationSec);
    expect(split).toEqual({ kind: "stereo", left: join(out, "left.wav"), right: join(out, "right.wav") });
    if (split.kind !== "stereo") return;
    for (const path of [split.left, split.right]) {
      const probe = await tools.probe(path);
      expect(probe).toMatchObject({ channels: 1, sampleRate: 16_000, codec: "pcm_s16le", formatName: "wav" });
      expect(Math.abs(probe.durationSec - call.durationSec)).toBeLessThan(0.1);
    }
  });

  it("writes a mono recording as one 16 kHz track", async () => {
    const mono = await synthesizeMono(
      {
        turns: [
          { speaker: "operator", text: "Hello there." },
          { speaker: "client", text: "Good morning." },
        ],
      },
      join(dir, "mono-call.wav"),
    );
    const probe = await tools.probe(mono.path);
    expect(probe.channels).toBe(1);
    const out = join(dir, "split-mono");
    await mkdir(out);
    const split = await tools.split(mono.path, 1, out, mono.durationSec);
    expect(split).toEqual({ kind: "mono", mono: join(out, "mono.wav") });
    if (split.kind !== "mono") return;
    const track = await tools.probe(split.mono);
    expect(track).toMatchObject({ channels: 1, sampleRate: 16_000, codec: "pcm_s16le" });
    expect(Math.abs(track.durationSec - mono.durationSec)).toBeLessThan(0.1);
  });

  it("writes at most maxSec (the billed duration) whatever the input holds", async () => {
    const long = join(dir, "long-for-split.mkv");
    await lyingMatroska(long, 20, 20);
    const out = join(dir, "split-bounded");
    await mkdir(out);
    const split = await tools.split(long, 2, out, 3);
    if (split.kind !== "stereo") throw new Error("expected a stereo split");
    for (const side of [split.left, split.right]) {
      expect(Math.abs((await tools.probe(side)).durationSec - 3)).toBeLessThan(0.05);
    }
  });

  it("rejects input ffmpeg cannot decode", async () => {
    const path = join(dir, "garbage.wav");
    await writeFile(path, Buffer.from("RIFF\u0000\u0000\u0000\u0000garbage garbage garbage"));
    const out = join(dir, "split-garbage");
    await mkdir(out);
    await unreadable(tools.split(path, 2, out, 10));
  });
});

describe("speechIntervals", () => {
  let left: SpeechInterval[];
  let right: SpeechInterval[];

  beforeAll(async () => {
    const out = join(dir, "split-speech");
    await mkdir(out);
    const split = await tools.split(call.path, 2, out, call.durationSec);
    if (split.kind !== "stereo") throw new Error("expected a stereo split");
    [left, right] = await Promise.all([
      tools.speechIntervals(split.left, call.durationSec),
      tools.speechIntervals(split.right, call.durationSec),
    ]);
  });

  it("gives from the split's own pass exactly what decoding the written file again gives", async () => {
    const out = join(dir, "split-speech-again");
    await mkdir(out);
    const split = await tools.split(call.path, 2, out, call.durationSec);
    if (split.kind !== "stereo") throw new Error("expected a stereo split");
    // A fresh instance has no results of a split: it runs silencedetect on the file.
    const decoded = createFfmpegAudioTools();
    expect(await decoded.speechIntervals(split.left, call.durationSec)).toEqual(left);
    expect(await decoded.speechIntervals(split.right, call.durationSec)).toEqual(right);
    // A file rewritten after the split is measured anew, not answered from the split's pass.
    await copyFile(split.right, split.left);
    expect(await tools.speechIntervals(split.left, call.durationSec)).toEqual(right);
  });

  it.each(["operator", "client"] as const)("finds each %s turn's start and end", (speaker) => {
    const intervals = speaker === "operator" ? left : right;
    const turns = call.turns.filter((t) => t.speaker === speaker);
    expect(intervals.length).toBeGreaterThanOrEqual(turns.length);
    for (const turn of turns) {
      const starts = intervals.map((i) => Math.abs(i.startSec - turn.startSec));
      const ends = intervals.map((i) => Math.abs(i.endSec - turn.endSec));
      expect(Math.min(...starts), `start of "${turn.text}"`).toBeLessThanOrEqual(BOUNDARY_TOLERANCE_SEC);
      expect(Math.min(...ends), `end of "${turn.text}"`).toBeLessThanOrEqual(BOUNDARY_TOLERANCE_SEC);
    }
  });

  it.each(["operator", "client"] as const)("finds no %s speech outside that side's turns", (speaker) => {
    const intervals = speaker === "operator" ? left : right;
    const turns = call.turns.filter((t) => t.speaker === speaker);
    for (const interval of intervals) {
      const inside = turns.some(
        (t) =>
          interval.startSec >= t.startSec - BOUNDARY_TOLERANCE_SEC &&
          interval.endSec <= t.endSec + BOUNDARY_TOLERANCE_SEC,
      );
      expect(inside, JSON.stringify(interval)).toBe(true);
    }
  });

  it("returns ordered, disjoint intervals rounded to two decimals within the recording", () => {
    for (const intervals of [left, right]) {
      for (const [k, i] of intervals.entries()) {
        expect(i.endSec - i.startSec).toBeGreaterThanOrEqual(0.1);
        expect(i.startSec).toBeGreaterThanOrEqual(0);
        expect(i.endSec).toBeLessThanOrEqual(call.durationSec);
        expect(Math.round(i.startSec * 100) / 100).toBe(i.startSec);
        if (k > 0) expect(i.startSec).toBeGreaterThan(intervals[k - 1]!.endSec);
      }
    }
  });

  it("measures talk time close to the script", () => {
    const metrics = computeConversationMetrics({
      operator: left,
      client: right,
      durationSec: call.durationSec,
    });
    expect(Math.abs(metrics.operatorTalkSec - call.operatorTalkSec)).toBeLessThan(1);
    expect(Math.abs(metrics.clientTalkSec - call.clientTalkSec)).toBeLessThan(1);
    expect(metrics.overlapSec).toBe(0);
    expect(metrics.interruptions).toEqual({ operator: 0, client: 0 });
  });

  it("sees a scripted interruption on the separated channels", async () => {
    const overlapping = await synthesizeCall(
      {
        turns: [
          {
            speaker: "operator",
            text: "Let me explain our prices and the plans we have for you.",
            pauseAfterSec: -1.2,
          },
          { speaker: "client", text: "Sorry, I only need the invoice." },
          { speaker: "operator", text: "Of course." },
        ],
      },
      join(dir, "interruption.wav"),
    );
    const out = join(dir, "split-interruption");
    await mkdir(out);
    const split = await tools.split(overlapping.path, 2, out, overlapping.durationSec);
    if (split.kind !== "stereo") throw new Error("expected a stereo split");
    const metrics = computeConversationMetrics({
      operator: await tools.speechIntervals(split.left, overlapping.durationSec),
      client: await tools.speechIntervals(split.right, overlapping.durationSec),
      durationSec: overlapping.durationSec,
    });
    expect(metrics.interruptions).toEqual({ operator: 0, client: 1 });
    expect(Math.abs(metrics.overlapSec - 1.2)).toBeLessThan(0.3);
  });
});
