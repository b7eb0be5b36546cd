/**
 * The building blocks every third-party call goes through (PRODUCT.md "Providers": rate-limited,
 * time-limited, retried): retries with full jitter that honour Retry-After, a per-attempt timeout that
 * really cancels the request, a circuit breaker and a concurrency limiter. No timers or randomness are
 * hidden: each takes an injectable clock/sleep/random so tests drive them deterministically.
 */
import { AppError, type ErrorCode, isAppError } from "../../errors/app-error.ts";

// ---------------------------------------------------------------------------------------------------
// Retry

export interface RetryOptions {
  /** Attempts after the first one (0 = no retry). */
  retries: number;
  /** Full-jitter backoff: retry n (1-based) waits random × min(maxDelayMs, baseDelayMs × 2^(n-1)). */
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * The longest Retry-After (AppError context.retryAfterSec) we are willing to wait. A server asking
   * for longer is not retried at all: waiting less than it asked would break its rule, and the caller's
   * fallback to another provider is the better use of the time. Default 30 s.
   */
  maxRetryAfterMs?: number;
  /** Aborting stops the retries: no new attempt starts and a pending wait ends at once. */
  signal?: AbortSignal;
  /** Default: an AppError whose `retryable` is true. Anything else (a programmer error) is thrown at once. */
  isRetryable?: (error: unknown) => boolean;
  /** 0 ≤ random() < 1; default Math.random. */
  random?: () => number;
  /** Default: setTimeout, cut short by the signal. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

export const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;

/**
 * Calls fn until it succeeds, fails with an error that is not retryable, or has failed retries + 1
 * times; the last error is thrown as is. fn gets the 1-based attempt number.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const isRetryable = options.isRetryable ?? defaultIsRetryable;
  const sleep = options.sleep ?? abortableSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt > options.retries || !isRetryable(error) || options.signal?.aborted) throw error;
      const delayMs = retryDelayMs(error, attempt, options);
      if (delayMs === undefined) throw error;
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}

/**
 * How long to wait before retry number `retry` (1-based) after `error`, or undefined when the server's
 * Retry-After is beyond what we wait for. A Retry-After is waited exactly, plus a little jitter so that
 * many clients told the same second do not all come back at once.
 */
export function retryDelayMs(
  error: unknown,
  retry: number,
  options: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs" | "maxRetryAfterMs" | "random">,
): number | undefined {
  const random = options.random ?? Math.random;
  const retryAfterSec = isAppError(error) ? error.context.retryAfterSec : undefined;
  if (typeof retryAfterSec === "number" && Number.isFinite(retryAfterSec) && retryAfterSec >= 0) {
    const retryAfterMs = retryAfterSec * 1000;
    if (retryAfterMs > (options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS)) return undefined;
    return Math.ceil(retryAfterMs + random() * Math.min(options.baseDelayMs, options.maxDelayMs));
  }
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(retry - 1, 30));
  return Math.floor(random() * ceiling);
}

function defaultIsRetryable(error: unknown): boolean {
  return isAppError(error) && error.retryable;
}

/**
 * Retry-After as seconds: delta-seconds ("7", "0.5") or an HTTP-date (RFC 9110 §10.2.3); undefined
 * when absent or unparseable. A date in the past is 0.
 */
