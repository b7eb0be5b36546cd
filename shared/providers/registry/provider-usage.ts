import type { ProviderKind, ProviderOutcome } from "../../domain/providers.ts";
import type { Logger } from "../../logging/logger.ts";
import type { Money } from "../../money/money.ts";

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

export interface UsageContext {
  callId?: string;
}

export type ReportUsage = (record: ProviderUsageRecord) => Promise<void>;

/** Hands each record to `onUsage`; a failure to record is logged, never thrown into the work. */
export function createUsageReporter(
  onUsage: ((record: ProviderUsageRecord) => void | Promise<void>) | undefined,
  logger: Logger | undefined,
): ReportUsage {
  return async (record) => {
    if (!onUsage) return;
    try {
      await onUsage(record);
    } catch (error) {
      logger?.error(
        { err: error, provider: record.provider, kind: record.kind },
        "could not record provider usage",
      );
    }
  };
}
