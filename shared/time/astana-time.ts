/**
 * Astana time is fixed UTC+05:00 (Kazakhstan has had one time zone since 2024-03-01). It is computed by
 * offset, not through tz data, because older tz databases still give Asia/Almaty +06:00.
 */
export const ASTANA_OFFSET_MINUTES = 5 * 60;
const OFFSET_MS = ASTANA_OFFSET_MINUTES * 60_000;
const DAY_MS = 24 * 60 * 60_000;

/** The calendar date in Astana as YYYY-MM-DD. */
export function astanaDate(instant: Date): string {
  return new Date(instant.getTime() + OFFSET_MS).toISOString().slice(0, 10);
}

/** 00:00 Astana time of the day containing `instant`, as a UTC instant. */
export function startOfAstanaDay(instant: Date): Date {
  const shifted = instant.getTime() + OFFSET_MS;
  return new Date(shifted - (((shifted % DAY_MS) + DAY_MS) % DAY_MS) - OFFSET_MS);
}

/**
 * A period of `days` days that counts the activation day as day 1 (PRODUCT.md Periods, clause 7.1.6)
 * ends when day `days + 1` starts: that instant is returned.
 */
export function endOfDayOnePeriod(activatedAt: Date, days: number): Date {
  return new Date(startOfAstanaDay(activatedAt).getTime() + days * DAY_MS);
}

/** ISO-8601 with the +05:00 offset, as the API shows business instants. */
export function toAstanaIso(instant: Date): string {
  const local = new Date(instant.getTime() + OFFSET_MS).toISOString();
  return `${local.slice(0, 19)}+05:00`;
}
