import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AppError } from "../../errors/app-error.ts";
import {
  CircuitOpenError,
  createCircuitBreaker,
  createConcurrencyLimiter,
  parseRetryAfterSec,
  retryDelayMs,
  withRetry,
  withTimeout,
} from "./resilience.ts";

const transient = (context: Record<string, unknown> = {}) =>
  new AppError("UNAVAILABLE", "try again", { retryable: true, context });
const permanent = () => new AppError("VALIDATION_FAILED", "bad request");

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );
}

describe("retryDelayMs", () => {
  const options = { baseDelayMs: 100, maxDelayMs: 1000 };

  it("draws full jitter under an exponentially growing, capped ceiling", () => {
    expect(retryDelayMs(transient(), 1, { ...options, random: () => 0.999 })).toBe(99);
    expect(retryDelayMs(transient(), 2, { ...options, random: () => 0.999 })).toBe(199);
    expect(retryDelayMs(transient(), 3, { ...options, random: () => 0.5 })).toBe(200);
    expect(retryDelayMs(transient(), 10, { ...options, random: () => 0.999 })).toBe(999);
    expect(retryDelayMs(transient(), 1, { ...options, random: () => 0 })).toBe(0);
  });

  it("waits at least a Retry-After, with jitter on top, and gives up on one above the cap", () => {
    const delay = retryDelayMs(transient({ retryAfterSec: 2 }), 1, { ...options, random: () => 0.5 });
    expect(delay).toBe(2050);
    expect(retryDelayMs(transient({ retryAfterSec: 31 }), 1, options)).toBeUndefined();
    expect(
      retryDelayMs(transient({ retryAfterSec: 5 }), 1, { ...options, maxRetryAfterMs: 4000 }),
    ).toBeUndefined();
  });
});

describe("parseRetryAfterSec", () => {
  it("reads delta-seconds and HTTP dates", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfterSec("7", now)).toBe(7);
    expect(parseRetryAfterSec("0.25", now)).toBe(0.25);
    expect(parseRetryAfterSec("Thu, 01 Jan 2026 00:00:09 GMT", now)).toBe(9);
    expect(parseRetryAfterSec("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfterSec("soon", now)).toBeUndefined();
    expect(parseRetryAfterSec(undefined, now)).toBeUndefined();
    expect(parseRetryAfterSec("-3", now)).toBeUndefined();
  });
});

