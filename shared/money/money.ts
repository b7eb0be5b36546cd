import { Decimal } from "decimal.js";

/**
 * Exact money: a decimal.js value and an ISO currency. No float ever enters or leaves: construction
 * takes strings (or integers), output is a decimal string. Scale is 6 decimal places, as `numeric(20,6)`.
 */
const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -30, toExpPos: 30 });
type D = InstanceType<typeof D>;

export const currencies = ["KZT", "RUB", "USD"] as const;
export type Currency = (typeof currencies)[number];

export function isCurrency(code: string): code is Currency {
  return (currencies as readonly string[]).includes(code);
}

export const MONEY_SCALE = 6;
const MONEY_PATTERN = /^-?\d{1,14}(\.\d{1,6})?$/;

export class MoneyError extends Error {
  override name = "MoneyError";
}

export class Money {
  private constructor(
    private readonly value: D,
    readonly currency: Currency,
  ) {}

  /** Parses a decimal string such as "1000.00" (at most 14 integer and 6 fraction digits). */
  static of(amount: string, currency: Currency): Money {
    if (typeof amount !== "string" || !MONEY_PATTERN.test(amount)) {
      throw new MoneyError(`Not a money amount: ${JSON.stringify(amount)}`);
    }
    return new Money(new D(amount), currency);
  }

  /** From a whole number of currency units (e.g. minutes × price never needs this; counts do). */
  static ofInteger(units: number | bigint, currency: Currency): Money {
    if (typeof units === "number" && !Number.isSafeInteger(units))
      throw new MoneyError(`Not an integer: ${units}`);
    return new Money(new D(units.toString()), currency);
  }

  static zero(currency: Currency): Money {
    return new Money(new D(0), currency);
  }

  static isValidAmount(amount: string): boolean {
    return MONEY_PATTERN.test(amount);
  }

  plus(other: Money): Money {
    this.assertSameCurrency(other);
    return new Money(this.value.plus(other.value), this.currency);
  }

  minus(other: Money): Money {
    this.assertSameCurrency(other);
    return new Money(this.value.minus(other.value), this.currency);
  }

  /** Multiplies by an integer count (minutes, questions). */
  times(count: number): Money {
    if (!Number.isSafeInteger(count)) throw new MoneyError(`Multiplier must be an integer: ${count}`);
    return new Money(this.value.times(count), this.currency);
  }

  negated(): Money {
    return new Money(this.value.negated(), this.currency);
  }

  min(other: Money): Money {
    this.assertSameCurrency(other);
    return this.value.lte(other.value) ? this : other;
  }

  max(other: Money): Money {
    this.assertSameCurrency(other);
    return this.value.gte(other.value) ? this : other;
  }

  compare(other: Money): -1 | 0 | 1 {
    this.assertSameCurrency(other);
    return this.value.comparedTo(other.value) as -1 | 0 | 1;
  }

  equals(other: Money): boolean {
    return this.currency === other.currency && this.value.eq(other.value);
  }

  isZero(): boolean {
    return this.value.isZero();
  }

  isNegative(): boolean {
    return this.value.isNegative() && !this.value.isZero();
  }

  isPositive(): boolean {
    return this.value.isPositive() && !this.value.isZero();
  }

  /** Canonical string with `scale` decimals (default 2 for display/API; the DB keeps 6). */
  toFixed(scale = 2): string {
    return this.value.toDecimalPlaces(MONEY_SCALE, D.ROUND_HALF_EVEN).toFixed(scale);
  }

  /** Full-precision string for the database. */
  toDbString(): string {
    return this.value.toDecimalPlaces(MONEY_SCALE, D.ROUND_HALF_EVEN).toFixed(MONEY_SCALE);
  }

  toJSON(): { amount: string; currency: Currency } {
    return { amount: this.toFixed(2), currency: this.currency };
  }

  toString(): string {
    return `${this.toFixed(2)} ${this.currency}`;
  }

  private assertSameCurrency(other: Money): void {
    if (other.currency !== this.currency) {
      throw new MoneyError(`Currency mismatch: ${this.currency} vs ${other.currency}`);
    }
  }
}

/**
 * Amounts from numeric(20,6) columns (drivers return strings; trailing zeros are fine). Only
 * repositories call this: everything above them gets Money.
 */
export function moneyFromDb(amount: string, currency: string): Money {
  if (!isCurrency(currency)) throw new MoneyError(`Unknown currency ${currency}`);
  return Money.of(trimDbAmount(amount), currency);
}

/** An amount as the HTTP API writes it (API.md): a decimal string with 2 places, the currency apart. */
export function apiAmount(money: Money): string;
export function apiAmount(money: Money | null): string | null;
export function apiAmount(money: Money | null): string | null {
  return money === null ? null : money.toFixed(2);
}

function trimDbAmount(amount: string): string {
  if (!amount.includes(".")) return amount;
  const [whole, frac = ""] = amount.split(".");
  const trimmed = frac.replace(/0+$/, "");
  return trimmed.length > 0 ? `${whole}.${trimmed}` : (whole ?? "0");
}
