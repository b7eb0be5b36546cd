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

/** `override`'s defined fields over `base` (the breaker merged field by field). */
export function mergePolicy(
  base: ProviderPolicy,
  override: ProviderPolicyOverride | undefined,
): ProviderPolicy {
  if (!override) return base;
  const { breaker, ...rest } = override;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return { ...base, ...defined, breaker: { ...base.breaker, ...breaker } };
}
