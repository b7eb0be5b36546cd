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
 *
 * The parts: provider-policy.ts (policies), provider-costs.ts (our cost), provider-states.ts (breakers
 * and limiters), guarded-call.ts (one guarded call), provider-routing.ts (order and outcome of tries),
 * routed-transcriber.ts and routed-analyzer.ts (the two kinds of work), provider-usage.ts (reporting).
 */
import type { AudioTools } from "../../audio/audio-tools.ts";
import type { ProviderKind } from "../../domain/providers.ts";
import type { Logger } from "../../logging/logger.ts";
import type { Currency } from "../../money/money.ts";
import type { CallAnalyzer } from "../analysis/call-analyzer.ts";
import type { Transcriber } from "../transcription/transcriber.ts";
import { assertPricingValid, type ProviderPricing } from "./provider-costs.ts";
import { DEFAULT_PROVIDER_POLICY, mergePolicy, type ProviderPolicyOverride } from "./provider-policy.ts";
import type { ProviderRouting } from "./provider-routing.ts";
import { createProviderStates } from "./provider-states.ts";
import { createUsageReporter, type ProviderUsageRecord, type UsageContext } from "./provider-usage.ts";
import type { CircuitState } from "./resilience.ts";
import {
  type AnalysisAccountSettings,
  createRoutedAnalyzer,
  type RoutedAnalyzer,
} from "./routed-analyzer.ts";
import {
  createRoutedTranscriber,
  type RoutedTranscriber,
  type SpeechAccountSettings,
} from "./routed-transcriber.ts";

export interface ProviderRegistryOptions {
  transcribers: Record<string, Transcriber>;
  analyzers: Record<string, CallAnalyzer>;
  /** Server-wide fallback orders, used when an account has none. */
  defaults: { speech: readonly string[]; analysis: readonly string[] };
  defaultPolicy?: ProviderPolicyOverride;
  /** By "kind:name" or by name. */
  policy?: Record<string, ProviderPolicyOverride>;
  pricing?: ProviderPricing;
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

export function createProviderRegistry(options: ProviderRegistryOptions): ProviderRegistry {
  assertPricingValid(options.pricing);
  const states = createProviderStates({
    defaultPolicy: mergePolicy(DEFAULT_PROVIDER_POLICY, options.defaultPolicy),
    policy: options.policy,
    canChunk: options.audio !== undefined,
    now: options.now,
    logger: options.logger,
  });
  // Every configured provider's policy is checked (and its breaker made) now, not on its first call.
  for (const name of Object.keys(options.transcribers)) states.stateOf("speech", name);
  for (const name of Object.keys(options.analyzers)) states.stateOf("analysis", name);

  const routing: ProviderRouting = {
    stateOf: states.stateOf,
    report: createUsageReporter(options.onUsage, options.logger),
    hooks: { random: options.random, sleep: options.sleep, logger: options.logger },
    zeroCostCurrency: options.zeroCostCurrency ?? "USD",
  };
  const speech = {
    ...routing,
    transcribers: options.transcribers,
    defaultOrder: options.defaults.speech,
    speechLanguages: options.speechLanguages,
    pricing: options.pricing?.speech,
    audio: options.audio,
    tmpDir: options.tmpDir,
  };
  const analysis = {
    ...routing,
    analyzers: options.analyzers,
    defaultOrder: options.defaults.analysis,
    pricing: options.pricing?.analysis,
  };
  return {
    speechProviders: Object.keys(options.transcribers),
    analysisProviders: Object.keys(options.analyzers),
    circuitState: states.circuitState,
    transcriberFor: (account, context) => createRoutedTranscriber(speech, account, context),
    analyzerFor: (account, templateProvider, context) =>
      createRoutedAnalyzer(analysis, account, templateProvider, context),
  };
}
