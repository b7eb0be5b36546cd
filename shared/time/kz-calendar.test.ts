import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toAstanaIso } from "./astana-time.ts";
import {
  addKzWorkingDays,
  firstKzWorkingDayFrom,
  invoiceLastValidDay,
  invoiceValidUntil,
  isKzWorkingDay,
  kzCalendarCoverage,
  kzCalendarFile,
  statutoryDaysOff,
} from "./kz-calendar.ts";

const at = (iso: string) => new Date(iso);
const validUntil = (createdAtIso: string) => toAstanaIso(invoiceValidUntil(at(createdAtIso)));
const weekday = (date: string) => new Date(`${date}T00:00:00Z`).getUTCDay();

describe("isKzWorkingDay", () => {
  it("follows the week, the holidays, the carried-over days off and the transfers", () => {
    expect(isKzWorkingDay("2026-04-08")).toBe(true); // an ordinary Wednesday
    expect(isKzWorkingDay("2026-04-11")).toBe(false); // an ordinary Saturday
    expect(isKzWorkingDay("2026-12-16")).toBe(false); // Independence Day, Wednesday
    expect(isKzWorkingDay("2026-03-23")).toBe(false); // Nauryz, Monday
    expect(isKzWorkingDay("2026-03-24")).toBe(false); // carried over from Saturday 21 March
    expect(isKzWorkingDay("2026-03-25")).toBe(false); // carried over from Sunday 22 March
    expect(isKzWorkingDay("2026-03-26")).toBe(true);
    expect(isKzWorkingDay("2026-05-11")).toBe(false); // carried over from Victory Day on Saturday
    expect(isKzWorkingDay("2026-05-27")).toBe(false); // Kurban Ait 2026
    expect(isKzWorkingDay("2026-01-07")).toBe(false); // Orthodox Christmas
    expect(isKzWorkingDay("2024-05-04")).toBe(true); // Saturday made a working day (order of 17.04.2024)
    expect(isKzWorkingDay("2024-05-08")).toBe(false); // …whose day off moved here
    expect(isKzWorkingDay("2025-01-05")).toBe(true); // Sunday made a working day (order № 436)
    expect(isKzWorkingDay("2025-01-03")).toBe(false);
  });

  it("never carries over a religious day off that falls on a weekend", () => {
    expect(isKzWorkingDay("2024-06-16")).toBe(false); // Kurban Ait 2024, a Sunday
    expect(isKzWorkingDay("2024-06-17")).toBe(true);
    expect(isKzWorkingDay("2024-01-07")).toBe(false); // Christmas 2024, a Sunday
    expect(isKzWorkingDay("2024-01-08")).toBe(true);
  });

  it("derives the law's days off for a year the file does not list", () => {
    expect(kzCalendarCoverage(2028)).toBe("derived-from-law");
    // 1 and 2 January 2028 are Saturday and Sunday: the days off move to Monday 3 and Tuesday 4.
    expect(isKzWorkingDay("2028-01-03")).toBe(false);
    expect(isKzWorkingDay("2028-01-04")).toBe(false);
    expect(isKzWorkingDay("2028-01-05")).toBe(true);
    expect(isKzWorkingDay("2028-01-07")).toBe(false);
  });

  it("refuses a malformed or impossible date", () => {
    for (const bad of ["2026-02-30", "2026-13-01", "26-01-01", "2026-1-1", ""]) {
      expect(() => isKzWorkingDay(bad)).toThrow(RangeError);
    }
  });
});

describe("kz-working-calendar.json", () => {
  const years = Object.entries(kzCalendarFile.years);

  it("covers 2024 to 2027, with 2027 marked as statutory only", () => {
    expect(years.map(([y]) => y)).toEqual(["2024", "2025", "2026", "2027"]);
    expect(kzCalendarCoverage(2026)).toBe("complete");
    expect(kzCalendarCoverage(2027)).toBe("statutory-only");
  });

  it.each(years)("%s lists exactly the days off the law gives, plus its religious days", (year, entry) => {
    const religious = entry.holidays.filter((h) => h.kind === "religious").map((h) => h.date);
    const derived = statutoryDaysOff(Number(year), religious);
    const listed = new Map(entry.holidays.map((h) => [h.date, h.kind]));
    expect(listed.size).toBe(entry.holidays.length); // no date twice
    expect(Object.fromEntries(listed)).toEqual(Object.fromEntries(derived));
    for (const h of entry.holidays) {
      expect(h.date.startsWith(year)).toBe(true);
      if (h.kind === "shifted") {
        expect(h.shiftedFrom && [0, 6].includes(weekday(h.shiftedFrom))).toBe(true);
        expect([0, 6]).not.toContain(weekday(h.date));
      }
    }
  });

  it.each(years)(
    "%s transfers turn a weekend day into a working day and a weekday into a day off",
    (_, entry) => {
      const listed = new Set(entry.holidays.map((h) => h.date));
      for (const t of entry.transfers) {
        expect([0, 6]).toContain(weekday(t.workday));
        expect([0, 6]).not.toContain(weekday(t.dayOff));
        expect(listed.has(t.workday) || listed.has(t.dayOff)).toBe(false);
      }
    },
  );
});

