import { describe, expect, it } from "vitest";
import type { Tariff } from "../db/repositories/ledger.repository.ts";
import { Money } from "../money/money.ts";
import { billableMinutes, callCost, pricePerMinute } from "./tariff.ts";

const kzt: Tariff = {
  id: "t",
  version: 1,
  currency: "KZT",
  transcriptionPerMinute: Money.of("3.00", "KZT"),
  templateBasePerMinute: Money.of("5.00", "KZT"),
  perQuestionPerMinute: Money.of("1.00", "KZT"),
  welcomeBonus: Money.of("1000", "KZT"),
};

describe("tariff", () => {
  it("prices transcription plus each active template by its questions", () => {
    expect(pricePerMinute(kzt, []).toFixed()).toBe("3.00");
    expect(pricePerMinute(kzt, [{ questions: [1, 2, 3] }]).toFixed()).toBe("11.00");
    expect(pricePerMinute(kzt, [{ questions: [1, 2, 3] }, { questions: [1] }]).toFixed()).toBe("17.00");
  });

  it("rounds duration up to whole minutes; under a second is free", () => {
    expect(billableMinutes(0.999)).toBe(0);
    expect(billableMinutes(1)).toBe(1);
    expect(billableMinutes(60)).toBe(1);
    expect(billableMinutes(60.01)).toBe(2);
    expect(billableMinutes(120.0004)).toBe(2);
    expect(billableMinutes(Number.NaN)).toBe(0);
    expect(callCost(61, Money.of("11.00", "KZT")).amount.toFixed()).toBe("22.00");
  });
});
