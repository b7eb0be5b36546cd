/**
 * Two-sided conversation measurements from each channel's speech intervals (step 5 of the pipeline).
 * Pure interval arithmetic: every input is in seconds from the start of the recording, every output
 * in seconds (or a ratio/rate) rounded to two decimals.
 */
import type { SpeechInterval } from "../audio/audio-tools.ts";

export interface ConversationMetrics {
  operatorTalkSec: number;
  clientTalkSec: number;
  /** Operator share of all speech, 0..1; 0 when nobody speaks. */
  talkRatio: number;
  /** Dead air: nobody speaks, including before the first and after the last word. */
  silenceSec: number;
  /** Both sides speak at once. */
  overlapSec: number;
  /** How many times each side started talking over the other. */
  interruptions: { operator: number; client: number };
  longestMonologueSec: number;
  switchesPerMinute: number;
}

export interface ConversationMetricsInput {
  operator: readonly SpeechInterval[];
  client: readonly SpeechInterval[];
  durationSec: number;
}

/**
 * A side interrupts when it starts while the other is speaking and the two then talk together for
 * more than this many seconds; shorter overlaps are backchannel ("uh-huh") or turn-taking jitter.
 */
export const INTERRUPTION_MIN_OVERLAP_SEC = 0.5;
/**
 * A speaker's pauses shorter than this (seconds) do not end a monologue, provided the other side
 * stays silent in the pause: people breathe and think mid-monologue.
 */
export const MONOLOGUE_GAP_BRIDGE_SEC = 1.5;

/** Float noise allowance for threshold comparisons on sums/differences of seconds. */
const EPSILON = 1e-9;

export function computeConversationMetrics(input: ConversationMetricsInput): ConversationMetrics {
  const durationSec = Number.isFinite(input.durationSec) && input.durationSec > 0 ? input.durationSec : 0;
  const operator = normalizeIntervals(input.operator, durationSec);
  const client = normalizeIntervals(input.client, durationSec);

  const operatorTalk = totalLength(operator);
  const clientTalk = totalLength(client);
  const overlap = totalLength(intersect(operator, client));
  const anyone = totalLength(mergeIntervals([...operator, ...client]));
  const speech = operatorTalk + clientTalk;

  return {
    operatorTalkSec: round2(operatorTalk),
    clientTalkSec: round2(clientTalk),
    talkRatio: speech > 0 ? round2(operatorTalk / speech) : 0,
    silenceSec: round2(Math.max(0, durationSec - anyone)),
    overlapSec: round2(overlap),
    interruptions: {
      operator: countInterruptions(operator, client),
      client: countInterruptions(client, operator),
    },
    longestMonologueSec: round2(
      Math.max(longestMonologue(operator, client), longestMonologue(client, operator)),
    ),
    switchesPerMinute: durationSec > 0 ? round2(countSwitches(operator, client) / (durationSec / 60)) : 0,
  };
}

/** Clips to [0, durationSec], drops empty or non-finite intervals, then sorts and merges. */
export function normalizeIntervals(
  intervals: readonly SpeechInterval[],
  durationSec: number,
): SpeechInterval[] {
  const clipped: SpeechInterval[] = [];
  for (const { startSec, endSec } of intervals) {
    if (!Number.isFinite(startSec) || !Number.isFinite(endSec)) continue;
    const start = Math.max(0, startSec);
    const end = Math.min(durationSec, endSec);
    if (end > start) clipped.push({ startSec: start, endSec: end });
  }
  return mergeIntervals(clipped);
}

/** Sorted, with overlapping and touching intervals joined into one. */
export function mergeIntervals(intervals: readonly SpeechInterval[]): SpeechInterval[] {
  const sorted = intervals
    .filter((i) => i.endSec > i.startSec)
    .map((i) => ({ startSec: i.startSec, endSec: i.endSec }))
    .sort((a, b) => a.startSec - b.startSec || a.endSec - b.endSec);
  const merged: SpeechInterval[] = [];
  for (const interval of sorted) {
    const last = merged.at(-1);
    if (last && interval.startSec <= last.endSec) last.endSec = Math.max(last.endSec, interval.endSec);
    else merged.push(interval);
  }
  return merged;
}

export function totalLength(intervals: readonly SpeechInterval[]): number {
  return intervals.reduce((sum, i) => sum + (i.endSec - i.startSec), 0);
}

