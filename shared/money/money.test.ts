import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { apiAmount, isCurrency, Money, MoneyError, moneyFromDb } from "./money.ts";

describe("Money", () => {
  it("keeps decimal sums exact (0.1 + 0.2 = 0.3)", () => {
    const sum = Money.of("0.1", "KZT").plus(Money.of("0.2", "KZT"));
    expect(sum.toDbString()).toBe("0.300000");
    expect(sum.equals(Money.of("0.3", "KZT"))).toBe(true);
  });

  it("refuses floats, exponents and garbage", () => {
    for (const bad of ["1e3", "0.1234567", "", "abc", "1,5", " 1", "NaN", "Infinity", "123456789012345"]) {
      expect(() => Money.of(bad, "KZT"), bad).toThrow(MoneyError);
    }
    expect(() => Money.of(0.3 as unknown as string, "KZT")).toThrow(MoneyError);
  });

  it("refuses mixing currencies", () => {
    expect(() => Money.of("1", "KZT").plus(Money.of("1", "USD"))).toThrow(/Currency mismatch/);
  });

  it("multiplies by integer counts only", () => {
    expect(Money.of("5.00", "KZT").times(3).toFixed()).toBe("15.00");
    expect(() => Money.of("5.00", "KZT").times(1.5)).toThrow(MoneyError);
  });

  it("reads numeric(20,6) strings back", () => {
    expect(moneyFromDb("1000.000000", "KZT").toFixed()).toBe("1000.00");
    expect(moneyFromDb("-0.100000", "USD").toDbString()).toBe("-0.100000");
    expect(() => moneyFromDb("1", "EUR")).toThrow(MoneyError);
  });

  it("knows only its currencies", () => {
    expect(["KZT", "RUB", "USD"].every(isCurrency)).toBe(true);
    expect(isCurrency("EUR")).toBe(false);
    expect(isCurrency("kzt")).toBe(false);
  });

  it("writes API amounts with 2 decimals, rounding half to even", () => {
    expect(apiAmount(moneyFromDb("1000.000000", "KZT"))).toBe("1000.00");
    expect(apiAmount(Money.of("0.125", "KZT"))).toBe("0.12");
    expect(apiAmount(Money.of("-3.5", "USD"))).toBe("-3.50");
    expect(apiAmount(null)).toBeNull();
  });

  it("addition is associative and subtraction inverts it (property)", () => {
    const amount = fc
      .tuple(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.integer({ min: 0, max: 999_999 }))
      .map(([whole, frac]) => `${whole}.${String(frac).padStart(6, "0")}`);
    fc.assert(
      fc.property(amount, amount, amount, (a, b, c) => {
        const [x, y, z] = [Money.of(a, "KZT"), Money.of(b, "KZT"), Money.of(c, "KZT")];
        expect(
          x
            .plus(y)
            .plus(z)
            .equals(x.plus(y.plus(z))),
        ).toBe(true);
        expect(x.plus(y).minus(y).equals(x)).toBe(true);
      }),
    );
  });
});
