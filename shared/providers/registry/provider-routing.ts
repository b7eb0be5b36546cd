import type { ProviderKind } from "../../domain/providers.ts";
import { AppError, type ErrorCode, isAppError } from "../../errors/app-error.ts";
import type { Currency } from "../../money/money.ts";
import type { RetryHooks } from "./guarded-call.ts";
import type { ProviderState } from "./provider-states.ts";
import type { ReportUsage } from "./provider-usage.ts";
import { isCircuitOpenError } from "./resilience.ts";

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

/** What a routed transcriber or analyzer shares with the registry that made it. */
export interface ProviderRouting {
  stateOf(kind: ProviderKind, name: string): ProviderState;
  report: ReportUsage;
  hooks: RetryHooks;
  /** Currency of the zero cost recorded for providers without a price (offline ones). */
  zeroCostCurrency: Currency;
}

/**
 * first (the template's provider), then the account's order, or the server's default order when the
 * account has none, or none of its providers is configured here; duplicates removed.
 */
export function routeOrder(
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

/** The providers of `order` not configured on this server, as tries that sent nothing. */
export function unavailableTries(order: ReadonlyArray<{ name: string; configured: boolean }>): ProviderTry[] {
  return order
    .filter((o) => !o.configured)
    .map((o) => ({
      provider: o.name,
      attempts: 0,
      outcome: "unavailable",
      message: "not configured on this server",
    }));
}

export function failedTry(name: string, attempts: number, error: unknown): ProviderTry {
  const skipped = attempts === 0 && isCircuitOpenError(error);
  return {
    provider: name,
    attempts,
    outcome: skipped ? "skipped" : "failed",
    ...(isAppError(error) ? { errorCode: error.code, retryable: error.retryable } : {}),
    message: error instanceof Error ? error.message : String(error),
  };
}

/** An interrupted provider (the server is stopping), or a crash, is not a reason to try the next one. */
export function endsTheRoute(error: unknown, signal: AbortSignal | undefined): boolean {
  return !isAppError(error) || error.interrupted || signal?.aborted === true;
}

export function codeOf(error: unknown): string | undefined {
  return isAppError(error) ? error.code : undefined;
}

/**
 * Every provider failed or was skipped. Retryable when any of them might work later (a transient
 * failure or an open circuit), so the pipeline retries the step; not when all refused for good.
 */
export function allFailed(code: ErrorCode, what: string, tried: ProviderTry[], lastError: unknown): AppError {
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
