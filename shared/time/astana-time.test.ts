import { describe, expect, it } from "vitest";
import { astanaDate, endOfDayOnePeriod, startOfAstanaDay, toAstanaIso } from "./astana-time.ts";

describe("Astana time", () => {
  it("uses +05:00 whatever the tz database says", () => {
    // 19:30 UTC is already the next day in Astana.
    expect(astanaDate(new Date("2026-03-01T19:30:00Z"))).toBe("2026-03-02");
    expect(astanaDate(new Date("2026-03-01T18:59:59Z"))).toBe("2026-03-01");
    expect(toAstanaIso(new Date("2026-03-01T19:30:00Z"))).toBe("2026-03-02T00:30:00+05:00");
  });

  it("starts the day at 00:00 +05:00", () => {
    expect(startOfAstanaDay(new Date("2026-03-01T19:30:00Z")).toISOString()).toBe("2026-03-01T19:00:00.000Z");
    expect(startOfAstanaDay(new Date("2026-03-01T18:59:59Z")).toISOString()).toBe("2026-02-28T19:00:00.000Z");
  });

  it("counts the activation day as day 1, whatever the hour", () => {
    // Registered at 23:59 Astana on 1 March: a 7-day period ends when 8 March starts.
    const lateEvening = new Date("2026-03-01T18:59:00Z");
    expect(toAstanaIso(endOfDayOnePeriod(lateEvening, 7))).toBe("2026-03-08T00:00:00+05:00");
    const earlyMorning = new Date("2026-02-28T19:00:00Z");
    expect(toAstanaIso(endOfDayOnePeriod(earlyMorning, 7))).toBe("2026-03-08T00:00:00+05:00");
  });
});