describe("addKzWorkingDays", () => {
  it("counts only working days after the start", () => {
    expect(addKzWorkingDays("2026-04-10", 0)).toBe("2026-04-10");
    expect(addKzWorkingDays("2026-04-10", 1)).toBe("2026-04-13"); // Friday → Monday
    expect(addKzWorkingDays("2026-03-20", 1)).toBe("2026-03-26"); // over Nauryz 21–25 March
    expect(addKzWorkingDays("2024-12-31", 1)).toBe("2025-01-05"); // over New Year onto the working Sunday
    expect(() => addKzWorkingDays("2026-04-10", -1)).toThrow(RangeError);
    expect(() => addKzWorkingDays("2026-04-10", 1.5)).toThrow(RangeError);
  });

  it("lands on a working day with exactly n working days in between", () => {
    const dates = fc
      .integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2027, 11, 31) })
      .map((ms) => new Date(ms).toISOString().slice(0, 10));
    fc.assert(
      fc.property(dates, fc.integer({ min: 1, max: 30 }), (start, n) => {
        const end = addKzWorkingDays(start, n);
        expect(isKzWorkingDay(end)).toBe(true);
        let count = 0;
        for (let d = new Date(`${start}T00:00:00Z`); d.toISOString().slice(0, 10) < end; ) {
          d = new Date(d.getTime() + 86_400_000);
          if (isKzWorkingDay(d.toISOString().slice(0, 10))) count++;
        }
        expect(count).toBe(n);
      }),
      { numRuns: 300 },
    );
  });

  it("finds the first working day from a date", () => {
    expect(firstKzWorkingDayFrom("2026-04-10")).toBe("2026-04-10");
    expect(firstKzWorkingDayFrom("2026-03-21")).toBe("2026-03-26");
  });
});

describe("invoiceValidUntil (5 working days, creation day is day 1 when it is a working day)", () => {
  it("an invoice created on a Friday: Fri, Mon, Tue, Wed, Thu", () => {
    expect(validUntil("2026-04-10T10:00:00+05:00")).toBe("2026-04-17T00:00:00+05:00");
    expect(invoiceLastValidDay(at("2026-04-10T10:00:00+05:00"))).toBe("2026-04-16");
  });

  it("an invoice created on a Saturday starts counting on Monday", () => {
    expect(validUntil("2026-04-11T15:30:00+05:00")).toBe("2026-04-18T00:00:00+05:00");
  });

  it("an invoice created the day before a holiday skips it", () => {
    // Tue 15 Dec (1), Wed 16 Independence Day, Thu 17 (2), Fri 18 (3), Mon 21 (4), Tue 22 (5).
    expect(validUntil("2026-12-15T09:00:00+05:00")).toBe("2026-12-23T00:00:00+05:00");
    // Fri 20 Mar (1), 21–25 Nauryz with carried-over days, Thu 26 (2), Fri 27, Mon 30, Tue 31 (5).
    expect(validUntil("2026-03-20T12:00:00+05:00")).toBe("2026-04-01T00:00:00+05:00");
  });

  it("an invoice created on a holiday starts counting on the next working day", () => {
    expect(validUntil("2026-03-23T12:00:00+05:00")).toBe("2026-04-02T00:00:00+05:00");
  });

  it("an invoice across a decreed transfer counts the working Saturday and skips the moved day off", () => {
    // Thu 2 May (1), Fri 3 (2), Sat 4 worked (3), Mon 6 (4), Tue 7 and Wed 8 and Thu 9 off, Fri 10 (5).
    expect(validUntil("2024-05-02T11:00:00+05:00")).toBe("2024-05-11T00:00:00+05:00");
    // Tue 31 Dec 2024 (1), 1–4 Jan off, Sun 5 worked (2), Mon 6 (3), Tue 7 Christmas, Wed 8 (4), Thu 9 (5).
    expect(validUntil("2024-12-31T18:00:00+05:00")).toBe("2025-01-10T00:00:00+05:00");
  });

  it("at 23:59 Astana the creation day is still the Astana date, not the next UTC one", () => {
    // 23:59:59.999 on Friday in Astana is 18:59 UTC Friday: Friday is day 1.
    expect(validUntil("2026-04-10T23:59:59.999+05:00")).toBe("2026-04-17T00:00:00+05:00");
    // 23:59 on Thursday 19 March in Astana: day 1 is that Thursday, then Fri 20, then after Nauryz.
    expect(validUntil("2026-03-19T23:59:00+05:00")).toBe("2026-03-31T00:00:00+05:00");
  });

  it("at 00:00 Astana the new day has begun even though UTC still shows the previous date", () => {
    // 00:00 Saturday in Astana is 19:00 UTC Friday: counting starts on Monday, not on Friday.
    expect(validUntil("2026-04-11T00:00:00+05:00")).toBe("2026-04-18T00:00:00+05:00");
    expect(validUntil("2026-04-10T19:00:00Z")).toBe("2026-04-18T00:00:00+05:00");
    // 00:00 Monday in Astana is 19:00 UTC Sunday: Monday is day 1.
    expect(validUntil("2026-04-13T00:00:00+05:00")).toBe("2026-04-18T00:00:00+05:00");
  });

  it("returns the instant 24:00 Astana of the last valid day", () => {
    const end = invoiceValidUntil(at("2026-04-10T10:00:00+05:00"));
    expect(end.toISOString()).toBe("2026-04-16T19:00:00.000Z");
    expect(() => invoiceValidUntil(at("2026-04-10T10:00:00+05:00"), 0)).toThrow(RangeError);
    expect(toAstanaIso(invoiceValidUntil(at("2026-04-10T10:00:00+05:00"), 1))).toBe(
      "2026-04-11T00:00:00+05:00",
    );
  });
});
