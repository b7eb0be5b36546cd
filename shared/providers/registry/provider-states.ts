import type { ProviderKind } from "../../domain/providers.ts";
import type { Logger } from "../../logging/logger.ts";
import { mergePolicy, type ProviderPolicy, type ProviderPolicyOverride } from "./provider-policy.ts";
import {
  type CircuitBreaker,
  type CircuitState,
  type ConcurrencyLimiter,
  createCircuitBreaker,
  createConcurrencyLimiter,
} from "./resilience.ts";

/** One provider's policy, circuit breaker and concurrency limiter, per process and per (kind, provider). */
export interface ProviderState {
  kind: ProviderKind;
  name: string;
  policy: ProviderPolicy;
  breaker: CircuitBreaker;
  limiter: ConcurrencyLimiter;
}

export interface ProviderStates {
  /** The provider's state, made on first use. */
  stateOf(kind: ProviderKind, name: string): ProviderState;
  /** The circuit of a provider already known, else undefined. */
  circuitState(kind: ProviderKind, provider: string): CircuitState | undefined;
}

/**
 * Policies are looked up as `policy["speech:openai"]`, then `policy["openai"]`, then `defaultPolicy`, so
 * "speech:openai" and "analysis:openai" trip independently.
 */
export function createProviderStates(options: {
  defaultPolicy: ProviderPolicy;
  policy: Record<string, ProviderPolicyOverride> | undefined;
  /** False: a speech policy with chunking is a configuration error. */
  canChunk: boolean;
  now: (() => number) | undefined;
  logger: Logger | undefined;
}): ProviderStates {
  const states = new Map<string, ProviderState>();
  const create = (kind: ProviderKind, name: string, key: string): ProviderState => {
    const policy = mergePolicy(
      mergePolicy(options.defaultPolicy, options.policy?.[name]),
      options.policy?.[key],
    );
    if (kind === "speech" && policy.chunking && !options.canChunk) {
      throw new Error(`Provider ${key} has chunking but the registry was given no audio tools.`);
    }
    return {
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
  };
  return {
    stateOf(kind, name) {
      const key = `${kind}:${name}`;
      let state = states.get(key);
      if (!state) {
        state = create(kind, name, key);
        states.set(key, state);
      }
      return state;
    },
    circuitState(kind, provider) {
      return states.get(`${kind}:${provider}`)?.breaker.state;
    },
  };
}
