/** Seconds since `startedMs` (a performance.now() reading), to the millisecond, for a call's stepTimings. */
export function secondsSince(startedMs: number): number {
  return Math.round(performance.now() - startedMs) / 1000;
}
