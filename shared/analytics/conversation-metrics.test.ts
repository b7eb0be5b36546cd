import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SpeechInterval } from "../audio/audio-tools.ts";
import {
  computeConversationMetrics,
  INTERRUPTION_MIN_OVERLAP_SEC,
  intersect,
  MONOLOGUE_GAP_BRIDGE_SEC,
  mergeIntervals,
  normalizeIntervals,
  subtract,
  totalLength,
} from "./conversation-metrics.ts";

const iv = (startSec: number, endSec: number): SpeechInterval => ({ startSec, endSec });

describe("interval helpers", () => {
  it("mergeIntervals sorts and joins overlapping and touching intervals", () => {
    expect(mergeIntervals([iv(5, 6), iv(0, 1), iv(0.5, 2), iv(2, 3), iv(7, 7)])).toEqual([
      iv(0, 3),
      iv(5, 6),
    ]);
  });

  it("normalizeIntervals clips to the recording and drops empty or non-finite intervals", () => {
    expect(normalizeIntervals([iv(-1, 0.5), iv(9, 12), iv(4, 3), iv(Number.NaN, 2), iv(11, 12)], 10)).toEqual(
      [iv(0, 0.5), iv(9, 10)],
    );
  });

  it("intersect, subtract and totalLength", () => {
    const a = [iv(0, 4), iv(6, 10)];
    const b = [iv(3, 7), iv(9, 12)];
    expect(intersect(a, b)).toEqual([iv(3, 4), iv(6, 7), iv(9, 10)]);
    expect(subtract(a, b)).toEqual([iv(0, 3), iv(7, 9)]);
    expect(subtract(b, a)).toEqual([iv(4, 6), iv(10, 12)]);
    expect(totalLength(a)).toBe(8);
    expect(intersect(a, [])).toEqual([]);
    expect(subtract(a, [])).toEqual(a);
  });
});

