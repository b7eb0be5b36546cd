import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type SynthesizedCall,
  sampleDialogues,
  synthesizeMono,
} from "../../../scripts/fixtures/synthesize-call.ts";
import type { SpeechInterval } from "../../audio/audio-tools.ts";
import { createFfmpegAudioTools } from "../../audio/ffmpeg-audio-tools.ts";
import { AppError } from "../../errors/app-error.ts";
import { createChunkedTranscriber, planChunks } from "./chunked-transcriber.ts";
import { createPocketSphinxTranscriber } from "./pocketsphinx-transcriber.ts";
import type { TranscribeInput, Transcriber, TranscriptionResult } from "./transcriber.ts";

const TOLERANCE_SEC = 0.3;
const audio = createFfmpegAudioTools();
/**
 * The script pauses 0.7 s between turns; PocketSphinx's default 0.8 s word gap would merge the turns of
 * this one-channel mix into long segments that any cut splits, so segments here end at 0.5 s pauses.
 */
const sphinx = createPocketSphinxTranscriber({ maxGapSec: 0.5 });
/** The first four turns of sample dialogue 0: about 25 s, enough for several 8-second pieces. */
const script = { ...sampleDialogues[0]!, turns: sampleDialogues[0]!.turns.slice(0, 4) };
const MAX_SEC = 8;
let dir: string;
let scratch: string;
let call: SynthesizedCall;
let intervals: SpeechInterval[];
let whole: TranscriptionResult;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tyndau-chunked-"));
  scratch = join(dir, "scratch");
  await import("node:fs/promises").then((fs) => fs.mkdir(scratch));
  call = await synthesizeMono(script, join(dir, "call.wav"), { sampleRate: 16_000 });
  intervals = await audio.speechIntervals(call.path, call.durationSec);
  whole = await sphinx.transcribe({ filePath: call.path, durationSec: call.durationSec, language: "en" });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Records what each piece looked like, answering with one segment over the whole piece. */
function probingTranscriber(): Transcriber & {
  pieces: Array<TranscribeInput & { probedSec: number; bytes: number }>;
} {
  const pieces: Array<TranscribeInput & { probedSec: number; bytes: number }> = [];
  return {
    name: "probe",
    pieces,
    async transcribe(input) {
      const probe = await audio.probe(input.filePath);
      pieces.push({ ...input, probedSec: probe.durationSec, bytes: (await stat(input.filePath)).size });
      return {
        language: "en",
        segments: [{ startSec: 0, endSec: input.durationSec, text: `piece ${pieces.length}` }],
        usage: { audioSec: input.durationSec },
      };
    },
  };
}

