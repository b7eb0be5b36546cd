import type { ProviderOutcome } from "../../domain/providers.ts";
import { Money } from "../../money/money.ts";
import type { AnalysisInput, AnalysisResult, CallAnalyzer } from "../analysis/call-analyzer.ts";
import { callGuarded, type Meter } from "./guarded-call.ts";
import { type AnalysisPricing, analysisCost } from "./provider-costs.ts";
import {
  allFailed,
  codeOf,
  endsTheRoute,
  failedTry,
  type ProviderRouting,
  type ProviderTry,
  routeOrder,
  unavailableTries,
} from "./provider-routing.ts";
import type { ProviderUsageRecord, UsageContext } from "./provider-usage.ts";

export interface AnalysisAccountSettings {
  id?: string;
  /** Tried after the template's own provider; empty or absent = the server's default order. */
  analysisProviders?: readonly string[];
}

export interface RoutedAnalysisResult extends AnalysisResult {
  provider: string;
  attempts: number;
  tried: ProviderTry[];
}

export interface RoutedAnalyzer extends CallAnalyzer {
  readonly order: readonly string[];
  analyze(input: AnalysisInput): Promise<RoutedAnalysisResult>;
}

export interface AnalysisRouting extends ProviderRouting {
  analyzers: Record<string, CallAnalyzer>;
  /** The server's order, for accounts without one of their own. */
  defaultOrder: readonly string[];
  pricing: Record<string, AnalysisPricing> | undefined;
}

type Tokens = { inputTokens: number; outputTokens: number };

/**
 * A CallAnalyzer for one template of the account: the template's provider first, then the account's
 * order; each guarded, each provider's usage reported once.
 */
export function createRoutedAnalyzer(
  routing: AnalysisRouting,
  account: AnalysisAccountSettings,
  templateProvider: string,
  context: UsageContext = {},
): RoutedAnalyzer {
  const order = routeOrder(
    [templateProvider],
    account.analysisProviders,
    routing.defaultOrder,
    routing.analyzers,
  );
  const usage = (name: string, meter: Meter, outcome: ProviderOutcome, tokens: Tokens, errorCode?: string) =>
    analysisUsage(routing, { name, meter, outcome, tokens, errorCode }, account, context);
  return {
    name: "registry",
    order: order.map((o) => o.name),
    async analyze(input: AnalysisInput): Promise<RoutedAnalysisResult> {
      const tried = unavailableTries(order);
      let lastError: unknown;
      for (const { name, configured } of order) {
        if (!configured) continue;
        const analyzer = routing.analyzers[name]!;
        const meter: Meter = { attempts: 0, audioSec: 0 };
        try {
          const result = await callGuarded(
            routing.stateOf("analysis", name),
            meter,
            (signal) => analyzer.analyze({ ...input, signal }),
            { signal: input.signal, audioSec: 0, hooks: routing.hooks },
          );
          tried.push({ provider: name, attempts: meter.attempts, outcome: "ok" });
          await routing.report(usage(name, meter, "ok", result.usage));
          return { ...result, provider: name, attempts: meter.attempts, tried };
        } catch (error) {
          lastError = error;
          tried.push(failedTry(name, meter.attempts, error));
          const none = { inputTokens: 0, outputTokens: 0 };
          if (meter.attempts > 0) await routing.report(usage(name, meter, "failed", none, codeOf(error)));
          if (endsTheRoute(error, input.signal)) throw error;
        }
      }
      throw allFailed("ANALYSIS_FAILED", "analysis", tried, lastError);
    },
  };
}

function analysisUsage(
  routing: AnalysisRouting,
  tried: {
    name: string;
    meter: Meter;
    outcome: ProviderOutcome;
    tokens: Tokens;
    errorCode: string | undefined;
  },
  account: AnalysisAccountSettings,
  context: UsageContext,
): ProviderUsageRecord {
  const price = routing.pricing?.[tried.name];
  const { inputTokens, outputTokens } = tried.tokens;
  return {
    kind: "analysis",
    provider: tried.name,
    accountId: account.id,
    callId: context.callId,
    audioSec: 0,
    inputTokens,
    outputTokens,
    ourCost: price ? analysisCost(inputTokens, outputTokens, price) : Money.zero(routing.zeroCostCurrency),
    attempts: tried.meter.attempts,
    outcome: tried.outcome,
    errorCode: tried.errorCode,
  };
}
