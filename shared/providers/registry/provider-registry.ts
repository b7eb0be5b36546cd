/**
 * Chooses and guards third-party providers (PRODUCT.md "Providers", issue 5 item 4). For each account
 * the registry hands out a Transcriber (speech) or CallAnalyzer (per template) that tries providers in
 * the account's fallback order (or the server's default order), each call to a provider going through
 *
 *   concurrency limiter → circuit breaker → per-attempt timeout → provider
 *
 * inside retries with full jitter that honour Retry-After. A provider whose failure remains after its
 * retries, or whose circuit is open, is left for the next one. Each provider tried for a piece of work
 * is reported once through onUsage with what it consumed and what that cost us (decimal, never float),
 * separately from what the customer pays.
 *
 * Breakers and limiters are per process and per (kind, provider): "speech:openai" and "analysis:openai"
 * trip independently. Policies are looked up as `policy["speech:openai"]`, then `policy["openai"]`,
 * then defaultPolicy.
 */
import { Decimal } from "decimal.js";
import type { AudioTools } from "../../audio/audio-tools.ts";
import type { ProviderKind, ProviderOutcome } from "../../domain/providers.ts";
import { AppError, type ErrorCode, isAppError } from "../../errors/app-error.ts";
import type { Logger } from "../../logging/logger.ts";
import { type Currency, Money } from "../../money/money.ts";
import type { AnalysisInput, AnalysisResult, CallAnalyzer } from "../analysis/call-analyzer.ts";
import { createChunkedTranscriber } from "../transcription/chunked-transcriber.ts";
import type { TranscribeInput, Transcriber, TranscriptionResult } from "../transcription/transcriber.ts";
import {
  type CircuitBreaker,
  type CircuitState,
  type ConcurrencyLimiter,
  createCircuitBreaker,
  createConcurrencyLimiter,
  isCircuitOpenError,
  withRetry,
  withTimeout,
} from "./resilience.ts";

export interface BreakerPolicy {
  /** Consecutive retryable failures (attempts, not calls) that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit skips the provider. */
  openMs: number;
  /** Trial calls let through at once when half-open. */
  halfOpenMax: number;
}

export interface ProviderPolicy {
  /** Per attempt (per piece when chunked); ≤ 0 = no limit. */
  timeoutMs: number;
  /** Added to timeoutMs per second of audio (speech); default 0. */
  timeoutPerAudioSecMs: number;
  /** Attempts after the first, for retryable failures only. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After waited for; a provider asking for more is left for the next one. */
  maxRetryAfterMs: number;
  /** Calls in flight to this provider from this process. */
  concurrency: number;
  breaker: BreakerPolicy;
  /**
   * Speech only: files above these limits are cut at silences and sent in pieces (needs `audio`).
   * OpenAI takes 25 MB per file; SpeechKit 60 MB per request body (base64).
   */
  chunking?: { maxBytes?: number; maxSec?: number; concurrency?: number };
}

export type ProviderPolicyOverride = Partial<Omit<ProviderPolicy, "breaker">> & {
  breaker?: Partial<BreakerPolicy>;
};

export const DEFAULT_PROVIDER_POLICY: ProviderPolicy = {
  timeoutMs: 300_000,
  timeoutPerAudioSecMs: 0,
  retries: 2,
  baseDelayMs: 1_000,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 30_000,
  concurrency: 4,
  breaker: { failureThreshold: 5, openMs: 60_000, halfOpenMax: 1 },
};

/** Our price for a speech provider, per minute of audio, as a decimal string. */
export interface SpeechPricing {
  perAudioMinute: string;
  currency: Currency;
  /** Audio is billed in steps of this many seconds, rounded up (e.g. 1, or 15); default: exact. */
  billingStepSec?: number;
  /** Minimum billed seconds per request; default 0. */
  minimumSec?: number;
}

/** Our price for an analysis provider, per 1,000 tokens, as decimal strings. */
export interface AnalysisPricing {
  per1kInputTokens: string;
  per1kOutputTokens: string;
  currency: Currency;
}

/** What one provider consumed for one piece of work, and what it cost us: a provider_usage row. */
export interface ProviderUsageRecord {
  kind: ProviderKind;
  provider: string;
  accountId: string | undefined;
  callId: string | undefined;
  audioSec: number;
  inputTokens: number;
  outputTokens: number;
  ourCost: Money;
  attempts: number;
  outcome: ProviderOutcome;
  errorCode: string | undefined;
}