/** Intersection of two merged (sorted, disjoint) lists. */
export function intersect(a: readonly SpeechInterval[], b: readonly SpeechInterval[]): SpeechInterval[] {
  const out: SpeechInterval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const start = Math.max(x.startSec, y.startSec);
    const end = Math.min(x.endSec, y.endSec);
    if (end > start) out.push({ startSec: start, endSec: end });
    if (x.endSec < y.endSec) i++;
    else j++;
  }
  return out;
}

/** Parts of merged list a not covered by merged list b. */
export function subtract(a: readonly SpeechInterval[], b: readonly SpeechInterval[]): SpeechInterval[] {
  const out: SpeechInterval[] = [];
  let j = 0;
  for (const x of a) {
    let start = x.startSec;
    while (j < b.length && b[j]!.endSec <= start) j++;
    let k = j;
    while (k < b.length && b[k]!.startSec < x.endSec) {
      const y = b[k]!;
      if (y.startSec > start) out.push({ startSec: start, endSec: y.startSec });
      start = Math.max(start, y.endSec);
      k++;
    }
    if (x.endSec > start) out.push({ startSec: start, endSec: x.endSec });
  }
  return out;
}

/**
 * Counts intervals of `side` that begin strictly inside an interval of `other` and keep overlapping
 * it, without a break, for more than INTERRUPTION_MIN_OVERLAP_SEC. Starting at the same instant is
 * not an interruption by either side.
 */
function countInterruptions(side: readonly SpeechInterval[], other: readonly SpeechInterval[]): number {
  let count = 0;
  for (const x of side) {
    const ongoing = other.find((o) => o.startSec < x.startSec && x.startSec < o.endSec);
    if (!ongoing) continue;
    const overlap = Math.min(x.endSec, ongoing.endSec) - x.startSec;
    if (overlap > INTERRUPTION_MIN_OVERLAP_SEC + EPSILON) count++;
  }
  return count;
}

/**
 * Longest stretch of `side` speaking alone: its speech minus the other side's, with its own pauses
 * shorter than MONOLOGUE_GAP_BRIDGE_SEC counted in, unless the other side speaks in the pause.
 */
function longestMonologue(side: readonly SpeechInterval[], other: readonly SpeechInterval[]): number {
  const alone = subtract(side, other);
  let longest = 0;
  let chainStart: number | undefined;
  let chainEnd = 0;
  for (const piece of alone) {
    const gap = piece.startSec - chainEnd;
    const bridged =
      chainStart !== undefined &&
      gap < MONOLOGUE_GAP_BRIDGE_SEC - EPSILON &&
      intersect([{ startSec: chainEnd, endSec: piece.startSec }], other).length === 0;
    if (!bridged) chainStart = piece.startSec;
    chainEnd = piece.endSec;
    longest = Math.max(longest, chainEnd - (chainStart ?? piece.startSec));
  }
  return longest;
}

/**
 * Speaker changes along all speech intervals ordered by start (then end) time. When both sides have
 * an identical interval their order is undefined, so the order that changes speaker least is taken;
 * this keeps the count independent of which side is called operator.
 */
function countSwitches(operator: readonly SpeechInterval[], client: readonly SpeechInterval[]): number {
  const turns = [
    ...operator.map((i) => ({ ...i, speaker: 0 as const })),
    ...client.map((i) => ({ ...i, speaker: 1 as const })),
  ].sort((a, b) => a.startSec - b.startSec || a.endSec - b.endSec);

  // Minimal switch count so far, by the speaker of the latest turn (index 2: no turn yet).
  let cost: [number, number, number] = [Infinity, Infinity, 0];
  const change = (from: 0 | 1 | 2, to: 0 | 1) => (from === 2 || from === to ? 0 : 1);
  for (let k = 0; k < turns.length; k++) {
    const turn = turns[k]!;
    const twin = turns[k + 1];
    const next: [number, number, number] = [Infinity, Infinity, Infinity];
    for (const from of [0, 1, 2] as const) {
      if (cost[from] === Infinity) continue;
      if (twin && twin.startSec === turn.startSec && twin.endSec === turn.endSec) {
        // Either side may go first; the other one ends the pair, one change between them.
        for (const last of [0, 1] as const) {
          const first = last === 0 ? 1 : 0;
          next[last] = Math.min(next[last], cost[from] + change(from, first) + 1);
        }
      } else {
        next[turn.speaker] = Math.min(next[turn.speaker], cost[from] + change(from, turn.speaker));
      }
    }
    if (twin && twin.startSec === turn.startSec && twin.endSec === turn.endSec) k++;
    cost = next;
  }
  return Math.min(...cost);
}

function round2(x: number): number {
  return Math.round((x + Number.EPSILON) * 100) / 100;
}
