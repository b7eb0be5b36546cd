import { Decimal } from "decimal.js";
import { type Currency, Money } from "../../money/money.ts";

/** Our price for a speech provider, per minute of audio, as a decimal string. */
export interface SpeechPricing {
  perAudioMinute: string;
  currency: Currency;
  /** Audio is billed in steps of this many seconds, rounded up (e.g. 1, or 15); default: exact. */
  billingStepSec?: number;
  /** Minimum billed seconds per request; default 0. */
  minimumSec?: number;
}

/** Our price for an analysis provider, per 1,000 tokens, as decimal strings. */
export interface AnalysisPricing {
  per1kInputTokens: string;
  per1kOutputTokens: string;
  currency: Currency;
}

export interface ProviderPricing {
  speech?: Record<string, SpeechPricing>;
  analysis?: Record<string, AnalysisPricing>;
}

const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_EVEN });

/** Prices are checked when the registry is made, so a bad configuration fails at start, not on a call. */
export function assertPricingValid(pricing: ProviderPricing | undefined): void {
  for (const [name, price] of Object.entries(pricing?.speech ?? {})) {
    speechCost(60, price, `speech pricing of ${name}`);
  }
  for (const [name, price] of Object.entries(pricing?.analysis ?? {})) {
    analysisCost(1000, 1000, price, `analysis pricing of ${name}`);
  }
}

/** Our cost of audioSec seconds at a per-minute price, rounded half-even to 6 decimals. */
export function speechCost(audioSec: number, price: SpeechPricing, what = "speech pricing"): Money {
  const perMinute = decimal(price.perAudioMinute, what);
  // Seconds are a float measurement; milliseconds are all the precision a price needs.
  let seconds = new D(Math.max(0, audioSec).toFixed(3));
  if (price.billingStepSec !== undefined && price.billingStepSec > 0) {
    const step = new D(price.billingStepSec);
    seconds = seconds.div(step).ceil().times(step);
  }
  if (price.minimumSec !== undefined && seconds.lt(price.minimumSec)) seconds = new D(price.minimumSec);
  return toMoney(seconds.div(60).times(perMinute), price.currency, what);
}

/** Our cost of the tokens at per-1,000 prices, rounded half-even to 6 decimals. */
export function analysisCost(
  inputTokens: number,
  outputTokens: number,
  price: AnalysisPricing,
  what = "analysis pricing",
): Money {
  const input = decimal(price.per1kInputTokens, what)
    .times(Math.max(0, Math.trunc(inputTokens)))
    .div(1000);
  const output = decimal(price.per1kOutputTokens, what)
    .times(Math.max(0, Math.trunc(outputTokens)))
    .div(1000);
  return toMoney(input.plus(output), price.currency, what);
}

function decimal(value: string, what: string): InstanceType<typeof D> {
  if (typeof value !== "string" || !/^\d{1,14}(\.\d{1,9})?$/.test(value)) {
    throw new RangeError(`${what}: not a non-negative decimal string: ${JSON.stringify(value)}`);
  }
  return new D(value);
}

function toMoney(amount: InstanceType<typeof D>, currency: Currency, what: string): Money {
  try {
    return Money.of(amount.toDecimalPlaces(6, D.ROUND_HALF_EVEN).toFixed(6), currency);
  } catch (error) {
    throw new RangeError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
