import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type SpeechKitEmulator,
  type SpeechKitEmulatorOptions,
  startSpeechKitEmulator,
} from "../../../test/harness/yandex-speechkit-emulator.ts";
import { AppError } from "../../errors/app-error.ts";
import {
  createYandexSpeechKitTranscriber,
  splitJsonStream,
  type YandexSpeechKitTranscriberOptions,
} from "./yandex-speechkit-transcriber.ts";

const API_KEY = "AQVN-test-key";
const FOLDER = "b1g-test-folder";

/** A 16 kHz mono PCM WAV of `seconds` of a quiet sawtooth. */
function wavBytes(seconds: number): Buffer {
  const rate = 16_000;
  const samples = Math.round(seconds * rate);
  const buf = Buffer.alloc(44 + samples * 2);
  buf.write("RIFF", 0, "ascii");
  buf.writeUInt32LE(36 + samples * 2, 4);
  buf.write("WAVEfmt ", 8, "ascii");
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write("data", 36, "ascii");
  buf.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) buf.writeInt16LE(((i % 100) - 50) * 20, 44 + i * 2);
  return buf;
}

let dir: string;
let wavPath: string;
let emulator: SpeechKitEmulator | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tyndau-speechkit-"));
  wavPath = join(dir, "left.wav");
  await writeFile(wavPath, wavBytes(3));
});

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function emulate(options: SpeechKitEmulatorOptions = {}): Promise<SpeechKitEmulator> {
  emulator = await startSpeechKitEmulator({ apiKey: API_KEY, folderId: FOLDER, ...options });
  return emulator;
}

function transcriber(server: SpeechKitEmulator, overrides: Partial<YandexSpeechKitTranscriberOptions> = {}) {
  return createYandexSpeechKitTranscriber({
    apiKey: API_KEY,
    folderId: FOLDER,
    sttUrl: server.url,
    operationUrl: server.url,
    pollIntervalMs: 5,
    maxPollIntervalMs: 20,
    ...overrides,
  });
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe("TRANSCRIPTION_FAILED");
  return err as AppError;
}

