import { describe, expect, it } from "vitest";
import {
  chunkSecondsLimit,
  intervalsWithin,
  offsetSegments,
  planChunks,
  silencesOf,
} from "./chunked-transcriber.ts";

describe("silencesOf", () => {
  it("is the complement of speech within the recording, leading and trailing silence included", () => {
    expect(
      silencesOf(
        [
          { startSec: 5, endSec: 7 },
          { startSec: 1, endSec: 3 },
          { startSec: 6, endSec: 8 },
        ],
        10,
      ),
    ).toEqual([
      { startSec: 0, endSec: 1 },
      { startSec: 3, endSec: 5 },
      { startSec: 8, endSec: 10 },
    ]);
    expect(silencesOf([{ startSec: 0, endSec: 10 }], 10)).toEqual([]);
    expect(silencesOf([], 4)).toEqual([{ startSec: 0, endSec: 4 }]);
  });
});

describe("planChunks", () => {
  it("keeps a recording within the limit in one piece", () => {
    expect(planChunks([{ startSec: 0, endSec: 9 }], 10, { maxChunkSec: 10 })).toEqual([
      { startSec: 0, endSec: 10, endsInSilence: true },
    ]);
  });

  it("cuts in the middle of the longest silence in the window before each limit", () => {
    // Limit 10 s, window 4 s: silences 6.5–7 (0.5 s) and 8–9.5 (1.5 s) qualify, 2–4 is too early → 8.75.
    // Next limit 18.75, window from 14.75: 15–16 (1 s) and 18–19.5 (1.5 s, straddling the limit) →
    // the middle of its part before the limit, 18.375.
    const speech = [
      { startSec: 0, endSec: 2 },
      { startSec: 4, endSec: 6.5 },
      { startSec: 7, endSec: 8 },
      { startSec: 9.5, endSec: 15 },
      { startSec: 16, endSec: 18 },
      { startSec: 19.5, endSec: 25 },
    ];
    const plan = planChunks(speech, 25, { maxChunkSec: 10, searchWindowSec: 4 });
    expect(plan).toEqual([
      { startSec: 0, endSec: 8.75, endsInSilence: true },
      { startSec: 8.75, endSec: 18.375, endsInSilence: true },
      { startSec: 18.375, endSec: 25, endsInSilence: true },
    ]);
  });

  it("never exceeds the limit, never cuts inside speech when a silence exists, and covers the recording", () => {
    const speech = Array.from({ length: 40 }, (_, i) => ({ startSec: i * 3 + 0.4, endSec: i * 3 + 2.6 }));
    const duration = 121;
    const plan = planChunks(speech, duration, { maxChunkSec: 17 });
    expect(plan[0]?.startSec).toBe(0);
    expect(plan.at(-1)?.endSec).toBe(duration);
    for (const [i, chunk] of plan.entries()) {
      expect(chunk.endSec - chunk.startSec).toBeLessThanOrEqual(17 + 1e-9);
      expect(chunk.endSec).toBeGreaterThan(chunk.startSec);
      if (i > 0) expect(chunk.startSec).toBe(plan[i - 1]?.endSec);
      if (i < plan.length - 1) {
        expect(speech.some((s) => chunk.endSec > s.startSec && chunk.endSec < s.endSec)).toBe(false);
        // Every gap is (3k − 0.4, 3k + 0.4): its middle is a multiple of 3.
        expect(Math.abs(chunk.endSec / 3 - Math.round(chunk.endSec / 3))).toBeLessThan(1e-9);
      }
    }
    // Close to the limit: no piece but the last is shorter than limit − window.
    for (const chunk of plan.slice(0, -1)) expect(chunk.endSec - chunk.startSec).toBeGreaterThan(17 - 17 / 5);
  });

  it("falls back to the latest silence before the window, then to a hard cut at the limit", () => {
    const speech = [
      { startSec: 0, endSec: 3 },
      { startSec: 4, endSec: 30 },
    ];
    const plan = planChunks(speech, 30, { maxChunkSec: 10, searchWindowSec: 2 });
    expect(plan[0]).toEqual({ startSec: 0, endSec: 3.5, endsInSilence: true });
    expect(plan[1]).toEqual({ startSec: 3.5, endSec: 13.5, endsInSilence: false });
    expect(plan[2]).toEqual({ startSec: 13.5, endSec: 23.5, endsInSilence: false });
    expect(plan[3]).toEqual({ startSec: 23.5, endSec: 30, endsInSilence: true });
    expect(plan).toHaveLength(4);
  });

  it("cuts at the limit inside a silence that straddles it, at the middle of its usable part", () => {
    const plan = planChunks(
      [
        { startSec: 0, endSec: 8 },
        { startSec: 14, endSec: 20 },
      ],
      20,
      { maxChunkSec: 10, searchWindowSec: 3 },
    );
    expect(plan[0]).toEqual({ startSec: 0, endSec: 9, endsInSilence: true });
  });
});

describe("chunkSecondsLimit", () => {
  it("turns a byte limit into seconds from the file's own byte rate, leaving room for a header", () => {
    // 16 kHz mono 16-bit: 32,000 B/s.
    const bytes = 44 + 32_000 * 60;
    expect(chunkSecondsLimit(bytes, 60, { maxBytes: 32_000 * 10 + 4096 })).toBeCloseTo(10, 2);
    expect(chunkSecondsLimit(bytes, 60, { maxBytes: 25 * 1024 * 1024, maxSec: 30 })).toBe(30);
    expect(() => chunkSecondsLimit(bytes, 60, { maxBytes: 100 })).toThrow(RangeError);
  });
});

describe("intervalsWithin and offsetSegments", () => {
  it("moves intervals into a piece's time and segments back into the recording's", () => {
    const chunk = { startSec: 10, endSec: 20 };
    expect(
      intervalsWithin(
        [
          { startSec: 8, endSec: 11 },
          { startSec: 12, endSec: 13 },
          { startSec: 19, endSec: 25 },
          { startSec: 21, endSec: 22 },
        ],
        chunk,
      ),
    ).toEqual([
      { startSec: 0, endSec: 1 },
      { startSec: 2, endSec: 3 },
      { startSec: 9, endSec: 10 },
    ]);
    expect(
      offsetSegments(
        [
          { startSec: 0.5, endSec: 2, text: "a b", words: [{ word: "a", startSec: 0.5, endSec: 1 }] },
          { startSec: 9.5, endSec: 10.2, text: "c" },
        ],
        chunk,
      ),
    ).toEqual([
      { startSec: 10.5, endSec: 12, text: "a b", words: [{ word: "a", startSec: 10.5, endSec: 11 }] },
      { startSec: 19.5, endSec: 20, text: "c" },
    ]);
  });
});