/** How one provider fared for one piece of work. */
export interface ProviderTry {
  provider: string;
  /** Requests actually sent (retries included). */
  attempts: number;
  /** skipped: circuit open, or a language it does not speak; unavailable: not configured here. */
  outcome: "ok" | "failed" | "skipped" | "unavailable";
  errorCode?: string;
  message?: string;
  retryable?: boolean;
}

export interface RoutedTranscriptionResult extends TranscriptionResult {
  /** The provider whose transcript this is. */
  provider: string;
  /** Requests sent to that provider. */
  attempts: number;
  tried: ProviderTry[];
}

export interface RoutedAnalysisResult extends AnalysisResult {
  provider: string;
  attempts: number;
  tried: ProviderTry[];
}

export interface RoutedTranscriber extends Transcriber {
  /** Providers in the order they will be tried. */
  readonly order: readonly string[];
  transcribe(input: TranscribeInput): Promise<RoutedTranscriptionResult>;
}

export interface RoutedAnalyzer extends CallAnalyzer {
  readonly order: readonly string[];
  analyze(input: AnalysisInput): Promise<RoutedAnalysisResult>;
}

/** The account fields routing reads (an AccountRow fits). */
export interface SpeechAccountSettings {
  id?: string;
  /** Fallback order; empty or absent = the server's default order. */
  speechProviders?: readonly string[];
  /** ru | kk | en | auto. */
  speechLanguage?: string;
}

export interface AnalysisAccountSettings {
  id?: string;
  /** Tried after the template's own provider; empty or absent = the server's default order. */
  analysisProviders?: readonly string[];
}

export interface UsageContext {
  callId?: string;
}

export interface ProviderRegistryOptions {
  transcribers: Record<string, Transcriber>;
  analyzers: Record<string, CallAnalyzer>;
  /** Server-wide fallback orders, used when an account has none. */
  defaults: { speech: readonly string[]; analysis: readonly string[] };
  defaultPolicy?: ProviderPolicyOverride;
  /** By "kind:name" or by name. */
  policy?: Record<string, ProviderPolicyOverride>;
  pricing?: { speech?: Record<string, SpeechPricing>; analysis?: Record<string, AnalysisPricing> };
  /** Languages (ISO 639-1) a speech provider can do; providers not listed are assumed to do any. */
  speechLanguages?: Record<string, readonly string[]>;
  /** Currency of the zero cost recorded for providers without a price (offline ones); default USD. */
  zeroCostCurrency?: Currency;
  /** Called once per provider tried with at least one request sent; errors are logged, not thrown. */
  onUsage?: (record: ProviderUsageRecord) => void | Promise<void>;
  /** Needed when a speech policy has chunking. */
  audio?: Pick<AudioTools, "speechIntervals" | "cut">;
  /** Where chunk pieces are written. */
  tmpDir?: string;
  logger?: Logger;
  /** Injectable for tests: the breakers' clock (ms), the retries' jitter and sleep. */
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface ProviderRegistry {
  transcriberFor(account: SpeechAccountSettings, context?: UsageContext): RoutedTranscriber;
  analyzerFor(
    account: AnalysisAccountSettings,
    templateProvider: string,
    context?: UsageContext,
  ): RoutedAnalyzer;
  /** The circuit of a configured provider, for health pages and tests. */
  circuitState(kind: ProviderKind, provider: string): CircuitState | undefined;
  readonly speechProviders: readonly string[];
  readonly analysisProviders: readonly string[];
}

interface ProviderState {
  kind: ProviderKind;
  name: string;
  policy: ProviderPolicy;
  breaker: CircuitBreaker;
  limiter: ConcurrencyLimiter;
}

/** Counts one provider's requests and consumption across retries (and pieces). */
interface Meter {
  attempts: number;
  audioSec: number;
}

const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_EVEN });