describe("createChunkedTranscriber on a synthesized call", () => {
  it("the call is long enough to need several pieces", () => {
    expect(call.durationSec).toBeGreaterThan(3 * MAX_SEC);
    expect(intervals.length).toBeGreaterThanOrEqual(4);
  });

  it("cuts sample-exact pieces at the planned silences and tiles them back in order", async () => {
    const inner = probingTranscriber();
    const chunked = createChunkedTranscriber(inner, { audio, maxSec: MAX_SEC, tmpDir: scratch });
    const result = await chunked.transcribe({
      filePath: call.path,
      durationSec: call.durationSec,
      intervals,
    });
    const plan = planChunks(intervals, call.durationSec, { maxChunkSec: MAX_SEC });
    expect(plan.length).toBeGreaterThanOrEqual(3);
    expect(inner.pieces).toHaveLength(plan.length);
    for (const [i, piece] of inner.pieces.entries()) {
      const chunk = plan[i]!;
      expect(piece.durationSec).toBeCloseTo(chunk.endSec - chunk.startSec, 9);
      // ffmpeg's cut is exact to a sample (1/16000 s).
      expect(Math.abs(piece.probedSec - piece.durationSec)).toBeLessThan(2 / 16_000);
      expect(piece.durationSec).toBeLessThanOrEqual(MAX_SEC);
      // The piece's intervals are the file's intervals moved to its own time.
      for (const iv of piece.intervals ?? []) {
        expect(iv.startSec).toBeGreaterThanOrEqual(0);
        expect(iv.endSec).toBeLessThanOrEqual(piece.durationSec + 1e-9);
      }
    }
    expect(result.segments.map((s) => [s.startSec, s.endSec])).toEqual(
      plan.map((c) => [c.startSec, c.endSec]),
    );
    expect(result.usage.audioSec).toBeCloseTo(call.durationSec, 6);
    expect(plan.every((c) => c.endsInSilence)).toBe(true);
    // The pieces were deleted.
    expect(await readdir(scratch)).toEqual([]);
  });

  it("passes a file within the limits through untouched", async () => {
    const inner = probingTranscriber();
    const chunked = createChunkedTranscriber(inner, { audio, maxSec: 600, maxBytes: 50 * 1024 * 1024 });
    await chunked.transcribe({ filePath: call.path, durationSec: call.durationSec });
    expect(inner.pieces.map((p) => p.filePath)).toEqual([call.path]);
  });

  it("turns a byte limit into pieces under that many bytes, finding the silences itself", async () => {
    const inner = probingTranscriber();
    const maxBytes = 250_000; // ≈ 7.7 s of 16 kHz 16-bit mono
    const chunked = createChunkedTranscriber(inner, { audio, maxBytes, tmpDir: scratch });
    await chunked.transcribe({ filePath: call.path, durationSec: call.durationSec });
    expect(inner.pieces.length).toBeGreaterThanOrEqual(4);
    expect(inner.pieces.every((p) => (p.intervals ?? []).length > 0)).toBe(true);
    for (const piece of inner.pieces) expect(piece.bytes).toBeLessThanOrEqual(maxBytes);
  });

  it("stitched PocketSphinx segments match those of the whole file within 0.3 s", async () => {
    const chunked = createChunkedTranscriber(sphinx, {
      audio,
      maxSec: MAX_SEC,
      concurrency: 3,
      tmpDir: scratch,
    });
    const stitched = await chunked.transcribe({
      filePath: call.path,
      durationSec: call.durationSec,
      language: "en",
    });
    expect(stitched.language).toBe("en");
    expect(whole.segments.length).toBeGreaterThanOrEqual(script.turns.length);
    expect(stitched.segments).toHaveLength(whole.segments.length);
    for (const [i, segment] of stitched.segments.entries()) {
      const reference = whole.segments[i]!;
      const label = `#${i} "${segment.text}" vs "${reference.text}"`;
      expect(Math.abs(segment.startSec - reference.startSec), label).toBeLessThanOrEqual(TOLERANCE_SEC);
      expect(Math.abs(segment.endSec - reference.endSec), label).toBeLessThanOrEqual(TOLERANCE_SEC);
    }
    // And the times are the call's, not the pieces': the last segment lies in the last turn.
    const lastTurn = call.turns.at(-1)!;
    expect(stitched.segments.at(-1)!.endSec).toBeGreaterThan(lastTurn.startSec);
  });

  it("a failing piece fails the whole file and stops the other pieces", async () => {
    let calls = 0;
    const failing: Transcriber = {
      name: "flaky",
      async transcribe(input) {
        calls++;
        if (calls === 2) throw new AppError("TRANSCRIPTION_FAILED", "boom", { retryable: true });
        return { language: "en", segments: [], usage: { audioSec: input.durationSec } };
      },
    };
    const chunked = createChunkedTranscriber(failing, { audio, maxSec: 5, tmpDir: scratch });
    await expect(
      chunked.transcribe({ filePath: call.path, durationSec: call.durationSec, intervals }),
    ).rejects.toMatchObject({
      code: "TRANSCRIPTION_FAILED",
      retryable: true,
    });
    expect(calls).toBe(2);
    expect(await readdir(scratch)).toEqual([]);
  });
});