describe("withRetry", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("retries retryable errors with backoff and returns the first success", async () => {
    const fn = vi.fn(async (attempt: number) => {
      if (attempt < 3) throw transient();
      return `ok on ${attempt}`;
    });
    const delays: number[] = [];
    const pending = withRetry(fn, {
      retries: 3,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      random: () => 0.999,
      onRetry: ({ delayMs }) => delays.push(delayMs),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(98);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(199);
    await expect(pending).resolves.toBe("ok on 3");
    expect(delays).toEqual([99, 199]);
  });

  it("does not retry a non-retryable AppError or a programmer error", async () => {
    const bad = vi.fn(async () => {
      throw permanent();
    });
    await expect(withRetry(bad, { retries: 5, baseDelayMs: 1, maxDelayMs: 1 })).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
    });
    expect(bad).toHaveBeenCalledTimes(1);
    const bug = vi.fn(async () => {
      throw new TypeError("undefined is not a function");
    });
    await expect(withRetry(bug, { retries: 5, baseDelayMs: 1, maxDelayMs: 1 })).rejects.toBeInstanceOf(
      TypeError,
    );
    expect(bug).toHaveBeenCalledTimes(1);
  });

  it("stops after retries + 1 attempts with the last error", async () => {
    let n = 0;
    const pending = rejection(
      withRetry(
        async () => {
          n++;
          throw transient({ n });
        },
        { retries: 2, baseDelayMs: 10, maxDelayMs: 10, random: () => 0.5 },
      ),
    );
    await vi.advanceTimersByTimeAsync(100);
    const error = await pending;
    expect(n).toBe(3);
    expect((error as AppError).context.n).toBe(3);
  });

  it("honours Retry-After: the next attempt does not start before it", async () => {
    const fn = vi.fn(async (attempt: number) => {
      if (attempt === 1) throw transient({ retryAfterSec: 3 });
      return "done";
    });
    const pending = withRetry(fn, { retries: 1, baseDelayMs: 50, maxDelayMs: 50, random: () => 0 });
    await vi.advanceTimersByTimeAsync(2999);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(pending).resolves.toBe("done");
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it("gives up at once when Retry-After is beyond the cap", async () => {
    const fn = vi.fn(async () => {
      throw transient({ retryAfterSec: 120 });
    });
    await expect(
      withRetry(fn, { retries: 3, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 10_000 }),
    ).rejects.toMatchObject({ context: { retryAfterSec: 120 } });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it("an abort during the wait ends the retries with the last error", async () => {
    const controller = new AbortController();
    const fn = vi.fn(async () => {
      throw transient({ which: "last" });
    });
    const pending = rejection(
      withRetry(fn, {
        retries: 5,
        baseDelayMs: 10_000,
        maxDelayMs: 10_000,
        random: () => 0.9,
        signal: controller.signal,
      }),
    );
    await vi.advanceTimersByTimeAsync(10);
    controller.abort();
    const error = await pending;
    expect(fn).toHaveBeenCalledTimes(1);
    expect((error as AppError).context.which).toBe("last");
  });
});

describe("withTimeout", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("rejects with a retryable AppError at the deadline and aborts the call's signal", async () => {
    let seen: AbortSignal | undefined;
    const pending = rejection(
      withTimeout(
        (signal) => {
          seen = signal;
          return new Promise<never>(() => {});
        },
        500,
        { code: "TRANSCRIPTION_FAILED", what: "Provider x", context: { provider: "x" } },
      ),
    );
    await vi.advanceTimersByTimeAsync(499);
    expect(seen?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = (await pending) as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "TRANSCRIPTION_FAILED", retryable: true });
    expect(error.context).toMatchObject({ provider: "x", timeoutMs: 500 });
    expect(seen?.aborted).toBe(true);
  });

  it("passes a result through before the deadline and clears its timer", async () => {
    const pending = withTimeout(async () => "fast", 500);
    await expect(pending).resolves.toBe("fast");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("forwards the caller's abort to the call", async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const pending = rejection(
      withTimeout(
        (signal) => {
          seen = signal;
          return new Promise<never>((_, reject) =>
            signal.addEventListener("abort", () => reject(new Error("aborted"))),
          );
        },
        10_000,
        { signal: controller.signal },
      ),
    );
    controller.abort();
    expect(((await pending) as Error).message).toBe("aborted");
    expect(seen?.aborted).toBe(true);
  });
});

describe("createCircuitBreaker", () => {
  function setup(overrides: Partial<Parameters<typeof createCircuitBreaker>[0]> = {}) {
    let clock = 1_000_000;
    const transitions: string[] = [];
    const breaker = createCircuitBreaker({
      failureThreshold: 3,
      openMs: 10_000,
      halfOpenMax: 1,
      now: () => clock,
      onStateChange: (from, to) => transitions.push(`${from}→${to}`),
      ...overrides,
    });
    return {
      breaker,
      transitions,
      advance: (ms: number) => {
        clock += ms;
      },
    };
  }
  const fail = () => Promise.reject(transient());
  const succeed = () => Promise.resolve("ok");

  it("closed → open after N consecutive retryable failures; an open circuit does not call", async () => {
    const { breaker, transitions } = setup();
    await rejection(breaker.run(fail));
    await rejection(breaker.run(fail));
    expect(breaker.state).toBe("closed");
    await rejection(breaker.run(fail));
    expect(breaker.state).toBe("open");
    expect(transitions).toEqual(["closed→open"]);

    const fn = vi.fn(succeed);
    const error = await rejection(breaker.run(fn));
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as AppError).retryable).toBe(true);
    expect((error as AppError).context.retryAfterSec).toBe(10);
    expect(fn).not.toHaveBeenCalled();
  });

  it("a success in between resets the count; non-retryable errors count as answers", async () => {
    const { breaker } = setup();
    await rejection(breaker.run(fail));
    await rejection(breaker.run(fail));
    await breaker.run(succeed);
    await rejection(breaker.run(fail));
    await rejection(breaker.run(fail));
    await rejection(breaker.run(() => Promise.reject(permanent())));
    await rejection(breaker.run(fail));
    await rejection(breaker.run(fail));
    expect(breaker.state).toBe("closed");
  });

  it("open → half-open after openMs → closed on a successful trial", async () => {
    const { breaker, advance, transitions } = setup();
    for (let i = 0; i < 3; i++) await rejection(breaker.run(fail));
    advance(9_999);
    expect(breaker.state).toBe("open");
    expect(breaker.retryInMs()).toBe(1);
    advance(1);
    expect(breaker.state).toBe("half-open");
    await expect(breaker.run(succeed)).resolves.toBe("ok");
    expect(breaker.state).toBe("closed");
    expect(transitions).toEqual(["closed→open", "open→half-open", "half-open→closed"]);
  });

  it("half-open → open again on a failed trial, for another openMs", async () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) await rejection(breaker.run(fail));
    advance(10_000);
    await rejection(breaker.run(fail));
    expect(breaker.state).toBe("open");
    advance(9_000);
    expect(breaker.state).toBe("open");
    advance(1_000);
    expect(breaker.state).toBe("half-open");
  });

  it("half-open lets only halfOpenMax trials through at once", async () => {
    const { breaker, advance } = setup({ halfOpenMax: 2 });
    for (let i = 0; i < 3; i++) await rejection(breaker.run(fail));
    advance(10_000);
    const releases: Array<() => void> = [];
    const slow = () => new Promise<string>((resolve) => releases.push(() => resolve("slow")));
    const first = breaker.run(slow);
    const second = breaker.run(slow);
    const third = vi.fn(succeed);
    expect(await rejection(breaker.run(third))).toBeInstanceOf(CircuitOpenError);
    expect(third).not.toHaveBeenCalled();
    for (const release of releases) release();
    await expect(Promise.all([first, second])).resolves.toEqual(["slow", "slow"]);
    expect(breaker.state).toBe("closed");
  });

  it("a call aborted by its caller neither counts nor keeps a trial slot", async () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) await rejection(breaker.run(fail));
    advance(10_000);
    const controller = new AbortController();
    controller.abort();
    await rejection(breaker.run(fail, { signal: controller.signal }));
    expect(breaker.state).toBe("half-open");
    await breaker.run(succeed);
    expect(breaker.state).toBe("closed");
  });
});