describe("computeConversationMetrics", () => {
  it("returns zeros for an empty recording and no speech", () => {
    expect(computeConversationMetrics({ operator: [], client: [], durationSec: 0 })).toEqual({
      operatorTalkSec: 0,
      clientTalkSec: 0,
      talkRatio: 0,
      silenceSec: 0,
      overlapSec: 0,
      interruptions: { operator: 0, client: 0 },
      longestMonologueSec: 0,
      switchesPerMinute: 0,
    });
  });

  it("counts a recording with no speech as all silence", () => {
    const m = computeConversationMetrics({ operator: [], client: [], durationSec: 42.5 });
    expect(m.silenceSec).toBe(42.5);
    expect(m.talkRatio).toBe(0);
    expect(m.switchesPerMinute).toBe(0);
    expect(m.longestMonologueSec).toBe(0);
  });

  it("measures talk time per side and the operator's share", () => {
    const m = computeConversationMetrics({
      operator: [iv(0, 3), iv(10, 13)],
      client: [iv(4, 6)],
      durationSec: 20,
    });
    expect(m.operatorTalkSec).toBe(6);
    expect(m.clientTalkSec).toBe(2);
    expect(m.talkRatio).toBe(0.75);
  });

  it("rounds the talk ratio to two decimals", () => {
    const m = computeConversationMetrics({ operator: [iv(0, 1)], client: [iv(2, 4)], durationSec: 5 });
    expect(m.talkRatio).toBe(0.33);
  });

  it("talk ratio is 1 when only the operator speaks", () => {
    const m = computeConversationMetrics({ operator: [iv(1, 2)], client: [], durationSec: 5 });
    expect(m.talkRatio).toBe(1);
    expect(m.clientTalkSec).toBe(0);
  });

  it("counts silence at both ends and between turns, not while anyone speaks", () => {
    const m = computeConversationMetrics({
      operator: [iv(2, 5)],
      client: [iv(6, 9)],
      durationSec: 12.25,
    });
    // 2 s lead-in + 1 s between turns + 3.25 s tail.
    expect(m.silenceSec).toBe(6.25);
  });

  it("does not count overlapping speech twice as non-silence", () => {
    const m = computeConversationMetrics({ operator: [iv(0, 6)], client: [iv(4, 8)], durationSec: 10 });
    expect(m.silenceSec).toBe(2);
    expect(m.overlapSec).toBe(2);
  });

  it("sums overlap over several stretches", () => {
    const m = computeConversationMetrics({
      operator: [iv(0, 5), iv(10, 15)],
      client: [iv(4, 6), iv(12, 13), iv(14.5, 20)],
      durationSec: 20,
    });
    expect(m.overlapSec).toBe(2.5);
  });

  it("normalises touching and overlapping input intervals before measuring", () => {
    const m = computeConversationMetrics({
      operator: [iv(3, 5), iv(0, 2), iv(1, 3), iv(4, 4.5)],
      client: [iv(-2, 0.5), iv(9, 30)],
      durationSec: 10,
    });
    expect(m.operatorTalkSec).toBe(5);
    expect(m.clientTalkSec).toBe(1.5);
    expect(m.overlapSec).toBe(0.5);
    expect(m.silenceSec).toBe(4);
  });

  describe("interruptions", () => {
    const justBelow = INTERRUPTION_MIN_OVERLAP_SEC - 0.01;
    const justAbove = INTERRUPTION_MIN_OVERLAP_SEC + 0.01;

    it("a client overlap just below the threshold is not an interruption", () => {
      const m = computeConversationMetrics({
        operator: [iv(0, 5)],
        client: [iv(5 - justBelow, 8)],
        durationSec: 10,
      });
      expect(m.interruptions).toEqual({ operator: 0, client: 0 });
      expect(m.overlapSec).toBe(0.49);
    });

    it("a client overlap just above the threshold is an interruption by the client", () => {
      const m = computeConversationMetrics({
        operator: [iv(0, 5)],
        client: [iv(5 - justAbove, 8)],
        durationSec: 10,
      });
      expect(m.interruptions).toEqual({ operator: 0, client: 1 });
    });

    it("an overlap of exactly the threshold is not an interruption", () => {
      const m = computeConversationMetrics({
        operator: [iv(0, 5)],
        client: [iv(4.5, 8)],
        durationSec: 10,
      });
      expect(m.interruptions.client).toBe(0);
    });

    it("an operator overlap just below the threshold is not an interruption", () => {
      const m = computeConversationMetrics({
        operator: [iv(3 - justBelow, 6)],
        client: [iv(1, 3)],
        durationSec: 10,
      });
      expect(m.interruptions).toEqual({ operator: 0, client: 0 });
    });

    it("an operator overlap just above the threshold is an interruption by the operator", () => {
      const m = computeConversationMetrics({
        operator: [iv(3 - justAbove, 6)],
        client: [iv(1, 3)],
        durationSec: 10,
      });
      expect(m.interruptions).toEqual({ operator: 1, client: 0 });
    });

    it("a short interjection inside a long turn is counted only when it lasts long enough", () => {
      const m = computeConversationMetrics({
        operator: [iv(0, 20)],
        client: [iv(5, 5.3), iv(10, 12)],
        durationSec: 20,
      });
      expect(m.interruptions).toEqual({ operator: 0, client: 1 });
    });

    it("starting at the same instant is not an interruption by either side", () => {
      const m = computeConversationMetrics({ operator: [iv(2, 6)], client: [iv(2, 5)], durationSec: 10 });
      expect(m.interruptions).toEqual({ operator: 0, client: 0 });
    });

    it("the side that was speaking first is not the interrupter", () => {
      const m = computeConversationMetrics({
        operator: [iv(0, 4), iv(10, 14)],
        client: [iv(3, 8), iv(12, 16)],
        durationSec: 20,
      });
      expect(m.interruptions).toEqual({ operator: 0, client: 2 });
    });

    it("counts each side's interruptions separately", () => {
      const m = computeConversationMetrics({
        operator: [iv(0, 4), iv(7, 12)],
        client: [iv(3, 8)],
        durationSec: 15,
      });
      expect(m.interruptions).toEqual({ operator: 1, client: 1 });
    });
  });

  describe("longest monologue", () => {
    it("is the longest single turn when nobody pauses", () => {
      const m = computeConversationMetrics({
        operator: [iv(0, 4)],
        client: [iv(5, 12)],
        durationSec: 15,
      });
      expect(m.longestMonologueSec).toBe(7);
    });

    it("bridges a pause of the same speaker shorter than the threshold", () => {
      const gap = MONOLOGUE_GAP_BRIDGE_SEC - 0.1;
      const m = computeConversationMetrics({
        operator: [iv(0, 4), iv(4 + gap, 8 + gap)],
        client: [],
        durationSec: 20,
      });
      expect(m.longestMonologueSec).toBe(8 + gap);
    });

    it("does not bridge a pause longer than the threshold", () => {
      const gap = MONOLOGUE_GAP_BRIDGE_SEC + 0.1;
      const m = computeConversationMetrics({
        operator: [iv(0, 4), iv(4 + gap, 7 + gap)],
        client: [],
        durationSec: 20,
      });
      expect(m.longestMonologueSec).toBe(4);
    });

    it("does not bridge a short pause in which the other side speaks", () => {
      const m = computeConversationMetrics({
        operator: [iv(0, 4), iv(5, 9)],
        client: [iv(4.2, 4.6)],
        durationSec: 20,
      });
      expect(m.longestMonologueSec).toBe(4);
    });

    it("is broken by the other side talking over the speaker", () => {
      const m = computeConversationMetrics({
        operator: [iv(0, 10)],
        client: [iv(6, 7)],
        durationSec: 20,
      });
      // 0–6 alone, 6–7 together, 7–10 alone.
      expect(m.longestMonologueSec).toBe(6);
    });

    it("chains several bridged pauses and picks the longer side", () => {
      const m = computeConversationMetrics({
        operator: [iv(0, 2), iv(3, 5), iv(6, 8)],
        client: [iv(9, 16)],
        durationSec: 20,
      });
      expect(m.longestMonologueSec).toBe(8);
      const m2 = computeConversationMetrics({
        operator: [iv(0, 2), iv(3, 5), iv(6, 8)],
        client: [iv(9, 18)],
        durationSec: 20,
      });
      expect(m2.longestMonologueSec).toBe(9);
    });
  });

  describe("switches per minute", () => {
    it("counts speaker changes along time and scales to a minute", () => {
      const m = computeConversationMetrics({
        operator: [iv(0, 5), iv(6, 8), iv(20, 25)],
        client: [iv(10, 15), iv(26, 29)],
        durationSec: 30,
      });
      // op op | cl | op | cl → 3 changes in half a minute.
      expect(m.switchesPerMinute).toBe(6);
    });

    it("is zero with only one speaker", () => {
      const m = computeConversationMetrics({ operator: [iv(0, 5), iv(6, 8)], client: [], durationSec: 60 });
      expect(m.switchesPerMinute).toBe(0);
    });

    it("rounds to two decimals", () => {
      const m = computeConversationMetrics({ operator: [iv(0, 1)], client: [iv(2, 3)], durationSec: 70 });
      // 1 switch / (70/60) min = 0.857…
      expect(m.switchesPerMinute).toBe(0.86);
    });
  });
});

