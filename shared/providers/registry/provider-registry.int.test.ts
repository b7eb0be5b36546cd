import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type SynthesizedCall, synthesizeMono } from "../../../scripts/fixtures/synthesize-call.ts";
import {
  type EmulatorReply,
  type OpenAiEmulator,
  startOpenAiEmulator,
} from "../../../test/harness/openai-emulator.ts";
import {
  type SpeechKitEmulator,
  type SpeechKitEmulatorOptions,
  startSpeechKitEmulator,
} from "../../../test/harness/yandex-speechkit-emulator.ts";
import { createFfmpegAudioTools } from "../../audio/ffmpeg-audio-tools.ts";
import { AppError } from "../../errors/app-error.ts";
import { createOpenAiTranscriber } from "../transcription/openai-transcriber.ts";
import { createPocketSphinxTranscriber } from "../transcription/pocketsphinx-transcriber.ts";
import { createYandexSpeechKitTranscriber } from "../transcription/yandex-speechkit-transcriber.ts";
import type { SpeechPricing } from "./provider-costs.ts";
import { createProviderRegistry, type ProviderRegistryOptions } from "./provider-registry.ts";
import type { ProviderUsageRecord } from "./provider-usage.ts";

const OPENAI_KEY = "sk-registry-test";
const YANDEX_KEY = "AQVN-registry-test";
const AUDIO_SEC = 3;
const PRICING: Record<string, SpeechPricing> = {
  openai: { perAudioMinute: "0.006", currency: "USD" },
  yandex: { perAudioMinute: "0.17", currency: "RUB", billingStepSec: 1 },
};
/** Fast retries so the tests measure Retry-After, not backoff. */
const FAST = { retries: 2, baseDelayMs: 5, maxDelayMs: 20 };

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
let spoken: SynthesizedCall;
let openai: OpenAiEmulator | undefined;
let speechkit: SpeechKitEmulator | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tyndau-registry-"));
  wavPath = join(dir, "channel.wav");
  await writeFile(wavPath, wavBytes(AUDIO_SEC));
  spoken = await synthesizeMono(
    {
      turns: [
        { speaker: "operator", text: "Hello, thank you for calling." },
        { speaker: "client", text: "I need a copy of my invoice." },
      ],
    },
    join(dir, "spoken.wav"),
    { sampleRate: 16_000 },
  );
});

