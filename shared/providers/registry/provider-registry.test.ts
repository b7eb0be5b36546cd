import { describe, expect, it, vi } from "vitest";
import { AppError } from "../../errors/app-error.ts";
import type { AnalysisInput, AnalysisResult, CallAnalyzer } from "../analysis/call-analyzer.ts";
import type { Transcriber, TranscriptionResult } from "../transcription/transcriber.ts";
import { analysisCost, speechCost } from "./provider-costs.ts";
import { createProviderRegistry, type ProviderRegistryOptions } from "./provider-registry.ts";
import type { ProviderUsageRecord } from "./provider-usage.ts";

const transient = (message = "server error") =>
  new AppError("ANALYSIS_FAILED", message, { retryable: true, context: { status: 500 } });

const analysisInput: AnalysisInput = {
  template: { id: "t1", version: 3, name: "Greeting", questions: [] },
  dialogue: [{ speaker: "operator", startSec: 0, endSec: 1, text: "Hello" }],
  language: "en",
};

function fakeAnalyzer(
  name: string,
  behaviour: (call: number) => AnalysisResult | Error,
): CallAnalyzer & { calls: number } {
  const analyzer = {
    name,
    calls: 0,
    async analyze(): Promise<AnalysisResult> {
      analyzer.calls++;
      const outcome = behaviour(analyzer.calls);
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
  return analyzer;
}

const answered = (inputTokens: number, outputTokens: number): AnalysisResult => ({
  answers: [{ key: "greeted", question: "Greeted?", type: "boolean", value: true, evidence: [] }],
  usage: { inputTokens, outputTokens },
});

function fakeTranscriber(
  name: string,
  behaviour: (call: number) => TranscriptionResult | Error,
): Transcriber & {
  languages: Array<string | undefined>;
} {
  let calls = 0;
  const languages: Array<string | undefined> = [];
  return {
    name,
    languages,
    async transcribe(input) {
      calls++;
      languages.push(input.language);
      const outcome = behaviour(calls);
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
}

const transcript = (audioSec: number): TranscriptionResult => ({
  language: "ru",
  segments: [{ startSec: 0, endSec: 1, text: "алло" }],
  usage: { audioSec },
});

function registry(overrides: Partial<ProviderRegistryOptions>, usage: ProviderUsageRecord[] = []) {
  return createProviderRegistry({
    transcribers: {},
    analyzers: {},
    defaults: { speech: [], analysis: [] },
    defaultPolicy: { retries: 2, baseDelayMs: 1, maxDelayMs: 1, breaker: { failureThreshold: 100 } },
    onUsage: (record) => {
      usage.push(record);
    },
    sleep: async () => {},
    ...overrides,
  });
}

describe("speechCost and analysisCost", () => {
  it("prices audio per minute exactly, with billing steps and minimums", () => {
    expect(speechCost(3, { perAudioMinute: "0.006", currency: "USD" }).toDbString()).toBe("0.000300");
    expect(speechCost(7, { perAudioMinute: "0.17", currency: "RUB" }).toDbString()).toBe("0.019833");
    expect(speechCost(16, { perAudioMinute: "1.20", currency: "RUB", billingStepSec: 15 }).toDbString()).toBe(
      "0.600000",
    );
    expect(speechCost(2, { perAudioMinute: "1.20", currency: "RUB", minimumSec: 15 }).toDbString()).toBe(
      "0.300000",
    );
    // 0.1 + 0.2 in floats is 0.30000000000000004; in decimals it is not.
    expect(speechCost(0.3, { perAudioMinute: "600", currency: "KZT" }).toDbString()).toBe("3.000000");
  });

  it("prices tokens per thousand exactly", () => {
    const price = { per1kInputTokens: "0.00015", per1kOutputTokens: "0.0006", currency: "USD" as const };
    expect(analysisCost(1234, 567, price).toDbString()).toBe("0.000525");
    expect(analysisCost(0, 0, price).isZero()).toBe(true);
  });

  it("rejects prices that are not decimal strings when the registry is created", () => {
    expect(() =>
      registry({ pricing: { speech: { openai: { perAudioMinute: "0,006", currency: "USD" } } } }),
    ).toThrow(/speech pricing of openai/);
    expect(() =>
      registry({
        pricing: {
          analysis: { openai: { per1kInputTokens: "-1", per1kOutputTokens: "1", currency: "USD" } },
        },
      }),
    ).toThrow(RangeError);
  });
});

describe("analyzerFor", () => {
  it("uses the template's provider first and records its tokens and cost", async () => {
    const usage: ProviderUsageRecord[] = [];
    const openai = fakeAnalyzer("openai", () => answered(2000, 500));
    const analyzer = registry(
      {
        analyzers: { openai, rules: fakeAnalyzer("rules", () => answered(0, 0)) },
        pricing: {
          analysis: { openai: { per1kInputTokens: "0.0025", per1kOutputTokens: "0.01", currency: "USD" } },
        },
      },
      usage,
    ).analyzerFor({ id: "acc-1", analysisProviders: ["rules"] }, "openai", { callId: "call-1" });
    expect(analyzer.order).toEqual(["openai", "rules"]);
    const result = await analyzer.analyze(analysisInput);
    expect(result).toMatchObject({ provider: "openai", attempts: 1 });
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({
      kind: "analysis",
      provider: "openai",
      accountId: "acc-1",
      callId: "call-1",
      inputTokens: 2000,
      outputTokens: 500,
      attempts: 1,
      outcome: "ok",
    });
    expect(usage[0]?.ourCost.toDbString()).toBe("0.010000");
    expect(usage[0]?.ourCost.currency).toBe("USD");
  });

  it("retries a transient failure, then falls back to the account's next provider", async () => {
    const usage: ProviderUsageRecord[] = [];
    const gigachat = fakeAnalyzer("gigachat", () => transient());
    const yandexgpt = fakeAnalyzer("yandexgpt", (n) => (n === 1 ? transient() : answered(10, 5)));
    const result = await registry({ analyzers: { gigachat, yandexgpt } }, usage)
      .analyzerFor({ analysisProviders: ["yandexgpt"] }, "gigachat")
      .analyze(analysisInput);
    expect(gigachat.calls).toBe(3);
    expect(yandexgpt.calls).toBe(2);
    expect(result.provider).toBe("yandexgpt");
    expect(result.attempts).toBe(2);
    expect(result.tried).toEqual([
      expect.objectContaining({ provider: "gigachat", attempts: 3, outcome: "failed", retryable: true }),
      { provider: "yandexgpt", attempts: 2, outcome: "ok" },
    ]);
    expect(usage.map((u) => [u.provider, u.outcome, u.attempts, u.errorCode])).toEqual([
      ["gigachat", "failed", 3, "ANALYSIS_FAILED"],
      ["yandexgpt", "ok", 2, undefined],
    ]);
    expect(usage[0]?.ourCost.isZero()).toBe(true);
  });

  it("does not retry a permanent failure but still falls back", async () => {
    const broken = fakeAnalyzer("openai", () => new AppError("ANALYSIS_FAILED", "invalid api key"));
    const rules = fakeAnalyzer("rules", () => answered(0, 0));
    const result = await registry({
      analyzers: { openai: broken, rules },
      defaults: { speech: [], analysis: ["rules"] },
    })
      .analyzerFor({}, "openai")
      .analyze(analysisInput);
    expect(broken.calls).toBe(1);
    expect(result.provider).toBe("rules");
  });

  it("a template naming a provider not configured here falls back, noting it as unavailable", async () => {
    const rules = fakeAnalyzer("rules", () => answered(0, 0));
    const result = await registry({ analyzers: { rules } })
      .analyzerFor({ analysisProviders: ["rules"] }, "gigachat")
      .analyze(analysisInput);
    expect(result.provider).toBe("rules");
    expect(result.tried[0]).toMatchObject({ provider: "gigachat", outcome: "unavailable", attempts: 0 });
  });

  it("when every provider fails the error is retryable if any failure was transient", async () => {
    const transientOnly = registry({
      analyzers: {
        a: fakeAnalyzer("a", () => transient()),
        b: fakeAnalyzer("b", () => new AppError("ANALYSIS_FAILED", "bad request")),
      },
    });
    const error = await transientOnly
      .analyzerFor({ analysisProviders: ["b"] }, "a")
      .analyze(analysisInput)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ANALYSIS_FAILED", retryable: true });
    expect((error as AppError).message).toMatch(/a: server error; b: bad request/);

    const permanent = registry({
      analyzers: { b: fakeAnalyzer("b", () => new AppError("ANALYSIS_FAILED", "bad")) },
    });
    await expect(permanent.analyzerFor({}, "b").analyze(analysisInput)).rejects.toMatchObject({
      retryable: false,
    });
    await expect(permanent.analyzerFor({}, "nothing").analyze(analysisInput)).rejects.toThrow(
      /No analysis provider/,
    );
  });

  it("an open circuit skips the provider without calling it", async () => {
    let clock = 0;
    const flaky = fakeAnalyzer("flaky", () => transient());
    const backup = fakeAnalyzer("backup", () => answered(1, 1));
    const r = registry({
      analyzers: { flaky, backup },
      defaultPolicy: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
      policy: { flaky: { breaker: { failureThreshold: 2, openMs: 1000, halfOpenMax: 1 } } },
      now: () => clock,
    });
    const analyze = () => r.analyzerFor({ analysisProviders: ["backup"] }, "flaky").analyze(analysisInput);
    await analyze();
    await analyze();
    expect(r.circuitState("analysis", "flaky")).toBe("open");
    const skipped = await analyze();
    expect(flaky.calls).toBe(2);
    expect(skipped.tried[0]).toMatchObject({ provider: "flaky", outcome: "skipped", attempts: 0 });
    clock += 1000;
    expect(r.circuitState("analysis", "flaky")).toBe("half-open");
    await analyze();
    expect(flaky.calls).toBe(3);
    expect(r.circuitState("analysis", "flaky")).toBe("open");
  });

  it("a programmer error is not hidden by a fallback", async () => {
    const buggy = fakeAnalyzer("buggy", () => new TypeError("cannot read properties of undefined"));
    const rules = fakeAnalyzer("rules", () => answered(0, 0));
    await expect(
      registry({ analyzers: { buggy, rules } })
        .analyzerFor({ analysisProviders: ["rules"] }, "buggy")
        .analyze(analysisInput),
    ).rejects.toBeInstanceOf(TypeError);
    expect(rules.calls).toBe(0);
  });
});

describe("transcriberFor", () => {
  it("follows the account's order, else the server's, and passes the account's language", async () => {
    const yandex = fakeTranscriber("yandex", () => transcript(3));
    const openai = fakeTranscriber("openai", () => transcript(3));
    const r = registry({
      transcribers: { yandex, openai },
      defaults: { speech: ["openai", "yandex"], analysis: [] },
    });
    expect(r.transcriberFor({ speechProviders: ["yandex"] }).order).toEqual(["yandex"]);
    expect(r.transcriberFor({ speechProviders: [] }).order).toEqual(["openai", "yandex"]);
    // An account naming only providers this server lacks gets the server's order.
    expect(r.transcriberFor({ speechProviders: ["whisper-local"] }).order).toEqual([
      "whisper-local",
      "openai",
      "yandex",
    ]);

    await r
      .transcriberFor({ speechProviders: ["yandex"], speechLanguage: "kk" })
      .transcribe({ filePath: "x.wav", durationSec: 3 });
    await r
      .transcriberFor({ speechProviders: ["yandex"], speechLanguage: "auto" })
      .transcribe({ filePath: "x.wav", durationSec: 3 });
    // The caller's language wins over the account's; "auto" from the caller means the account's.
    await r
      .transcriberFor({ speechProviders: ["yandex"], speechLanguage: "kk" })
      .transcribe({ filePath: "x.wav", durationSec: 3, language: "en" });
    await r
      .transcriberFor({ speechProviders: ["yandex"], speechLanguage: "ru" })
      .transcribe({ filePath: "x.wav", durationSec: 3, language: "auto" });
    expect(yandex.languages).toEqual(["kk", undefined, "en", "ru"]);
  });

  it("skips a provider that does not speak the account's language without calling it", async () => {
    const usage: ProviderUsageRecord[] = [];
    const sphinx = fakeTranscriber("pocketsphinx", () => transcript(3));
    const yandex = fakeTranscriber("yandex", () => transcript(3));
    const result = await registry(
      {
        transcribers: { pocketsphinx: sphinx, yandex },
        speechLanguages: { pocketsphinx: ["en"] },
        pricing: { speech: { yandex: { perAudioMinute: "1.20", currency: "RUB", billingStepSec: 15 } } },
      },
      usage,
    )
      .transcriberFor(
        { id: "acc", speechProviders: ["pocketsphinx", "yandex"], speechLanguage: "ru" },
        { callId: "c" },
      )
      .transcribe({ filePath: "x.wav", durationSec: 3 });
    expect(sphinx.languages).toEqual([]);
    expect(result.provider).toBe("yandex");
    expect(result.tried[0]).toMatchObject({ provider: "pocketsphinx", outcome: "skipped" });
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({ provider: "yandex", audioSec: 3, accountId: "acc", callId: "c" });
    expect(usage[0]?.ourCost.toDbString()).toBe("0.300000");
  });

  it("an abort by the caller does not fall back", async () => {
    const controller = new AbortController();
    const first = fakeTranscriber("first", () => {
      controller.abort();
      return new AppError("TRANSCRIPTION_FAILED", "cancelled", { retryable: true });
    });
    const second = fakeTranscriber("second", () => transcript(1));
    await expect(
      registry({ transcribers: { first, second } })
        .transcriberFor({ speechProviders: ["first", "second"] })
        .transcribe({ filePath: "x.wav", durationSec: 1, signal: controller.signal }),
    ).rejects.toMatchObject({ message: "cancelled" });
    expect(second.languages).toEqual([]);
  });

  it("a usage callback that throws is logged, not allowed to fail the call", async () => {
    const error = vi.fn();
    const r = createProviderRegistry({
      transcribers: { one: fakeTranscriber("one", () => transcript(1)) },
      analyzers: {},
      defaults: { speech: ["one"], analysis: [] },
      onUsage: () => {
        throw new Error("database down");
      },
      logger: { error, warn: vi.fn(), info: vi.fn() } as unknown as NonNullable<
        ProviderRegistryOptions["logger"]
      >,
    });
    await expect(
      r.transcriberFor({}).transcribe({ filePath: "x.wav", durationSec: 1 }),
    ).resolves.toMatchObject({
      provider: "one",
    });
    expect(error).toHaveBeenCalledTimes(1);
  });
});