export function createProviderRegistry(options: ProviderRegistryOptions): ProviderRegistry {
  const defaultPolicy = mergePolicy(DEFAULT_PROVIDER_POLICY, options.defaultPolicy);
  const zeroCurrency = options.zeroCostCurrency ?? "USD";
  // Prices are checked now, so a bad configuration fails at start, not on the first call.
  for (const [name, price] of Object.entries(options.pricing?.speech ?? {})) {
    speechCost(60, price, `speech pricing of ${name}`);
  }
  for (const [name, price] of Object.entries(options.pricing?.analysis ?? {})) {
    analysisCost(1000, 1000, price, `analysis pricing of ${name}`);
  }

  const states = new Map<string, ProviderState>();
  const stateOf = (kind: ProviderKind, name: string): ProviderState => {
    const key = `${kind}:${name}`;
    let state = states.get(key);
    if (!state) {
      const policy = mergePolicy(mergePolicy(defaultPolicy, options.policy?.[name]), options.policy?.[key]);
      if (kind === "speech" && policy.chunking && !options.audio) {
        throw new Error(`Provider ${key} has chunking but the registry was given no audio tools.`);
      }
      state = {
        kind,
        name,
        policy,
        breaker: createCircuitBreaker({
          ...policy.breaker,
          name: `${kind === "speech" ? "Speech-to-text" : "Analysis"} provider ${name}`,
          context: { provider: name, kind },
          ...(options.now ? { now: options.now } : {}),
          onStateChange: (from, to) =>
            options.logger?.warn({ provider: name, kind, from, to }, "provider circuit changed"),
        }),
        limiter: createConcurrencyLimiter(policy.concurrency),
      };
      states.set(key, state);
    }
    return state;
  };
  for (const name of Object.keys(options.transcribers)) stateOf("speech", name);
  for (const name of Object.keys(options.analyzers)) stateOf("analysis", name);

  /** One provider call: limiter → breaker → timeout, inside retries. */
  function guarded<T>(
    state: ProviderState,
    meter: Meter,
    fn: (signal: AbortSignal) => Promise<T>,
    signal: AbortSignal | undefined,
    audioSec: number,
  ): Promise<T> {
    const { policy } = state;
    const code: ErrorCode = state.kind === "speech" ? "TRANSCRIPTION_FAILED" : "ANALYSIS_FAILED";
    const timeoutMs = policy.timeoutMs > 0 ? policy.timeoutMs + audioSec * policy.timeoutPerAudioSecMs : 0;
    return withRetry(
      () =>
        state.limiter.run(
          () =>
            state.breaker.run(
              () => {
                meter.attempts++;
                return withTimeout(fn, timeoutMs, {
                  ...(signal ? { signal } : {}),
                  code,
                  what: `Provider ${state.name}`,
                  context: { provider: state.name },
                });
              },
              signal ? { signal } : {},
            ),
          signal ? { signal } : {},
        ),
      {
        retries: policy.retries,
        baseDelayMs: policy.baseDelayMs,
        maxDelayMs: policy.maxDelayMs,
        maxRetryAfterMs: policy.maxRetryAfterMs,
        ...(signal ? { signal } : {}),
        // An open circuit is not waited out here: the next provider is the better bet.
        isRetryable: (error) =>
          isAppError(error) && error.retryable && !error.interrupted && !isCircuitOpenError(error),
        ...(options.random ? { random: options.random } : {}),
        ...(options.sleep ? { sleep: options.sleep } : {}),
        onRetry: ({ attempt, delayMs, error }) =>
          options.logger?.info(
            {
              provider: state.name,
              kind: state.kind,
              attempt,
              delayMs,
              code: isAppError(error) ? error.code : undefined,
            },
            "retrying provider",
          ),
      },
    );
  }

  async function report(record: ProviderUsageRecord): Promise<void> {
    if (!options.onUsage) return;
    try {
      await options.onUsage(record);
    } catch (error) {
      options.logger?.error(
        { err: error, provider: record.provider, kind: record.kind },
        "could not record provider usage",
      );
    }
  }

  function speechUsage(
    name: string,
    meter: Meter,
    outcome: ProviderOutcome,
    account: SpeechAccountSettings,
    context: UsageContext,
    errorCode?: string,
  ): ProviderUsageRecord {
    const price = options.pricing?.speech?.[name];
    return {
      kind: "speech",
      provider: name,
      accountId: account.id,
      callId: context.callId,
      audioSec: meter.audioSec,
      inputTokens: 0,
      outputTokens: 0,
      ourCost: price ? speechCost(meter.audioSec, price) : Money.zero(zeroCurrency),
      attempts: meter.attempts,
      outcome,
      errorCode,
    };
  }

  return {
    speechProviders: Object.keys(options.transcribers),
    analysisProviders: Object.keys(options.analyzers),

    circuitState(kind, provider) {
      return states.get(`${kind}:${provider}`)?.breaker.state;
    },

    transcriberFor(account, context = {}) {
      const order = routeOrder([], account.speechProviders, options.defaults.speech, options.transcribers);
      const accountLanguage =
        account.speechLanguage && account.speechLanguage !== "auto" ? account.speechLanguage : undefined;
      return {
        name: "registry",
        order: order.map((o) => o.name),
        async transcribe(input: TranscribeInput): Promise<RoutedTranscriptionResult> {
          // An explicit language wins; "auto" means none, so each provider detects it.
          const requested = input.language === "auto" ? undefined : input.language;
          const language = requested ?? accountLanguage;
          const tried: ProviderTry[] = order.filter((o) => !o.configured).map((o) => unavailable(o.name));
          let lastError: unknown;
          for (const { name, configured } of order) {
            if (!configured) continue;
            const provider = options.transcribers[name]!;
            const state = stateOf("speech", name);
            const speaks = options.speechLanguages?.[name];
            if (language !== undefined && speaks && !speaks.includes(language)) {
              tried.push({
                provider: name,
                attempts: 0,
                outcome: "skipped",
                message: `does not recognise "${language}"`,
              });
              continue;
            }
            const meter: Meter = { attempts: 0, audioSec: 0 };
            const one: Transcriber = {
              name,
              transcribe: async (piece) => {
                const result = await guarded(
                  state,
                  meter,
                  (signal) => provider.transcribe({ ...piece, signal }),
                  piece.signal,
                  piece.durationSec,
                );
                meter.audioSec += result.usage.audioSec;
                return result;
              },
            };
            const chunking = state.policy.chunking;
            const transcriber =
              chunking && options.audio
                ? createChunkedTranscriber(one, {
                    audio: options.audio,
                    ...chunking,
                    ...(options.tmpDir ? { tmpDir: options.tmpDir } : {}),
                  })
                : one;
            try {
              const { language: _ignored, ...rest } = input;
              const result = await transcriber.transcribe({
                ...rest,
                ...(language === undefined ? {} : { language }),
              });
              tried.push({ provider: name, attempts: meter.attempts, outcome: "ok" });
              await report(speechUsage(name, meter, "ok", account, context));
              return { ...result, provider: name, attempts: meter.attempts, tried };
            } catch (error) {
              lastError = error;
              tried.push(failedTry(name, meter.attempts, error));
              if (meter.attempts > 0)
                await report(speechUsage(name, meter, "failed", account, context, codeOf(error)));
              // An interrupted provider (the server is stopping) is not a reason to try the next one.
              if (!isAppError(error) || error.interrupted || input.signal?.aborted) throw error;
            }
          }
          throw allFailed("TRANSCRIPTION_FAILED", "speech-to-text", tried, lastError);
        },
      };
    },

    analyzerFor(account, templateProvider, context = {}) {
      const order = routeOrder(
        [templateProvider],
        account.analysisProviders,
        options.defaults.analysis,
        options.analyzers,
      );
      return {
        name: "registry",
        order: order.map((o) => o.name),
        async analyze(input: AnalysisInput): Promise<RoutedAnalysisResult> {
          const tried: ProviderTry[] = order.filter((o) => !o.configured).map((o) => unavailable(o.name));
          let lastError: unknown;
          for (const { name, configured } of order) {
            if (!configured) continue;
            const analyzer = options.analyzers[name]!;
            const state = stateOf("analysis", name);
            const meter: Meter = { attempts: 0, audioSec: 0 };
            const price = options.pricing?.analysis?.[name];
            const record = (
              outcome: ProviderOutcome,
              tokens: { inputTokens: number; outputTokens: number },
              errorCode?: string,
            ) => ({
              kind: "analysis" as const,
              provider: name,
              accountId: account.id,
              callId: context.callId,
              audioSec: 0,
              inputTokens: tokens.inputTokens,
              outputTokens: tokens.outputTokens,
              ourCost: price
                ? analysisCost(tokens.inputTokens, tokens.outputTokens, price)
                : Money.zero(zeroCurrency),
              attempts: meter.attempts,
              outcome,
              errorCode,
            });
            try {
              const result = await guarded(
                state,
                meter,
                (signal) => analyzer.analyze({ ...input, signal }),
                input.signal,
                0,
              );
              tried.push({ provider: name, attempts: meter.attempts, outcome: "ok" });
              await report(record("ok", result.usage));
              return { ...result, provider: name, attempts: meter.attempts, tried };
            } catch (error) {
              lastError = error;
              tried.push(failedTry(name, meter.attempts, error));
              if (meter.attempts > 0)
                await report(record("failed", { inputTokens: 0, outputTokens: 0 }, codeOf(error)));
              // An interrupted provider (the server is stopping) is not a reason to try the next one.
              if (!isAppError(error) || error.interrupted || input.signal?.aborted) throw error;
            }
          }
          throw allFailed("ANALYSIS_FAILED", "analysis", tried, lastError);
        },
      };
    },
  };
}