describe("createYandexSpeechKitTranscriber against the emulator", () => {
  it("submits the WAV as documented, polls until done, reads and deletes the results", async () => {
    const server = await emulate({
      recognize: () => ({
        kind: "operation",
        pollsUntilDone: 3,
        utterances: [
          {
            text: "здравствуйте компания зеленый сад",
            normalizedText: "Здравствуйте, компания «Зелёный сад».",
            startMs: 350,
            endMs: 1650,
            language: "ru-RU",
          },
          {
            text: "номер пять пять пять",
            normalizedText: "Номер 555.",
            startMs: 2000,
            endMs: 2900,
            words: [
              { text: "номер", startMs: 2000, endMs: 2300 },
              { text: "пять", startMs: 2350, endMs: 2500 },
              { text: "пять", startMs: 2550, endMs: 2700 },
              { text: "пять", startMs: 2720, endMs: 2900 },
            ],
            language: "ru-RU",
          },
        ],
      }),
    });
    const stt = transcriber(server);
    expect(stt.name).toBe("yandex");

    const result = await stt.transcribe({ filePath: wavPath, durationSec: 3, language: "ru" });

    expect(result.language).toBe("ru");
    expect(result.usage).toEqual({ audioSec: 3 });
    expect(result.segments.map((s) => [s.startSec, s.endSec, s.text])).toEqual([
      [0.35, expect.closeTo(1.6, 1), "Здравствуйте, компания «Зелёный сад»."],
      [2, 2.9, "Номер 555."],
    ]);
    expect(result.segments[1]?.words?.map((w) => [w.word, w.startSec])).toEqual([
      ["номер", 2],
      ["пять", 2.35],
      ["пять", 2.55],
      ["пять", 2.72],
    ]);

    expect(server.requests.map((r) => r.kind)).toEqual([
      "recognize",
      "operation",
      "operation",
      "operation",
      "results",
      "delete",
    ]);
    for (const r of server.requests) {
      expect(r.authorization).toBe(`Api-Key ${API_KEY}`);
      expect(r.folderId).toBe(FOLDER);
    }
    const [submission] = server.submissions;
    expect(submission?.audio?.equals(await readFile(wavPath))).toBe(true);
    expect(submission).toMatchObject({
      model: "general",
      restrictionType: "WHITELIST",
      languageCodes: ["ru-RU"],
      textNormalization: "TEXT_NORMALIZATION_ENABLED",
    });
    expect(submission?.durationSec).toBeCloseTo(3, 6);
    expect(server.requests[1]?.operationId).toBe(submission?.operationId);
    expect(server.requests[4]?.operationId).toBe(submission?.operationId);
    expect(server.openOperations).toBe(0);
  });

  it("without a language whitelists ru, kk and en and reports the detected one", async () => {
    const server = await emulate({
      recognize: () => ({
        kind: "operation",
        utterances: [{ text: "сәлеметсіз бе", startMs: 100, endMs: 900, language: "kk-KZ" }],
      }),
    });
    const result = await transcriber(server).transcribe({ filePath: wavPath, durationSec: 3 });
    expect(server.submissions[0]?.languageCodes).toEqual(["ru-RU", "kk-KZ", "en-US"]);
    expect(result.language).toBe("kk");
    // No refinement: the raw text stands.
    expect(result.segments.map((s) => s.text)).toEqual(["сәлеметсіз бе"]);
  });

  it("a 429 on submission is retryable and carries Retry-After in seconds", async () => {
    const server = await emulate({
      recognize: () => ({
        kind: "error",
        status: 429,
        message: "Too many requests",
        headers: { "retry-after": "4" },
      }),
    });
    const err = await failure(transcriber(server).transcribe({ filePath: wavPath, durationSec: 3 }));
    expect(err.retryable).toBe(true);
    expect(err.context).toMatchObject({ provider: "yandex", status: 429, retryAfterSec: 4 });
  });

  it("a 500 is retryable; a bad key (401) and a rejected request (400) are not", async () => {
    const server = await emulate({ recognize: () => ({ kind: "error", status: 500 }) });
    expect(
      (await failure(transcriber(server).transcribe({ filePath: wavPath, durationSec: 3 }))).retryable,
    ).toBe(true);

    const wrongKey = transcriber(server, { apiKey: "wrong" });
    const unauthenticated = await failure(wrongKey.transcribe({ filePath: wavPath, durationSec: 3 }));
    expect(unauthenticated).toMatchObject({ retryable: false, context: { status: 401 } });

    const notWav = join(dir, "not.wav");
    await writeFile(notWav, "this is not audio");
    const rejected = await failure(transcriber(server).transcribe({ filePath: notWav, durationSec: 3 }));
    expect(rejected).toMatchObject({ retryable: false, context: { status: 400 } });
    expect(rejected.message).toMatch(/not a valid WAV/);
  });

  it("rides out transient failures while polling and reading, honouring Retry-After", async () => {
    let polls = 0;
    let reads = 0;
    const server = await emulate({
      recognize: () => ({ kind: "operation", pollsUntilDone: 2 }),
      intercept: (request) => {
        if (request.kind === "operation" && ++polls === 1)
          return { kind: "error", status: 429, headers: { "retry-after": "0.05" } };
        if (request.kind === "results" && ++reads === 1) return { kind: "error", status: 503 };
        return undefined;
      },
    });
    const result = await transcriber(server).transcribe({
      filePath: wavPath,
      durationSec: 3,
      language: "ru",
    });
    expect(result.segments).toHaveLength(1);
    expect(server.requests.filter((r) => r.kind === "recognize")).toHaveLength(1);
    expect(server.requests.filter((r) => r.kind === "results")).toHaveLength(2);
  });

  it("an operation that never finishes fails as retryable at the deadline", async () => {
    const server = await emulate({
      recognize: () => ({ kind: "operation", pollsUntilDone: Number.POSITIVE_INFINITY }),
    });
    const started = Date.now();
    const err = await failure(
      transcriber(server, { maxWaitMs: 150 }).transcribe({ filePath: wavPath, durationSec: 3 }),
    );
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/not done within 150 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(server.requests.filter((r) => r.kind === "operation").length).toBeGreaterThan(1);
  });

  it("a failed operation is retryable when transient (UNAVAILABLE) and final when not (INVALID_ARGUMENT)", async () => {
    let server = await emulate({
      recognize: () => ({ kind: "operation", error: { code: 14, message: "backend unavailable" } }),
    });
    expect(
      (await failure(transcriber(server).transcribe({ filePath: wavPath, durationSec: 3 }))).retryable,
    ).toBe(true);
    await server.close();
    server = await emulate({
      recognize: () => ({ kind: "operation", error: { code: 3, message: "audio too short" } }),
    });
    const err = await failure(transcriber(server).transcribe({ filePath: wavPath, durationSec: 3 }));
    expect(err).toMatchObject({ retryable: false, context: { grpcCode: 3 } });
    expect(server.requests.some((r) => r.kind === "results")).toBe(false);
  });

  it("malformed or non-JSON results fail without retry; truncated ones are re-read, then fail as retryable", async () => {
    let server = await emulate({ recognize: () => ({ kind: "operation", results: "malformed" }) });
    expect(
      (await failure(transcriber(server).transcribe({ filePath: wavPath, durationSec: 3 }))).retryable,
    ).toBe(false);
    await server.close();

    server = await emulate({ recognize: () => ({ kind: "operation", results: "not-json" }) });
    expect(
      (await failure(transcriber(server).transcribe({ filePath: wavPath, durationSec: 3 }))).retryable,
    ).toBe(false);
    await server.close();

    server = await emulate({ recognize: () => ({ kind: "operation", results: "truncated" }) });
    const err = await failure(
      transcriber(server, { maxTransientErrors: 2 }).transcribe({ filePath: wavPath, durationSec: 3 }),
    );
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/cut off/);
    expect(server.requests.filter((r) => r.kind === "results")).toHaveLength(3);
  });

  it("a server that never answers times out per request as retryable", async () => {
    const server = await emulate({ recognize: () => ({ kind: "hang" }) });
    const err = await failure(
      transcriber(server, { requestTimeoutMs: 200 }).transcribe({ filePath: wavPath, durationSec: 3 }),
    );
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/within 200 ms/);
  });

  it("a file above the inline limit is refused before any request", async () => {
    const server = await emulate();
    const err = await failure(
      transcriber(server, { maxContentBytes: 1000 }).transcribe({ filePath: wavPath, durationSec: 3 }),
    );
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/createChunkedTranscriber/);
    expect(server.requests).toHaveLength(0);
  });

  it("an abort while waiting for the operation ends the call promptly", async () => {
    const server = await emulate({
      recognize: () => ({ kind: "operation", pollsUntilDone: Number.POSITIVE_INFINITY }),
    });
    const controller = new AbortController();
    const pending = transcriber(server, { pollIntervalMs: 50 }).transcribe({
      filePath: wavPath,
      durationSec: 3,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error("shutting down")), 120);
    const err = await failure(pending);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/cancelled/);
  });
});

describe("splitJsonStream", () => {
  it("splits newline-delimited and pretty-printed concatenated objects, braces in strings included", () => {
    const text = '{"a":1}\n{"b":"x}{"}\n{\n  "c": {"d": [1, 2]}\n}\n';
    expect(splitJsonStream(text)).toEqual({
      objects: [{ a: 1 }, { b: "x}{" }, { c: { d: [1, 2] } }],
      rest: "",
    });
    expect(splitJsonStream('{"a":1}\n{"b":').rest).toBe('{"b":');
    expect(() => splitJsonStream("<html>")).toThrow(AppError);
  });
});
