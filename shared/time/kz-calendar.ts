import { z } from "zod";
import { ASTANA_OFFSET_MINUTES, astanaDate } from "./astana-time.ts";
import calendarData from "./kz-working-calendar.json" with { type: "json" };

/**
 * Kazakhstan working days for a five-day week (PRODUCT.md, Top-up by bank invoice): Monday–Friday, minus
 * public holidays, religious days off and the days off carried over from holidays on a weekend (Labour
 * Code art. 85), with the decreed transfers as overrides. Dates are Astana calendar dates "YYYY-MM-DD".
 *
 * Years in kz-working-calendar.json are used as written. For any other year the statutory days off are
 * derived from the law (fixed holidays, 7 January, the art. 85 carry-over rule); Kurban Ait and decreed
 * transfers cannot be known for such a year, so add the year to the JSON once they are announced.
 */

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const calendarSchema = z.object({
  source: z.string(),
  years: z.record(
    z.string().regex(/^\d{4}$/),
    z.object({
      status: z.enum(["complete", "statutory-only"]),
      note: z.string().optional(),
      holidays: z.array(
        z.object({
          date: isoDate,
          name: z.string().min(1),
          kind: z.enum(["holiday", "religious", "shifted"]),
          shiftedFrom: isoDate.optional(),
          source: z.string().min(1),
        }),
      ),
      transfers: z.array(z.object({ workday: isoDate, dayOff: isoDate, decree: z.string().min(1) })),
    }),
  ),
});

export type KzCalendarFile = z.infer<typeof calendarSchema>;
export type KzCalendarCoverage = "complete" | "statutory-only" | "derived-from-law";

/** The calendar file, checked once at load: a typo in it fails at start, not in a billing decision. */
export const kzCalendarFile: KzCalendarFile = calendarSchema.parse(calendarData);

/** National and state holidays that are days off (Law "On holidays", Labour Code art. 85), as MM-DD. */
export const KZ_FIXED_HOLIDAYS: readonly { monthDay: string; name: string }[] = [
  { monthDay: "01-01", name: "Новый год" },
  { monthDay: "01-02", name: "Новый год" },
  { monthDay: "03-08", name: "Международный женский день" },
  { monthDay: "03-21", name: "Наурыз мейрамы" },
  { monthDay: "03-22", name: "Наурыз мейрамы" },
  { monthDay: "03-23", name: "Наурыз мейрамы" },
  { monthDay: "05-01", name: "Праздник единства народа Казахстана" },
  { monthDay: "05-07", name: "День защитника Отечества" },
  { monthDay: "05-09", name: "День Победы" },
  { monthDay: "07-06", name: "День Столицы" },
  { monthDay: "08-30", name: "День Конституции Республики Казахстан" },
  { monthDay: "10-25", name: "День Республики" },
  { monthDay: "12-16", name: "День Независимости" },
];

const DAY_MS = 86_400_000;

function parseDate(date: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  if (!match || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new RangeError(`Not a calendar date (YYYY-MM-DD): ${JSON.stringify(date)}`);
  }
  return ms;
}

const formatDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const addDays = (date: string, days: number) => formatDate(parseDate(date) + days * DAY_MS);
const isWeekend = (date: string) => {
  const weekday = new Date(parseDate(date)).getUTCDay();
  return weekday === 0 || weekday === 6;
};

/**
 * The days off the law alone gives for a year: fixed holidays, the religious days off (7 January, and
 * Kurban Ait when its date is passed), and for each holiday on a Saturday or Sunday the next day that is
 * neither a weekend, a holiday nor an already carried-over day (art. 85). Religious days are never carried.
 */