describe("createConcurrencyLimiter", () => {
  it("never runs more than max at once and starts waiters in arrival order", async () => {
    const limiter = createConcurrencyLimiter(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const releases = new Map<number, () => void>();
    const task = (id: number) => () =>
      new Promise<number>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        started.push(id);
        releases.set(id, () => {
          running--;
          resolve(id);
        });
      });
    const all = [1, 2, 3, 4, 5].map((id) => limiter.run(task(id)));
    await Promise.resolve();
    expect(started).toEqual([1, 2]);
    expect(limiter.active).toBe(2);
    expect(limiter.waiting).toBe(3);
    releases.get(2)?.();
    await vi.waitFor(() => expect(started).toEqual([1, 2, 3]));
    releases.get(1)?.();
    await vi.waitFor(() => expect(started).toEqual([1, 2, 3, 4]));
    releases.get(3)?.();
    await vi.waitFor(() => expect(started).toEqual([1, 2, 3, 4, 5]));
    releases.get(4)?.();
    releases.get(5)?.();
    await expect(Promise.all(all)).resolves.toEqual([1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    expect(limiter.active).toBe(0);
  });

  it("a failing task frees its slot, and an aborted waiter leaves the queue", async () => {
    const limiter = createConcurrencyLimiter(1);
    let release: () => void = () => {};
    const holder = limiter.run(() => new Promise<void>((r) => (release = r)));
    const controller = new AbortController();
    const waiter = vi.fn(async () => "never");
    const aborted = rejection(limiter.run(waiter, { signal: controller.signal }));
    expect(limiter.waiting).toBe(1);
    controller.abort();
    expect(await aborted).toMatchObject({ retryable: true });
    expect(limiter.waiting).toBe(0);
    release();
    await holder;
    await rejection(limiter.run(() => Promise.reject(new Error("boom"))));
    await expect(limiter.run(async () => "free again")).resolves.toBe("free again");
    expect(waiter).not.toHaveBeenCalled();
  });
});
