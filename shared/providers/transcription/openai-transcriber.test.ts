import { describe, expect, it } from "vitest";
import { placeTextOnIntervals } from "./openai-transcriber.ts";

const words = (n: number, prefix = "w") => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`).join(" ");

describe("placeTextOnIntervals", () => {
  it("spreads words over the intervals in proportion to their durations, in order", () => {
    // 3 s and 1 s of speech: 12 words split 9 / 3.
    const segments = placeTextOnIntervals(
      words(12),
      [
        { startSec: 1, endSec: 4 },
        { startSec: 6, endSec: 7 },
      ],
      10,
    );
    expect(segments).toEqual([
      { startSec: 1, endSec: 4, text: words(9) },
      { startSec: 6, endSec: 7, text: "w10 w11 w12" },
    ]);
  });

  it("keeps every word exactly once and in order, whatever the intervals", () => {
    const text = words(37);
    const intervals = [
      { startSec: 0.4, endSec: 1.1 },
      { startSec: 1.9, endSec: 5.25 },
      { startSec: 6, endSec: 6.3 },
      { startSec: 8, endSec: 12 },
    ];
    const segments = placeTextOnIntervals(text, intervals, 13);
    expect(segments.map((s) => s.text).join(" ")).toBe(text);
    for (const s of segments) expect(intervals).toContainEqual({ startSec: s.startSec, endSec: s.endSec });
    // Longest interval gets the most words.
    const longest = segments.find((s) => s.startSec === 8)!;
    expect(longest.text.split(" ").length).toBeGreaterThan(15);
  });

  it("moves a split to a nearby sentence end, since people pause between sentences", () => {
    // Proportional split would be after "was" (4 of 8 words); the sentence ends one word later.
    const segments = placeTextOnIntervals(
      "Hello, my name was Anna. How can I?",
      [
        { startSec: 0, endSec: 2 },
        { startSec: 3, endSec: 5 },
      ],
      5,
    );
    expect(segments.map((s) => s.text)).toEqual(["Hello, my name was Anna.", "How can I?"]);
  });

  it("leaves a split alone when no sentence ends within reach", () => {
    const segments = placeTextOnIntervals(
      "one two three four five six seven eight nine ten",
      [
        { startSec: 0, endSec: 1 },
        { startSec: 2, endSec: 3 },
      ],
      3,
    );
    expect(segments.map((s) => s.text)).toEqual(["one two three four five", "six seven eight nine ten"]);
  });

  it("sorts intervals, ignores empty ones, and drops intervals that get no words", () => {
    const segments = placeTextOnIntervals(
      "Yes.",
      [
        { startSec: 5, endSec: 6 },
        { startSec: 1, endSec: 1 },
        { startSec: 0, endSec: 0.2 },
      ],
      6,
    );
    expect(segments).toEqual([{ startSec: 5, endSec: 6, text: "Yes." }]);
  });

  it("spans the whole file without intervals, and yields nothing for empty text", () => {
    expect(placeTextOnIntervals("  Hello there.  ", [], 2)).toEqual([
      { startSec: 0, endSec: 2, text: "Hello there." },
    ]);
    expect(placeTextOnIntervals("   ", [{ startSec: 0, endSec: 1 }], 2)).toEqual([]);
  });
});