export function parseRetryAfterSec(
  value: string | null | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  // IMF-fixdate and the obsolete forms all name the day or month; Date.parse alone reads "-3" as a year.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, (at - nowMs) / 1000);
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------------
// Timeout

export interface TimeoutOptions {
  /** The caller's signal: aborting it aborts the call too. */
  signal?: AbortSignal;
  /** Code of the timeout error (default UNAVAILABLE; providers pass TRANSCRIPTION_FAILED / ANALYSIS_FAILED). */
  code?: ErrorCode;
  /** Names the thing that timed out in the message, e.g. "Speech-to-text provider openai". */
  what?: string;
  context?: Record<string, unknown>;
}

/**
 * Runs fn with a signal that aborts after ms, so the request itself is cancelled, and rejects with a
 * retryable AppError at ms even if fn ignores its signal. ms ≤ 0 or non-finite means no limit.
 */
export function withTimeout<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  ms: number,
  options: TimeoutOptions = {},
): Promise<T> {
  const controller = new AbortController();
  const parent = options.signal;
  const onParentAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener("abort", onParentAbort, { once: true });

  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cleanup = () => {
      if (timer !== undefined) clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
    };
    if (Number.isFinite(ms) && ms > 0) {
      timer = setTimeout(() => {
        const error = new AppError(
          options.code ?? "UNAVAILABLE",
          `${options.what ?? "The call"} did not finish within ${ms} ms.`,
          { retryable: true, context: { ...options.context, timeoutMs: ms, timedOut: true } },
        );
        controller.abort(error);
        cleanup();
        reject(error);
      }, ms);
    }
    let result: Promise<T>;
    try {
      result = fn(controller.signal);
    } catch (error) {
      cleanup();
      reject(error);
      return;
    }
    result.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------------
// Circuit breaker

export type CircuitState = "closed" | "open" | "half-open";

export interface CircuitBreakerOptions {
  /** Consecutive failures (see isFailure) that open a closed circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses calls before letting trial calls through (half-open). */
  openMs: number;
  /** Trial calls allowed at once while half-open; the first success closes the circuit. */
  halfOpenMax: number;
  /** Milliseconds clock; default Date.now. */
  now?: () => number;
  /**
   * Which errors count against the provider. Default: retryable AppErrors (timeouts, 429, 5xx,
   * unreachable). A non-retryable error (400, bad key) means the provider answered, so it counts as a
   * success for the circuit; the caller's own abort counts as nothing.
   */
  isFailure?: (error: unknown) => boolean;
  onStateChange?: (from: CircuitState, to: CircuitState) => void;
}

export interface CircuitBreaker {
  readonly state: CircuitState;
  /** Milliseconds until an open circuit goes half-open; 0 when it is not open. */
  retryInMs(): number;
  /** Runs fn if the circuit lets it through; otherwise rejects with CircuitOpenError without calling fn. */
  run<T>(fn: () => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
}

/** Thrown instead of calling a provider whose circuit is open (or half-open with its trials in flight). */
export class CircuitOpenError extends AppError {
  constructor(what: string, retryInMs: number, context: Record<string, unknown> = {}) {
    super("UNAVAILABLE", `${what} is unavailable (circuit open); not called.`, {
      retryable: true,
      context: { ...context, circuit: "open", retryAfterSec: Math.ceil(retryInMs / 1000) },
    });
  }
}

export function isCircuitOpenError(error: unknown): error is CircuitOpenError {
  return error instanceof CircuitOpenError;
}

export function createCircuitBreaker(
  options: CircuitBreakerOptions & { name?: string; context?: Record<string, unknown> },
): CircuitBreaker {
  const now = options.now ?? Date.now;
  const isFailure = options.isFailure ?? defaultIsRetryable;
  let state: CircuitState = "closed";
  let failures = 0;
  let openedAt = 0;
  let trials = 0;

  const moveTo = (next: CircuitState) => {
    if (next === state) return;
    const from = state;
    state = next;
    options.onStateChange?.(from, next);
  };
  const current = (): CircuitState => {
    if (state === "open" && now() - openedAt >= options.openMs) {
      trials = 0;
      moveTo("half-open");
    }
    return state;
  };
  const open = () => {
    openedAt = now();
    trials = 0;
    moveTo("open");
  };
  const onSuccess = (wasTrial: boolean) => {
    if (wasTrial) trials = Math.max(0, trials - 1);
    // A late answer from before the circuit opened proves nothing about now.
    if (state === "open") return;
    failures = 0;
    if (state === "half-open") moveTo("closed");
  };
  const onFailure = (wasTrial: boolean) => {
    if (wasTrial) trials = Math.max(0, trials - 1);
    if (state === "open") return;
    if (state === "half-open") {
      open();
      return;
    }
    failures++;
    if (failures >= options.failureThreshold) open();
  };

  const retryInMs = () => (current() === "open" ? Math.max(0, openedAt + options.openMs - now()) : 0);

  return {
    get state() {
      return current();
    },
    retryInMs,
    async run<T>(fn: () => Promise<T>, runOptions: { signal?: AbortSignal } = {}): Promise<T> {
      const at = current();
      const what = options.name ?? "The provider";
      if (at === "open") throw new CircuitOpenError(what, retryInMs(), options.context);
      const trial = at === "half-open";
      if (trial) {
        if (trials >= options.halfOpenMax) throw new CircuitOpenError(what, 0, options.context);
        trials++;
      }
      let value: T;
      try {
        value = await fn();
      } catch (error) {
        if (runOptions.signal?.aborted) {
          if (trial) trials = Math.max(0, trials - 1);
        } else if (isFailure(error)) onFailure(trial);
        else onSuccess(trial);
        throw error;
      }
      onSuccess(trial);
      return value;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Concurrency limit

export interface ConcurrencyLimiter {
  /** Runs fn when fewer than max calls are running; callers queue in arrival order. */
  run<T>(fn: () => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
  readonly active: number;
  readonly waiting: number;
}

export function createConcurrencyLimiter(max: number): ConcurrencyLimiter {
  if (!Number.isInteger(max) || max < 1)
    throw new RangeError(`Concurrency limit must be a positive integer: ${max}`);
  let active = 0;
  const queue: Array<{ start: () => void }> = [];

  const release = () => {
    active--;
    const next = queue.shift();
    if (next) next.start();
  };

  return {
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
    run<T>(fn: () => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
      const { signal } = options;
      return new Promise<T>((resolve, reject) => {
        const go = () => {
          active++;
          let result: Promise<T>;
          try {
            result = fn();
          } catch (error) {
            release();
            reject(error);
            return;
          }
          result.then(
            (value) => {
              release();
              resolve(value);
            },
            (error: unknown) => {
              release();
              reject(error);
            },
          );
        };
        if (signal?.aborted) {
          reject(cancelledWhileWaiting(signal));
          return;
        }
        if (active < max) {
          go();
          return;
        }
        const entry = {
          start: () => {
            signal?.removeEventListener("abort", onAbort);
            go();
          },
        };
        const onAbort = () => {
          const at = queue.indexOf(entry);
          if (at >= 0) queue.splice(at, 1);
          reject(cancelledWhileWaiting(signal));
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        queue.push(entry);
      });
    },
  };
}

function cancelledWhileWaiting(signal: AbortSignal | undefined): AppError {
  return new AppError("UNAVAILABLE", "Cancelled while waiting for a free provider slot.", {
    retryable: true,
    cause: signal?.reason,
  });
}
