import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TranscribedSegment } from "../providers/transcription/transcriber.ts";
import { type DialogueChannel, mergeDialogue } from "./dialogue.ts";

const seg = (startSec: number, endSec: number, text: string): TranscribedSegment => ({
  startSec,
  endSec,
  text,
});

describe("mergeDialogue", () => {
  it("interleaves the two channels by start time and labels each segment", () => {
    const dialogue = mergeDialogue([
      { speaker: "operator", segments: [seg(0.5, 3, "hello how can i help"), seg(8, 10, "i will send it")] },
      { speaker: "client", segments: [seg(3.5, 7, "i need my invoice"), seg(10.5, 11, "thanks")] },
    ]);
    expect(dialogue).toEqual([
      { speaker: "operator", startSec: 0.5, endSec: 3, text: "hello how can i help" },
      { speaker: "client", startSec: 3.5, endSec: 7, text: "i need my invoice" },
      { speaker: "operator", startSec: 8, endSec: 10, text: "i will send it" },
      { speaker: "client", startSec: 10.5, endSec: 11, text: "thanks" },
    ]);
  });

  it("sorts unsorted segments within a channel", () => {
    const dialogue = mergeDialogue([{ speaker: "unknown", segments: [seg(5, 6, "b"), seg(1, 2, "a")] }]);
    expect(dialogue.map((s) => s.text)).toEqual(["a", "b"]);
  });

  it("breaks start-time ties by end time, then operator before client", () => {
    const dialogue = mergeDialogue([
      { speaker: "client", segments: [seg(1, 2, "client same"), seg(1, 1.5, "client short")] },
      { speaker: "operator", segments: [seg(1, 2, "operator same")] },
    ]);
    expect(dialogue.map((s) => s.text)).toEqual(["client short", "operator same", "client same"]);
  });

  it("drops empty and whitespace-only texts and trims the rest", () => {
    const dialogue = mergeDialogue([
      { speaker: "operator", segments: [seg(0, 1, ""), seg(1, 2, "   "), seg(2, 3, "  hello \n there  ")] },
    ]);
    expect(dialogue).toEqual([{ speaker: "operator", startSec: 2, endSec: 3, text: "hello there" }]);
  });

  it("rounds times to two decimals", () => {
    const [first] = mergeDialogue([{ speaker: "client", segments: [seg(1.23456, 2.98765, "x")] }]);
    expect(first).toMatchObject({ startSec: 1.23, endSec: 2.99 });
  });

  it("never emits a segment that ends before it starts or starts before zero", () => {
    const dialogue = mergeDialogue([{ speaker: "client", segments: [seg(-0.2, 1, "a"), seg(3, 2.5, "b")] }]);
    expect(dialogue).toEqual([
      { speaker: "client", startSec: 0, endSec: 1, text: "a" },
      { speaker: "client", startSec: 3, endSec: 3, text: "b" },
    ]);
  });

  it("returns nothing for no channels or empty channels", () => {
    expect(mergeDialogue([])).toEqual([]);
    expect(mergeDialogue([{ speaker: "operator", segments: [] }])).toEqual([]);
  });

  it("keeps every non-empty segment, ordered, whatever the channel order", () => {
    const segment = fc
      .tuple(
        fc.double({ min: 0, max: 600, noNaN: true }),
        fc.double({ min: 0, max: 30, noNaN: true }),
        fc.string(),
      )
      .map(([start, length, text]) => seg(start, start + length, text));
    const channel = (speaker: DialogueChannel["speaker"]) =>
      fc.array(segment, { maxLength: 20 }).map((segments): DialogueChannel => ({ speaker, segments }));
    fc.assert(
      fc.property(channel("operator"), channel("client"), (operator, client) => {
        const dialogue = mergeDialogue([operator, client]);
        const nonEmpty = [...operator.segments, ...client.segments].filter((s) => s.text.trim() !== "");
        expect(dialogue).toHaveLength(nonEmpty.length);
        for (let i = 1; i < dialogue.length; i++) {
          expect(dialogue[i]!.startSec).toBeGreaterThanOrEqual(dialogue[i - 1]!.startSec);
        }
        expect(mergeDialogue([client, operator])).toEqual(dialogue);
      }),
    );
  });
});