describe("computeConversationMetrics properties", () => {
  const duration = fc.double({ min: 1, max: 600, noNaN: true });
  const intervalsWithin = (maxSec: number) =>
    fc.array(
      fc
        .tuple(
          fc.double({ min: -5, max: maxSec + 5, noNaN: true }),
          fc.double({ min: 0, max: 30, noNaN: true }),
        )
        .map(([start, length]) => iv(start, start + length)),
      { maxLength: 25 },
    );
  const call = duration.chain((durationSec) =>
    fc.record({
      durationSec: fc.constant(durationSec),
      operator: intervalsWithin(durationSec),
      client: intervalsWithin(durationSec),
    }),
  );

  it("talk + talk − overlap + silence equals the duration (within rounding)", () => {
    fc.assert(
      fc.property(call, (input) => {
        const m = computeConversationMetrics(input);
        const sum = m.operatorTalkSec + m.clientTalkSec - m.overlapSec + m.silenceSec;
        expect(Math.abs(sum - input.durationSec)).toBeLessThanOrEqual(0.025);
      }),
    );
  });

  it("keeps every measurement within its natural bounds", () => {
    fc.assert(
      fc.property(call, (input) => {
        const m = computeConversationMetrics(input);
        const limit = input.durationSec + 0.005;
        expect(m.talkRatio).toBeGreaterThanOrEqual(0);
        expect(m.talkRatio).toBeLessThanOrEqual(1);
        for (const v of [m.operatorTalkSec, m.clientTalkSec, m.silenceSec, m.longestMonologueSec]) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(limit);
        }
        expect(m.overlapSec).toBeLessThanOrEqual(Math.min(m.operatorTalkSec, m.clientTalkSec) + 0.005);
        expect(m.interruptions.operator).toBeLessThanOrEqual(input.operator.length);
        expect(m.interruptions.client).toBeLessThanOrEqual(input.client.length);
        expect(m.switchesPerMinute).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it("does not depend on the order of the input intervals", () => {
    fc.assert(
      fc.property(call, fc.func(fc.integer()), (input, rank) => {
        const shuffle = (xs: SpeechInterval[]) =>
          xs
            .map((x, i) => ({ x, key: rank(i) }))
            .sort((a, b) => a.key - b.key)
            .map(({ x }) => x);
        const shuffled = { ...input, operator: shuffle(input.operator), client: shuffle(input.client) };
        expect(computeConversationMetrics(shuffled)).toEqual(computeConversationMetrics(input));
      }),
    );
  });

  it("mirrors when the two sides swap", () => {
    fc.assert(
      fc.property(call, (input) => {
        const m = computeConversationMetrics(input);
        const swapped = computeConversationMetrics({
          ...input,
          operator: input.client,
          client: input.operator,
        });
        expect(swapped.operatorTalkSec).toBe(m.clientTalkSec);
        expect(swapped.overlapSec).toBe(m.overlapSec);
        expect(swapped.silenceSec).toBe(m.silenceSec);
        expect(swapped.interruptions).toEqual({
          operator: m.interruptions.client,
          client: m.interruptions.operator,
        });
        expect(swapped.longestMonologueSec).toBe(m.longestMonologueSec);
        expect(swapped.switchesPerMinute).toBe(m.switchesPerMinute);
        if (m.operatorTalkSec + m.clientTalkSec > 0) {
          expect(Math.abs(swapped.talkRatio - (1 - m.talkRatio))).toBeLessThanOrEqual(0.0100001);
        }
      }),
    );
  });

  it("silence and overlap agree with a brute-force sampling of the timeline", () => {
    fc.assert(
      fc.property(call, (input) => {
        const m = computeConversationMetrics(input);
        const step = input.durationSec / 4000;
        const speaks = (xs: SpeechInterval[], t: number) => xs.some((x) => x.startSec <= t && t < x.endSec);
        let silent = 0;
        let both = 0;
        for (let k = 0; k < 4000; k++) {
          const t = (k + 0.5) * step;
          const o = speaks(input.operator, t);
          const c = speaks(input.client, t);
          if (!o && !c) silent += step;
          if (o && c) both += step;
        }
        // Sampling error: each interval edge can misplace at most one step.
        const tolerance = step * 2 * (input.operator.length + input.client.length + 1) + 0.01;
        expect(Math.abs(m.silenceSec - silent)).toBeLessThanOrEqual(tolerance);
        expect(Math.abs(m.overlapSec - both)).toBeLessThanOrEqual(tolerance);
      }),
      { numRuns: 60 },
    );
  });
});
