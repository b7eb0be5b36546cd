import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type EmulatorReply,
  type EmulatorRequest,
  type OpenAiEmulator,
  startOpenAiEmulator,
} from "../../../test/harness/openai-emulator.ts";
import { AppError } from "../../errors/app-error.ts";
import { createOpenAiTranscriber } from "./openai-transcriber.ts";

const API_KEY = "sk-test-emulator";

/** A 16 kHz mono PCM WAV of `seconds` of a quiet sawtooth, so the upload has real, non-zero bytes. */
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
let wavSize: number;
let emulator: OpenAiEmulator | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tyndau-openai-"));
  wavPath = join(dir, "left.wav");
  await writeFile(wavPath, wavBytes(2));
  wavSize = (await stat(wavPath)).size;
});

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function emulate(respond: (request: EmulatorRequest) => EmulatorReply): Promise<OpenAiEmulator> {
  emulator = await startOpenAiEmulator({ apiKey: API_KEY, respond });
  return emulator;
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe("createOpenAiTranscriber against the emulator", () => {
  it("uploads the file with the documented fields and maps segments", async () => {
    const { baseUrl, requests } = await emulate(() => ({
      kind: "transcription",
      language: "english",
      duration: 2,
      segments: [
        { start: 0.12, end: 0.98, text: " Hello, thank you for calling. " },
        { start: 1.1, end: 1.9, text: " My name is Anna." },
        { start: 1.95, end: 2, text: "   " },
      ],
    }));
    const transcriber = createOpenAiTranscriber({
      apiKey: API_KEY,
      baseUrl,
      model: "whisper-1",
      maxRetries: 0,
    });
    expect(transcriber.name).toBe("openai");

    const result = await transcriber.transcribe({ filePath: wavPath, durationSec: 2, language: "en" });

    expect(result).toEqual({
      language: "en",
      segments: [
        { startSec: 0.12, endSec: 0.98, text: "Hello, thank you for calling." },
        { startSec: 1.1, endSec: 1.9, text: "My name is Anna." },
      ],
      usage: { audioSec: 2 },
    });
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.fields.model).toEqual(["whisper-1"]);
    expect(request?.fields.response_format).toEqual(["verbose_json"]);
    expect(request?.fields.language).toEqual(["en"]);
    expect(request?.fields["timestamp_granularities[]"]).toEqual(["segment"]);
    expect(request?.file).toMatchObject({ fieldName: "file", filename: "left.wav", size: wavSize });
    expect(wavSize).toBeGreaterThan(44);
  });

  it("maps Whisper's language names to ISO codes and omits language when none is requested", async () => {
    const names: Record<string, string> = { russian: "ru", kazakh: "kk", english: "en" };
    for (const [name, code] of Object.entries(names)) {
      const { baseUrl, requests } = await emulate(() => ({
        kind: "transcription",
        language: name,
        segments: [{ start: 0, end: 1, text: "x" }],
      }));
      const transcriber = createOpenAiTranscriber({
        apiKey: API_KEY,
        baseUrl,
        model: "whisper-1",
        maxRetries: 0,
      });
      const result = await transcriber.transcribe({ filePath: wavPath, durationSec: 2 });
      expect(result.language).toBe(code);
      expect(requests[0]?.fields.language).toBeUndefined();
      await emulator?.close();
      emulator = undefined;
    }
  });

  it("spans the whole recording with one segment when the server returns text only", async () => {
    const { baseUrl, requests } = await emulate(() => ({ kind: "transcription", text: "  Hello there.  " }));
    const transcriber = createOpenAiTranscriber({
      apiKey: API_KEY,
      baseUrl,
      model: "gpt-4o-transcribe",
      maxRetries: 0,
    });
    const result = await transcriber.transcribe({ filePath: wavPath, durationSec: 2, language: "ru" });
    expect(result.segments).toEqual([{ startSec: 0, endSec: 2, text: "Hello there." }]);
    // No language in a plain json answer: the requested one stands.
    expect(result.language).toBe("ru");
    // gpt-4o-transcribe accepts neither verbose_json nor timestamp granularities.
    expect(requests[0]?.fields.response_format).toEqual(["json"]);
    expect(requests[0]?.fields["timestamp_granularities[]"]).toBeUndefined();
  });

  it("places a gpt-4o text-only answer on the speech intervals it is given", async () => {
    const { baseUrl } = await emulate(() => ({
      kind: "transcription",
      text: "Hello, thank you for calling. My name is Anna.",
    }));
    const transcriber = createOpenAiTranscriber({
      apiKey: API_KEY,
      baseUrl,
      model: "gpt-4o-mini-transcribe",
      maxRetries: 0,
    });
    const result = await transcriber.transcribe({
      filePath: wavPath,
      durationSec: 2,
      intervals: [
        { startSec: 0.1, endSec: 1.0 },
        { startSec: 1.3, endSec: 1.9 },
      ],
    });
    expect(result.segments).toEqual([
      { startSec: 0.1, endSec: 1.0, text: "Hello, thank you for calling." },
      { startSec: 1.3, endSec: 1.9, text: "My name is Anna." },
    ]);
  });

  it("finds the intervals itself for a text-only model when given the audio tools", async () => {
    const { baseUrl } = await emulate(() => ({ kind: "transcription", text: "One two. Three four." }));
    const seen: string[] = [];
    const transcriber = createOpenAiTranscriber({
      apiKey: API_KEY,
      baseUrl,
      model: "gpt-4o-transcribe",
      maxRetries: 0,
      audio: {
        speechIntervals: async (path) => {
          seen.push(path);
          return [
            { startSec: 0.2, endSec: 0.7 },
            { startSec: 1.2, endSec: 1.7 },
          ];
        },
      },
    });
    const result = await transcriber.transcribe({ filePath: wavPath, durationSec: 2 });
    expect(seen).toEqual([wavPath]);
    expect(result.segments.map((s) => [s.startSec, s.text])).toEqual([
      [0.2, "One two."],
      [1.2, "Three four."],
    ]);
  });

  it("spans the whole recording when verbose_json carries no segments", async () => {
    const { baseUrl } = await emulate(() => ({ kind: "transcription", text: "Only text.", segments: null }));
    const transcriber = createOpenAiTranscriber({
      apiKey: API_KEY,
      baseUrl,
      model: "whisper-1",
      maxRetries: 0,
    });
    const result = await transcriber.transcribe({ filePath: wavPath, durationSec: 2 });
    expect(result.segments).toEqual([{ startSec: 0, endSec: 2, text: "Only text." }]);
  });

  it("a 500 becomes a retryable TRANSCRIPTION_FAILED", async () => {
    const { baseUrl, requests } = await emulate(() => ({ kind: "error", status: 500, message: "boom" }));
    const transcriber = createOpenAiTranscriber({
      apiKey: API_KEY,
      baseUrl,
      model: "whisper-1",
      maxRetries: 0,
    });
    const err = await failure(transcriber.transcribe({ filePath: wavPath, durationSec: 2 }));
    expect(err.code).toBe("TRANSCRIPTION_FAILED");
    expect(err.retryable).toBe(true);
    expect(err.context).toMatchObject({ provider: "openai", status: 500 });
    expect(requests).toHaveLength(1);
  });

  it("a 429 with Retry-After becomes a retryable error that keeps the hint", async () => {
    const { baseUrl } = await emulate(() => ({
      kind: "error",
      status: 429,
      type: "requests",
      code: "rate_limit_exceeded",
      headers: { "retry-after": "7" },
    }));
    const transcriber = createOpenAiTranscriber({
      apiKey: API_KEY,
      baseUrl,
      model: "whisper-1",
      maxRetries: 0,
    });
    const err = await failure(transcriber.transcribe({ filePath: wavPath, durationSec: 2 }));
    expect(err).toMatchObject({ code: "TRANSCRIPTION_FAILED", retryable: true });
    expect(err.context).toMatchObject({ status: 429, retryAfter: "7", retryAfterSec: 7 });
  });

  it("a 400 becomes a non-retryable TRANSCRIPTION_FAILED", async () => {
    const { baseUrl } = await emulate(() => ({
      kind: "error",
      status: 400,
      type: "invalid_request_error",
      message: "Invalid file format.",
    }));
    const transcriber = createOpenAiTranscriber({
      apiKey: API_KEY,
      baseUrl,
      model: "whisper-1",
      maxRetries: 0,
    });
    const err = await failure(transcriber.transcribe({ filePath: wavPath, durationSec: 2 }));
    expect(err).toMatchObject({ code: "TRANSCRIPTION_FAILED", retryable: false });
    expect(err.message).toContain("400");
  });

  it("a wrong API key is rejected by the server and not retried", async () => {
    const { baseUrl, requests } = await emulate(() => ({ kind: "transcription", text: "never" }));
    const transcriber = createOpenAiTranscriber({
      apiKey: "sk-wrong",
      baseUrl,
      model: "whisper-1",
      maxRetries: 2,
    });
    const err = await failure(transcriber.transcribe({ filePath: wavPath, durationSec: 2 }));
    expect(err).toMatchObject({ code: "TRANSCRIPTION_FAILED", retryable: false });
    expect(err.context).toMatchObject({ status: 401 });
    expect(requests).toHaveLength(1);
  });

  it("the SDK's own retries recover from a transient 500, re-uploading the file", async () => {
    const { baseUrl, requests } = await emulate((request) =>
      request.index === 0
        ? { kind: "error", status: 500, headers: { "retry-after-ms": "10" } }
        : { kind: "transcription", segments: [{ start: 0, end: 1.5, text: "second time lucky" }] },
    );
    const transcriber = createOpenAiTranscriber({
      apiKey: API_KEY,
      baseUrl,
      model: "whisper-1",
      maxRetries: 1,
    });
    const result = await transcriber.transcribe({ filePath: wavPath, durationSec: 2 });
    expect(result.segments.map((s) => s.text)).toEqual(["second time lucky"]);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.file?.size).toBe(wavSize);
  });

  it("a server that never answers times out as a retryable error", async () => {
    const { baseUrl } = await emulate(() => ({ kind: "hang" }));
    const transcriber = createOpenAiTranscriber({
      apiKey: API_KEY,
      baseUrl,
      model: "whisper-1",
      maxRetries: 0,
      timeoutMs: 300,
    });
    const err = await failure(transcriber.transcribe({ filePath: wavPath, durationSec: 2 }));
    expect(err).toMatchObject({ code: "TRANSCRIPTION_FAILED", retryable: true });
  });

  it("an unreachable server is a retryable error", async () => {
    const closed = await startOpenAiEmulator();
    const baseUrl = closed.baseUrl;
    await closed.close();
    const transcriber = createOpenAiTranscriber({ baseUrl, model: "whisper-1", maxRetries: 0 });
    const err = await failure(transcriber.transcribe({ filePath: wavPath, durationSec: 2 }));
    expect(err).toMatchObject({ code: "TRANSCRIPTION_FAILED", retryable: true });
  });

  it("a malformed success body is a non-retryable failure, not garbage segments", async () => {
    const { baseUrl } = await emulate(() => ({
      kind: "raw",
      status: 200,
      body: JSON.stringify({ text: "x", segments: [{ start: "zero", end: 1, text: "x" }] }),
    }));
    const transcriber = createOpenAiTranscriber({
      apiKey: API_KEY,
      baseUrl,
      model: "whisper-1",
      maxRetries: 0,
    });
    const err = await failure(transcriber.transcribe({ filePath: wavPath, durationSec: 2 }));
    expect(err).toMatchObject({ code: "TRANSCRIPTION_FAILED", retryable: false });
  });
});
