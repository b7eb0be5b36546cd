import type { Tariff } from "../db/repositories/ledger.repository.ts";
import { Money } from "../money/money.ts";

/** Price per minute = transcription + for each active template (base + questions × per-question). */
export function pricePerMinute(tariff: Tariff, activeTemplates: { questions: readonly unknown[] }[]): Money {
  let price = tariff.transcriptionPerMinute;
  for (const template of activeTemplates) {
    price = price
      .plus(tariff.templateBasePerMinute)
      .plus(tariff.perQuestionPerMinute.times(template.questions.length));
  }
  return price;
}

/** Billable minutes: duration rounded up to whole minutes; calls under 1 second are free. */
export function billableMinutes(durationSec: number): number {
  if (!Number.isFinite(durationSec) || durationSec < 1) return 0;
  // Durations come from ffprobe with millisecond noise: 120.0004 s is two minutes, not three.
  return Math.ceil(Math.round(durationSec * 1000) / 60_000);
}

export function callCost(durationSec: number, price: Money): { minutes: number; amount: Money } {
  const minutes = billableMinutes(durationSec);
  return { minutes, amount: minutes === 0 ? Money.zero(price.currency) : price.times(minutes) };
}
