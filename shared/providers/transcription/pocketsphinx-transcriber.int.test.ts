import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type SynthesizedCall,
  type SynthesizedTurn,
  sampleDialogues,
  synthesizeCall,
  synthesizeMono,
} from "../../../scripts/fixtures/synthesize-call.ts";
import { createFfmpegAudioTools } from "../../audio/ffmpeg-audio-tools.ts";
import { AppError } from "../../errors/app-error.ts";
import { createPocketSphinxTranscriber } from "./pocketsphinx-transcriber.ts";
import type { TranscriptionResult } from "./transcriber.ts";

/** Content words of dialogue 0's operator lines (function words are too easy to hit by chance). */
const OPERATOR_WORDS = [
  "hello",
  "thank",
  "calling",
  "support",
  "name",
  "help",
  "today",
  "problem",
  "company",
  "phone",
  "number",
  "account",
  "send",
  "invoice",
  "email",
  "welcome",
  "nice",
  "goodbye",
];
/** Content words only the client says in dialogue 0. */
const CLIENT_ONLY_WORDS = ["copy", "month", "find", "green", "garden", "five", "great", "much"];
/** Content words only the operator says in dialogue 0. */
const OPERATOR_ONLY_WORDS = ["support", "calling", "problem", "tell", "email", "welcome", "goodbye", "nice"];
const TIME_TOLERANCE_SEC = 0.5;

const transcriber = createPocketSphinxTranscriber();
let dir: string;
let call: SynthesizedCall;
let left: string;
let operator: TranscriptionResult;
let client: TranscriptionResult;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tyndau-sphinx-"));
  // 16 kHz: the en-us model is wideband; 8 kHz telephone audio recognises far worse (see report).
  call = await synthesizeCall(sampleDialogues[0]!, join(dir, "call.wav"), { sampleRate: 16_000 });
  const out = join(dir, "split");
  await mkdir(out);
  const split = await createFfmpegAudioTools().split(call.path, 2, out, call.durationSec);
  if (split.kind !== "stereo") throw new Error("expected a stereo split");
  left = split.left;
  [operator, client] = await Promise.all([
    transcriber.transcribe({ filePath: split.left, durationSec: call.durationSec, language: "en" }),
    transcriber.transcribe({ filePath: split.right, durationSec: call.durationSec }),
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const wordsOf = (result: TranscriptionResult) =>
  new Set(result.segments.flatMap((s) => s.text.toLowerCase().split(/\s+/)));
const turnsOf = (speaker: SynthesizedTurn["speaker"]) => call.turns.filter((t) => t.speaker === speaker);

describe("PocketSphinx on a synthesized call", () => {
  it("reports English and the audio duration", () => {
    expect(operator.language).toBe("en");
    expect(operator.usage.audioSec).toBe(call.durationSec);
  });

  it("recognises most of the operator's key words on the operator channel", () => {
    const heard = wordsOf(operator);
    const hits = OPERATOR_WORDS.filter((w) => heard.has(w));
    expect(hits.length / OPERATOR_WORDS.length, `heard: ${[...heard].join(" ")}`).toBeGreaterThanOrEqual(0.5);
  });

  it("hears the client, not the operator, on the client channel", () => {
    const heard = wordsOf(client);
    const clientHits = CLIENT_ONLY_WORDS.filter((w) => heard.has(w));
    expect(
      clientHits.length / CLIENT_ONLY_WORDS.length,
      `heard: ${[...heard].join(" ")}`,
    ).toBeGreaterThanOrEqual(0.5);
    expect(OPERATOR_ONLY_WORDS.filter((w) => heard.has(w))).toEqual([]);
  });

  it("hears no client-only words on the operator channel", () => {
    const heard = wordsOf(operator);
    expect(CLIENT_ONLY_WORDS.filter((w) => heard.has(w))).toEqual([]);
  });

  it.each(["operator", "client"] as const)(
    "places every %s segment inside one of that side's turns",
    (speaker) => {
      const result = speaker === "operator" ? operator : client;
      const turns = turnsOf(speaker);
      expect(result.segments.length).toBeGreaterThanOrEqual(turns.length);
      for (const segment of result.segments) {
        const turn = turns.find(
          (t) =>
            segment.startSec >= t.startSec - TIME_TOLERANCE_SEC &&
            segment.endSec <= t.endSec + TIME_TOLERANCE_SEC,
        );
        expect(turn, `${segment.startSec}–${segment.endSec} "${segment.text}"`).toBeDefined();
      }
      // And every turn is heard.
      for (const turn of turns) {
        expect(
          result.segments.some((s) => s.startSec < turn.endSec && s.endSec > turn.startSec),
          turn.text,
        ).toBe(true);
      }
    },
  );

  it("keeps word timings inside their segment and in order", () => {
    for (const segment of [...operator.segments, ...client.segments]) {
      const words = segment.words ?? [];
      expect(words.map((w) => w.word).join(" ")).toBe(segment.text);
      for (const [k, w] of words.entries()) {
        expect(w.startSec).toBeGreaterThanOrEqual(segment.startSec);
        expect(w.endSec).toBeLessThanOrEqual(segment.endSec);
        if (k > 0) expect(w.startSec).toBeGreaterThanOrEqual(words[k - 1]!.endSec);
      }
    }
  });
});

describe("PocketSphinx failures", () => {
  async function failure(promise: Promise<unknown>): Promise<AppError> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("TRANSCRIPTION_FAILED");
    return err as AppError;
  }

  it("a missing file fails without retry", async () => {
    const err = await failure(transcriber.transcribe({ filePath: join(dir, "missing.wav"), durationSec: 1 }));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/missing\.wav/);
  });

  it("a WAV at the wrong sample rate fails with the reason", async () => {
    const narrowband = join(dir, "narrowband.wav");
    await synthesizeMono({ turns: [{ speaker: "operator", text: "Hello." }] }, narrowband, {
      sampleRate: 8000,
    });
    const err = await failure(transcriber.transcribe({ filePath: narrowband, durationSec: 1 }));
    expect(err.message).toMatch(/sample rate/i);
  });

  it("a missing binary fails without retry", async () => {
    const broken = createPocketSphinxTranscriber({ binary: "/nonexistent/pocketsphinx_continuous" });
    const err = await failure(broken.transcribe({ filePath: left, durationSec: call.durationSec }));
    expect(err.retryable).toBe(false);
  });

  it("a run past the time limit is killed and retryable", async () => {
    const slow = createPocketSphinxTranscriber({ timeoutMs: 50 });
    const err = await failure(slow.transcribe({ filePath: left, durationSec: call.durationSec }));
    expect(err.retryable).toBe(true);
  });

  it("an aborted run is killed and retryable", async () => {
    const controller = new AbortController();
    const pending = transcriber.transcribe({
      filePath: left,
      durationSec: call.durationSec,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error("shutting down")), 50);
    const err = await failure(pending);
    expect(err.retryable).toBe(true);
  });

  it("a file that is not a WAV fails instead of yielding invented words", async () => {
    const text = join(dir, "text.wav");
    await writeFile(text, "not audio at all\n".repeat(10));
    const err = await failure(transcriber.transcribe({ filePath: text, durationSec: 1 }));
    expect(err.retryable).toBe(false);
  });
});