/**
 * first (the template's provider), then the account's order, or the server's default order when the
 * account has none, or none of its providers is configured here; duplicates removed.
 */
function routeOrder(
  first: readonly string[],
  accountOrder: readonly string[] | undefined,
  defaults: readonly string[],
  configured: Record<string, unknown>,
): Array<{ name: string; configured: boolean }> {
  const isConfigured = (name: string) => Object.hasOwn(configured, name);
  const fallback = accountOrder?.some(isConfigured) ? accountOrder : [...(accountOrder ?? []), ...defaults];
  const names = [...new Set([...first, ...fallback])];
  return names.map((name) => ({ name, configured: isConfigured(name) }));
}

/** Our cost of audioSec seconds at a per-minute price, rounded half-even to 6 decimals. */
export function speechCost(audioSec: number, price: SpeechPricing, what = "speech pricing"): Money {
  const perMinute = decimal(price.perAudioMinute, what);
  // Seconds are a float measurement; milliseconds are all the precision a price needs.
  let seconds = new D(Math.max(0, audioSec).toFixed(3));
  if (price.billingStepSec !== undefined && price.billingStepSec > 0) {
    const step = new D(price.billingStepSec);
    seconds = seconds.div(step).ceil().times(step);
  }
  if (price.minimumSec !== undefined && seconds.lt(price.minimumSec)) seconds = new D(price.minimumSec);
  return toMoney(seconds.div(60).times(perMinute), price.currency, what);
}

