import { type ErrorCode, isAppError } from "../../errors/app-error.ts";
import type { Logger } from "../../logging/logger.ts";
import type { ProviderState } from "./provider-states.ts";
import { isCircuitOpenError, withRetry, withTimeout } from "./resilience.ts";

/** Counts one provider's requests and consumption across retries (and pieces). */
export interface Meter {
  attempts: number;
  audioSec: number;
}

/** Injectable for tests: the retries' jitter and sleep; where retries are logged. */
export interface RetryHooks {
  random: (() => number) | undefined;
  sleep: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  logger: Logger | undefined;
}

/**
 * One provider call: concurrency limiter → circuit breaker → per-attempt timeout → provider, inside
 * retries with full jitter that honour Retry-After. Each request sent counts in `meter.attempts`.
 */
export function callGuarded<T>(
  state: ProviderState,
  meter: Meter,
  fn: (signal: AbortSignal) => Promise<T>,
  options: { signal: AbortSignal | undefined; audioSec: number; hooks: RetryHooks },
): Promise<T> {
  const { policy } = state;
  const { signal, audioSec, hooks } = options;
  const code: ErrorCode = state.kind === "speech" ? "TRANSCRIPTION_FAILED" : "ANALYSIS_FAILED";
  const timeoutMs = policy.timeoutMs > 0 ? policy.timeoutMs + audioSec * policy.timeoutPerAudioSecMs : 0;
  const abortable = signal ? { signal } : {};
  const attempt = () => {
    meter.attempts++;
    return withTimeout(fn, timeoutMs, {
      ...abortable,
      code,
      what: `Provider ${state.name}`,
      context: { provider: state.name },
    });
  };
  return withRetry(() => state.limiter.run(() => state.breaker.run(attempt, abortable), abortable), {
    retries: policy.retries,
    baseDelayMs: policy.baseDelayMs,
    maxDelayMs: policy.maxDelayMs,
    maxRetryAfterMs: policy.maxRetryAfterMs,
    ...abortable,
    // An open circuit is not waited out here: the next provider is the better bet.
    isRetryable: (error) =>
      isAppError(error) && error.retryable && !error.interrupted && !isCircuitOpenError(error),
    ...(hooks.random ? { random: hooks.random } : {}),
    ...(hooks.sleep ? { sleep: hooks.sleep } : {}),
    onRetry: ({ attempt, delayMs, error }) =>
      hooks.logger?.info(
        {
          provider: state.name,
          kind: state.kind,
          attempt,
          delayMs,
          code: isAppError(error) ? error.code : undefined,
        },
        "retrying provider",
      ),
  });
}
