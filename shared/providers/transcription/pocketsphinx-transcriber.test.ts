import { describe, expect, it } from "vitest";
import {
  createPocketSphinxTranscriber,
  DEFAULT_MAX_WORD_GAP_SEC,
  groupWordsIntoSegments,
  parsePocketSphinxTimes,
} from "./pocketsphinx-transcriber.ts";

// Captured from `pocketsphinx_continuous -infile call.wav -time yes -logfn /dev/null` (Debian
// pocketsphinx 0.8+5prealpha, en-us model): two utterances separated by 2.5 s of silence.
const capturedStdout = `
<s> 0.000 0.020 1.000000
</s> 0.030 0.850 1.000000
hello thank you for calling to now support my name is on a
<s> 2.380 2.570 0.997802
hello 2.580 3.090 0.623782
<sil> 3.100 3.250 0.990247
thank 3.260 3.580 0.227371
you 3.590 3.790 0.999200
for 3.800 4.000 0.999500
calling 4.010 4.410 0.921263
to(2) 4.420 4.510 0.948469
now 4.520 4.740 0.144363
support 4.750 5.420 0.888773
<sil> 5.430 5.580 0.701215
my 5.590 5.830 0.999700
name 5.840 6.160 0.996207
is 6.170 6.350 0.870649
on 6.360 6.600 0.135901
a 6.610 6.710 0.284095
</s> 6.720 7.100 1.000000
hi i'm a i need a copy of my invoice
<s> 11.220 11.310 0.999900
<sil> 11.320 11.530 0.968019
hi 11.540 11.760 0.406121
i'm 11.770 11.980 0.226101
[NOISE] 11.990 12.030 0.062099
++BREATH++ 12.040 12.110 0.167947
i 12.120 12.280 0.734081
need 12.290 12.490 0.732394
a 12.500 12.550 0.403328
copy 12.560 13.000 0.983830
of 13.010 13.140 1.000000
my 13.150 13.300 0.998201
invoice 13.310 13.770 0.543149
</s> 13.780 14.200 1.000000
`;

describe("parsePocketSphinxTimes", () => {
  const words = parsePocketSphinxTimes(capturedStdout);

  it("reads word lines with start, end and posterior, skipping hypothesis lines", () => {
    expect(words[0]).toEqual({ word: "hello", startSec: 2.58, endSec: 3.09, confidence: 0.623782 });
    expect(words.map((w) => w.word).join(" ")).toBe(
      "hello thank you for calling to now support my name is on a hi i'm i need a copy of my invoice",
    );
  });

  it("drops sentence markers, silence, noise and filler tokens", () => {
    const tokens = words.map((w) => w.word);
    for (const marker of ["<s>", "</s>", "<sil>", "[NOISE]", "++BREATH++"])
      expect(tokens).not.toContain(marker);
  });

  it("strips alternate pronunciation markers", () => {
    expect(words.find((w) => w.startSec === 4.42)?.word).toBe("to");
  });

  it("keeps apostrophes and times in file order", () => {
    expect(words.find((w) => w.word === "i'm")).toMatchObject({ startSec: 11.77, endSec: 11.98 });
    for (let i = 1; i < words.length; i++) expect(words[i]!.startSec).toBeGreaterThan(words[i - 1]!.startSec);
  });

  it("returns nothing for output without word lines", () => {
    expect(parsePocketSphinxTimes("")).toEqual([]);
    expect(parsePocketSphinxTimes("\n<s> 0.000 0.020 1.000000\n</s> 0.030 0.850 1.000000\n")).toEqual([]);
    expect(parsePocketSphinxTimes("hello there friend\n")).toEqual([]);
  });
});

describe("groupWordsIntoSegments", () => {
  const words = parsePocketSphinxTimes(capturedStdout);

  it("splits at pauses of at least the gap and keeps words together otherwise", () => {
    const segments = groupWordsIntoSegments(words, DEFAULT_MAX_WORD_GAP_SEC);
    expect(segments.map((s) => s.text)).toEqual([
      "hello thank you for calling to now support my name is on a",
      "hi i'm i need a copy of my invoice",
    ]);
    expect(segments[0]).toMatchObject({ startSec: 2.58, endSec: 6.71 });
    expect(segments[1]).toMatchObject({ startSec: 11.54, endSec: 13.77 });
    expect(segments[1]!.words).toHaveLength(9);
    expect(segments[1]!.words![0]).toEqual({ word: "hi", startSec: 11.54, endSec: 11.76 });
  });

  it("a pause inside an utterance splits when it exceeds the gap", () => {
    // "i'm" ends at 11.98, "i" starts at 12.12: a 0.14 s pause.
    const segments = groupWordsIntoSegments(words, 0.13);
    expect(segments.map((s) => s.text)).toContain("hi i'm");
    expect(groupWordsIntoSegments(words, 0.15).map((s) => s.text)).not.toContain("hi i'm");
  });

  it("returns no segments for no words", () => {
    expect(groupWordsIntoSegments([], 0.8)).toEqual([]);
  });

  it("keeps one segment per word when the gap is zero", () => {
    expect(groupWordsIntoSegments(words, 0)).toHaveLength(words.length);
  });
});

describe("createPocketSphinxTranscriber", () => {
  it("refuses languages other than English before running anything", async () => {
    const transcriber = createPocketSphinxTranscriber({ binary: "/nonexistent/pocketsphinx" });
    expect(transcriber.name).toBe("pocketsphinx");
    await expect(
      transcriber.transcribe({ filePath: "/nonexistent.wav", durationSec: 1, language: "ru" }),
    ).rejects.toMatchObject({ code: "TRANSCRIPTION_FAILED", retryable: false });
  });
});