export function statutoryDaysOff(
  year: number,
  religiousDates: readonly string[] = [`${year}-01-07`],
): Map<string, "holiday" | "religious" | "shifted"> {
  const days = new Map<string, "holiday" | "religious" | "shifted">();
  for (const h of KZ_FIXED_HOLIDAYS) days.set(`${year}-${h.monthDay}`, "holiday");
  for (const d of religiousDates) if (!days.has(d)) days.set(d, "religious");
  const onWeekend = KZ_FIXED_HOLIDAYS.map((h) => `${year}-${h.monthDay}`).filter(isWeekend);
  for (const holiday of onWeekend) {
    let candidate = addDays(holiday, 1);
    while (isWeekend(candidate) || days.has(candidate)) candidate = addDays(candidate, 1);
    days.set(candidate, "shifted");
  }
  return days;
}

interface YearCalendar {
  coverage: KzCalendarCoverage;
  daysOff: ReadonlySet<string>;
  workdays: ReadonlySet<string>;
}

const years = new Map<number, YearCalendar>();
for (const [year, entry] of Object.entries(kzCalendarFile.years)) {
  years.set(Number(year), {
    coverage: entry.status,
    daysOff: new Set([...entry.holidays.map((h) => h.date), ...entry.transfers.map((t) => t.dayOff)]),
    workdays: new Set(entry.transfers.map((t) => t.workday)),
  });
}

function yearCalendar(year: number): YearCalendar {
  let calendar = years.get(year);
  if (!calendar) {
    calendar = {
      coverage: "derived-from-law",
      daysOff: new Set(statutoryDaysOff(year).keys()),
      workdays: new Set(),
    };
    years.set(year, calendar);
  }
  return calendar;
}

/** How much of a year's calendar is known: from the file in full, from the law only, or derived. */
export function kzCalendarCoverage(year: number): KzCalendarCoverage {
  return yearCalendar(year).coverage;
}

/** True for a working day of a five-day week in Kazakhstan. Throws RangeError for a malformed date. */
export function isKzWorkingDay(date: string): boolean {
  parseDate(date);
  const calendar = yearCalendar(Number(date.slice(0, 4)));
  if (calendar.workdays.has(date)) return true;
  return !isWeekend(date) && !calendar.daysOff.has(date);
}

/** The first working day on or after `date`. */
export function firstKzWorkingDayFrom(date: string): string {
  let day = date;
  while (!isKzWorkingDay(day)) day = addDays(day, 1);
  return day;
}

/** The `days`-th working day after `date` (`date` itself not counted); `days` = 0 returns `date`. */
export function addKzWorkingDays(date: string, days: number): string {
  if (!Number.isSafeInteger(days) || days < 0)
    throw new RangeError(`days must be a whole number ≥ 0: ${days}`);
  parseDate(date);
  let day = date;
  for (let left = days; left > 0; ) {
    day = addDays(day, 1);
    if (isKzWorkingDay(day)) left--;
  }
  return day;
}

/**
 * The last day an invoice created at `createdAt` is valid (clause 7.3.3, Periods 7.1.6): the creation
 * day (its Astana date) is day 1 when it is a working day, otherwise day 1 is the next working day.
 */
export function invoiceLastValidDay(createdAt: Date, workingDays = 5): string {
  if (!Number.isSafeInteger(workingDays) || workingDays < 1) {
    throw new RangeError(`workingDays must be a whole number ≥ 1: ${workingDays}`);
  }
  return addKzWorkingDays(firstKzWorkingDayFrom(astanaDate(createdAt)), workingDays - 1);
}

/**
 * The instant an invoice stops being valid: 24:00 Astana time of its last valid day, returned as the
 * start (00:00 Astana) of the following day — the same half-open convention as endOfDayOnePeriod. A
 * payment at `t` is within validity iff `t < invoiceValidUntil(...)`; the API shows it as
 * "YYYY-MM-DDT00:00:00+05:00" of the next day.
 */
export function invoiceValidUntil(createdAt: Date, workingDays = 5): Date {
  const dayAfter = addDays(invoiceLastValidDay(createdAt, workingDays), 1);
  return new Date(parseDate(dayAfter) - ASTANA_OFFSET_MINUTES * 60_000);
}