afterEach(async () => {
  await openai?.close();
  await speechkit?.close();
  openai = undefined;
  speechkit = undefined;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const whisperOk: EmulatorReply = {
  kind: "transcription",
  language: "english",
  segments: [{ start: 0.2, end: 2.5, text: " Hello from OpenAI." }],
};

/** OpenAI emulator whose replies come from `script(n)` (n = 1-based request number), with arrival times. */
async function startOpenAi(script: (n: number) => EmulatorReply | Promise<EmulatorReply>) {
  const arrivals: number[] = [];
  openai = await startOpenAiEmulator({
    apiKey: OPENAI_KEY,
    respond: (request) => {
      arrivals.push(Date.now());
      return script(request.index + 1);
    },
  });
  return { server: openai, arrivals };
}

async function startYandex(options: SpeechKitEmulatorOptions = {}) {
  speechkit = await startSpeechKitEmulator({ apiKey: YANDEX_KEY, ...options });
  return speechkit;
}

function setup(overrides: Partial<ProviderRegistryOptions> = {}) {
  const usage: ProviderUsageRecord[] = [];
  const transcribers: ProviderRegistryOptions["transcribers"] = {};
  if (openai) {
    transcribers.openai = createOpenAiTranscriber({
      apiKey: OPENAI_KEY,
      baseUrl: openai.baseUrl,
      model: "whisper-1",
      maxRetries: 0,
    });
  }
  if (speechkit) {
    transcribers.yandex = createYandexSpeechKitTranscriber({
      apiKey: YANDEX_KEY,
      sttUrl: speechkit.url,
      operationUrl: speechkit.url,
      pollIntervalMs: 5,
      maxPollIntervalMs: 10,
    });
  }
  const registry = createProviderRegistry({
    transcribers,
    analyzers: {},
    defaults: { speech: ["openai", "yandex"], analysis: [] },
    defaultPolicy: FAST,
    pricing: { speech: PRICING },
    onUsage: (record) => {
      usage.push(record);
    },
    ...overrides,
    ...(overrides.transcribers ? { transcribers: { ...transcribers, ...overrides.transcribers } } : {}),
  });
  return { registry, usage };
}

const account = { id: "acc-1", speechProviders: [] as string[], speechLanguage: "auto" };

describe("provider registry against the OpenAI and SpeechKit emulators", () => {
  it("happy path: the first provider answers and its usage is recorded at our price", async () => {
    const { server } = await startOpenAi(() => whisperOk);
    await startYandex();
    const { registry, usage } = setup();
    const result = await registry
      .transcriberFor({ ...account, speechLanguage: "en" }, { callId: "call-1" })
      .transcribe({ filePath: wavPath, durationSec: AUDIO_SEC });
    expect(result).toMatchObject({ provider: "openai", attempts: 1, language: "en" });
    expect(result.segments).toEqual([{ startSec: 0.2, endSec: 2.5, text: "Hello from OpenAI." }]);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.fields.language).toEqual(["en"]);
    expect(speechkit?.requests).toHaveLength(0);
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({
      kind: "speech",
      provider: "openai",
      accountId: "acc-1",
      callId: "call-1",
      audioSec: AUDIO_SEC,
      attempts: 1,
      outcome: "ok",
    });
    // 3 s at 0.006 USD per minute.
    expect(usage[0]?.ourCost.toDbString()).toBe("0.000300");
    expect(usage[0]?.ourCost.currency).toBe("USD");
  });

  it("429 then success: the retry waits for Retry-After", async () => {
    const { server, arrivals } = await startOpenAi((n) =>
      n === 1
        ? { kind: "error", status: 429, code: "rate_limit_exceeded", headers: { "retry-after-ms": "400" } }
        : whisperOk,
    );
    const { registry, usage } = setup();
    const result = await registry
      .transcriberFor(account)
      .transcribe({ filePath: wavPath, durationSec: AUDIO_SEC });
    expect(result).toMatchObject({ provider: "openai", attempts: 2 });
    expect(server.requests).toHaveLength(2);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(400);
    expect(usage.map((u) => [u.provider, u.outcome, u.attempts])).toEqual([["openai", "ok", 2]]);
  });

  it("SpeechKit's 429 Retry-After (in seconds) is honoured the same way", async () => {
    const submitted: number[] = [];
    const server = await startYandex({
      recognize: (submission) => {
        submitted.push(Date.now());
        return submission.index === 0
          ? { kind: "error", status: 429, message: "quota", headers: { "retry-after": "1" } }
          : { kind: "operation" };
      },
    });
    const { registry } = setup();
    const result = await registry
      .transcriberFor({ ...account, speechProviders: ["yandex"], speechLanguage: "ru" })
      .transcribe({ filePath: wavPath, durationSec: AUDIO_SEC });
    expect(result).toMatchObject({ provider: "yandex", attempts: 2, language: "ru" });
    expect(submitted[1]! - submitted[0]!).toBeGreaterThanOrEqual(1000);
    expect(server.submissions[1]?.languageCodes).toEqual(["ru-RU"]);
  });

  it("persistent 500 → falls back to SpeechKit after the retries, counting attempts per provider", async () => {
    const { server } = await startOpenAi(() => ({ kind: "error", status: 500, message: "overloaded" }));
    const yandex = await startYandex();
    const { registry, usage } = setup();
    const result = await registry
      .transcriberFor(account, { callId: "c-2" })
      .transcribe({ filePath: wavPath, durationSec: AUDIO_SEC });
    expect(result.provider).toBe("yandex");
    expect(result.segments).toHaveLength(1);
    expect(server.requests).toHaveLength(3);
    expect(yandex.submissions).toHaveLength(1);
    expect(result.tried).toEqual([
      expect.objectContaining({
        provider: "openai",
        attempts: 3,
        outcome: "failed",
        errorCode: "TRANSCRIPTION_FAILED",
      }),
      { provider: "yandex", attempts: 1, outcome: "ok" },
    ]);
    expect(
      usage.map((u) => [u.provider, u.outcome, u.attempts, u.ourCost.toDbString(), u.ourCost.currency]),
    ).toEqual([
      ["openai", "failed", 3, "0.000000", "USD"],
      // 3 s at 0.17 RUB per minute.
      ["yandex", "ok", 1, "0.008500", "RUB"],
    ]);
  });

  it("OpenAI failing → the offline PocketSphinx recogniser takes over", async () => {
    await startOpenAi(() => ({ kind: "error", status: 503 }));
    const { registry } = setup({
      transcribers: { pocketsphinx: createPocketSphinxTranscriber() },
      defaultPolicy: { ...FAST, retries: 0 },
    });
    const result = await registry
      .transcriberFor({ ...account, speechProviders: ["openai", "pocketsphinx"], speechLanguage: "en" })
      .transcribe({ filePath: spoken.path, durationSec: spoken.durationSec });
    expect(result.provider).toBe("pocketsphinx");
    const words = result.segments.flatMap((s) => s.text.split(" "));
    expect(words).toEqual(expect.arrayContaining(["thank", "calling"]));
  });

  it("the circuit opens after N failures (no request is sent) and closes after openMs", async () => {
    let healthy = false;
    const { server } = await startOpenAi(() => (healthy ? whisperOk : { kind: "error", status: 500 }));
    await startYandex();
    let clock = 0;
    const { registry } = setup({
      defaultPolicy: { ...FAST, retries: 0 },
      policy: { openai: { breaker: { failureThreshold: 2, openMs: 30_000, halfOpenMax: 1 } } },
      now: () => clock,
    });
    const transcribe = () =>
      registry.transcriberFor(account).transcribe({ filePath: wavPath, durationSec: AUDIO_SEC });

    expect((await transcribe()).provider).toBe("yandex");
    expect(registry.circuitState("speech", "openai")).toBe("closed");
    expect((await transcribe()).provider).toBe("yandex");
    expect(registry.circuitState("speech", "openai")).toBe("open");
    expect(server.requests).toHaveLength(2);

    const skipped = await transcribe();
    expect(skipped.provider).toBe("yandex");
    expect(skipped.tried[0]).toMatchObject({ provider: "openai", outcome: "skipped", attempts: 0 });
    expect(server.requests).toHaveLength(2);

    healthy = true;
    clock += 29_999;
    await transcribe();
    expect(server.requests).toHaveLength(2);
    clock += 1;
    expect(registry.circuitState("speech", "openai")).toBe("half-open");
    const recovered = await transcribe();
    expect(recovered.provider).toBe("openai");
    expect(server.requests).toHaveLength(3);
    expect(registry.circuitState("speech", "openai")).toBe("closed");
  });

  it("respects each provider's concurrency limit, counted at the emulators", async () => {
    let active = 0;
    let peak = 0;
    await startOpenAi(async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 120));
      active--;
      return whisperOk;
    });
    const yandex = await startYandex({ recognize: () => ({ kind: "operation", pollsUntilDone: 3 }) });
    const { registry } = setup({ policy: { openai: { concurrency: 2 }, yandex: { concurrency: 1 } } });

    const viaOpenAi = registry.transcriberFor(account);
    const viaYandex = registry.transcriberFor({ ...account, speechProviders: ["yandex"] });
    const results = await Promise.all([
      ...Array.from({ length: 5 }, () => viaOpenAi.transcribe({ filePath: wavPath, durationSec: AUDIO_SEC })),
      ...Array.from({ length: 3 }, () => viaYandex.transcribe({ filePath: wavPath, durationSec: AUDIO_SEC })),
    ]);
    expect(results.map((r) => r.provider)).toEqual([...Array(5).fill("openai"), ...Array(3).fill("yandex")]);
    expect(peak).toBe(2);
    expect(yandex.submissions).toHaveLength(3);
    expect(yandex.maxOpenOperations).toBe(1);
  });

  it("cuts a file above a provider's limit at silences and stitches the pieces with their offsets", async () => {
    const yandex = await startYandex();
    const { registry, usage } = setup({
      audio: createFfmpegAudioTools(),
      tmpDir: dir,
      policy: { yandex: { chunking: { maxSec: spoken.durationSec / 2 + 0.5 } } },
    });
    const result = await registry
      .transcriberFor({ ...account, speechProviders: ["yandex"], speechLanguage: "en" })
      .transcribe({ filePath: spoken.path, durationSec: spoken.durationSec });
    expect(yandex.submissions).toHaveLength(2);
    const [first, second] = yandex.submissions;
    expect(first!.durationSec! + second!.durationSec!).toBeCloseTo(spoken.durationSec, 3);
    // Each piece's default utterance spans 10–90 % of the piece; the second is moved by the first's length.
    expect(result.segments).toHaveLength(2);
    expect(result.segments[0]!.startSec).toBeCloseTo(first!.durationSec! * 0.1, 1);
    expect(result.segments[1]!.startSec).toBeCloseTo(first!.durationSec! + second!.durationSec! * 0.1, 1);
    // The cut fell in the pause between the two turns.
    const [turn1, turn2] = spoken.turns;
    expect(first!.durationSec!).toBeGreaterThan(turn1!.endSec);
    expect(first!.durationSec!).toBeLessThan(turn2!.startSec);
    expect(result.attempts).toBe(2);
    expect(usage).toHaveLength(1);
    expect(usage[0]?.audioSec).toBeCloseTo(spoken.durationSec, 3);
  });

  it("when every provider fails the error lists them and stays retryable for the pipeline", async () => {
    await startOpenAi(() => ({ kind: "error", status: 500 }));
    await startYandex({ recognize: () => ({ kind: "error", status: 503 }) });
    const { registry, usage } = setup({ defaultPolicy: { ...FAST, retries: 1 } });
    const error = await registry
      .transcriberFor(account)
      .transcribe({ filePath: wavPath, durationSec: AUDIO_SEC })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "TRANSCRIPTION_FAILED", retryable: true });
    expect((error as AppError).message).toMatch(/openai: .*500.*; yandex: .*503/);
    expect(usage.map((u) => [u.provider, u.outcome, u.attempts])).toEqual([
      ["openai", "failed", 2],
      ["yandex", "failed", 2],
    ]);
  });
});