/** Our cost of the tokens at per-1,000 prices, rounded half-even to 6 decimals. */
export function analysisCost(
  inputTokens: number,
  outputTokens: number,
  price: AnalysisPricing,
  what = "analysis pricing",
): Money {
  const input = decimal(price.per1kInputTokens, what)
    .times(Math.max(0, Math.trunc(inputTokens)))
    .div(1000);
  const output = decimal(price.per1kOutputTokens, what)
    .times(Math.max(0, Math.trunc(outputTokens)))
    .div(1000);
  return toMoney(input.plus(output), price.currency, what);
}

function decimal(value: string, what: string): InstanceType<typeof D> {
  if (typeof value !== "string" || !/^\d{1,14}(\.\d{1,9})?$/.test(value)) {
    throw new RangeError(`${what}: not a non-negative decimal string: ${JSON.stringify(value)}`);
  }
  return new D(value);
}

function toMoney(amount: InstanceType<typeof D>, currency: Currency, what: string): Money {
  try {
    return Money.of(amount.toDecimalPlaces(6, D.ROUND_HALF_EVEN).toFixed(6), currency);
  } catch (error) {
    throw new RangeError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function mergePolicy(base: ProviderPolicy, override: ProviderPolicyOverride | undefined): ProviderPolicy {
  if (!override) return base;
  const { breaker, ...rest } = override;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return { ...base, ...defined, breaker: { ...base.breaker, ...breaker } };
}

function unavailable(name: string): ProviderTry {
  return { provider: name, attempts: 0, outcome: "unavailable", message: "not configured on this server" };
}

function failedTry(name: string, attempts: number, error: unknown): ProviderTry {
  const skipped = attempts === 0 && isCircuitOpenError(error);
  return {
    provider: name,
    attempts,
    outcome: skipped ? "skipped" : "failed",
    ...(isAppError(error) ? { errorCode: error.code, retryable: error.retryable } : {}),
    message: error instanceof Error ? error.message : String(error),
  };
}

function codeOf(error: unknown): string | undefined {
  return isAppError(error) ? error.code : undefined;
}

/**
 * Every provider failed or was skipped. Retryable when any of them might work later (a transient
 * failure or an open circuit), so the pipeline retries the step; not when all refused for good.
 */
function allFailed(code: ErrorCode, what: string, tried: ProviderTry[], lastError: unknown): AppError {
  const usable = tried.filter((t) => t.outcome !== "unavailable");
  if (usable.length === 0) {
    return new AppError(code, `No ${what} provider is configured for this account.`, {
      context: { tried },
    });
  }
  const retryable = usable.some((t) => t.retryable === true);
  const summary = usable.map((t) => `${t.provider}: ${t.message ?? t.outcome}`).join("; ");
  return new AppError(code, `Every ${what} provider failed (${summary}).`, {
    retryable,
    cause: lastError,
    context: { tried },
  });
}
