import { describe, expect, it } from "vitest";
import {
  declaredWavDuration,
  isTruncated,
  MIN_SPEECH_SEC,
  parseSilenceDetect,
  trimSilenceIntervalsToSpeech,
} from "./ffmpeg-audio-tools.ts";

// Captured from `ffmpeg -i left.wav -af silencedetect=noise=-35dB:d=0.35 -f null -` (ffmpeg 5.1).
const capturedStderr = [
  "[silencedetect @ 0x5586ad732fc0] silence_start: 0",
  "[silencedetect @ 0x5586ad732fc0] silence_end: 0.5 | silence_duration: 0.5",
  "size=N/A time=00:00:10.00 bitrate=N/A speed= 900x",
  "[silencedetect @ 0x5586ad732fc0] silence_start: 6.38225",
  "[silencedetect @ 0x5586ad732fc0] silence_end: 14.7423 | silence_duration: 8.36006",
  "[silencedetect @ 0x5586ad732fc0] silence_start: 38.2232",
  "[silencedetect @ 0x5586ad732fc0] silence_end: 38.7233 | silence_duration: 0.500062",
];

describe("parseSilenceDetect", () => {
  it("pairs silence_start with the following silence_end", () => {
    expect(parseSilenceDetect(capturedStderr, 38.7233)).toEqual([
      { startSec: 0, endSec: 0.5 },
      { startSec: 6.38225, endSec: 14.7423 },
      { startSec: 38.2232, endSec: 38.7233 },
    ]);
  });

  it("closes a silence still open at end of input at the duration", () => {
    expect(parseSilenceDetect(["[silencedetect @ 0x1] silence_start: 12.5"], 20)).toEqual([
      { startSec: 12.5, endSec: 20 },
    ]);
  });

  it("reads negative and exponent timestamps ffmpeg sometimes prints", () => {
    expect(
      parseSilenceDetect(["silence_start: -0.00125", "silence_end: 1.5e-05 | silence_duration: 0.001"], 5),
    ).toEqual([{ startSec: -0.00125, endSec: 0.000015 }]);
  });

  it("returns nothing when no silence is reported", () => {
    expect(parseSilenceDetect(["size=N/A time=00:00:10.00"], 10)).toEqual([]);
  });
});

describe("trimSilenceIntervalsToSpeech", () => {
  it("returns the complement of the silences within the recording", () => {
    expect(trimSilenceIntervalsToSpeech(parseSilenceDetect(capturedStderr, 38.7233), 38.7233)).toEqual([
      { startSec: 0.5, endSec: 6.38 },
      { startSec: 14.74, endSec: 38.22 },
    ]);
  });

  it("treats leading and trailing sound as speech up to the edges", () => {
    expect(trimSilenceIntervalsToSpeech([{ startSec: 3, endSec: 4 }], 10)).toEqual([
      { startSec: 0, endSec: 3 },
      { startSec: 4, endSec: 10 },
    ]);
  });

  it("is all speech without silences and nothing when silent throughout", () => {
    expect(trimSilenceIntervalsToSpeech([], 7.456)).toEqual([{ startSec: 0, endSec: 7.46 }]);
    expect(trimSilenceIntervalsToSpeech([{ startSec: 0, endSec: 7.456 }], 7.456)).toEqual([]);
  });

  it("drops specks shorter than the minimum speech length", () => {
    const speck = MIN_SPEECH_SEC / 2;
    expect(
      trimSilenceIntervalsToSpeech(
        [
          { startSec: 0, endSec: 2 },
          { startSec: 2 + speck, endSec: 5 },
        ],
        5,
      ),
    ).toEqual([]);
    expect(
      trimSilenceIntervalsToSpeech(
        [
          { startSec: 0, endSec: 2 },
          { startSec: 2.2, endSec: 5 },
        ],
        5,
      ),
    ).toEqual([{ startSec: 2, endSec: 2.2 }]);
  });

  it("clips silences outside the recording, merges overlapping ones and sorts them", () => {
    expect(
      trimSilenceIntervalsToSpeech(
        [
          { startSec: 8, endSec: 12 },
          { startSec: -1, endSec: 1 },
          { startSec: 4, endSec: 6 },
          { startSec: 5, endSec: 6.5 },
        ],
        10,
      ),
    ).toEqual([
      { startSec: 1, endSec: 4 },
      { startSec: 6.5, endSec: 8 },
    ]);
  });

  it("returns nothing for a zero or invalid duration", () => {
    expect(trimSilenceIntervalsToSpeech([], 0)).toEqual([]);
    expect(trimSilenceIntervalsToSpeech([], Number.NaN)).toEqual([]);
  });
});

function wavHeader(dataBytes: number, byteRate: number, extraChunk = false): Uint8Array {
  const chunks: Buffer[] = [Buffer.from("RIFF\0\0\0\0WAVE", "latin1")];
  const fmt = Buffer.alloc(24);
  fmt.write("fmt ", 0, "latin1");
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(1, 8);
  fmt.writeUInt16LE(2, 10);
  fmt.writeUInt32LE(byteRate / 4, 12);
  fmt.writeUInt32LE(byteRate, 16);
  fmt.writeUInt16LE(4, 20);
  fmt.writeUInt16LE(16, 22);
  chunks.push(fmt);
  if (extraChunk) {
    const list = Buffer.alloc(8 + 5 + 1);
    list.write("LIST", 0, "latin1");
    list.writeUInt32LE(5, 4); // odd size: the chunk is padded to a word boundary
    chunks.push(list);
  }
  const data = Buffer.alloc(8);
  data.write("data", 0, "latin1");
  data.writeUInt32LE(dataBytes, 4);
  chunks.push(data);
  return new Uint8Array(Buffer.concat(chunks));
}

describe("declaredWavDuration", () => {
  it("reads the duration the header promises", () => {
    expect(declaredWavDuration(wavHeader(32_000 * 10, 32_000))).toBe(10);
  });

  it("walks past other chunks, honouring word alignment", () => {
    expect(declaredWavDuration(wavHeader(32_000 * 3, 32_000, true))).toBe(3);
  });

  it("ignores streaming placeholders and non-WAV content", () => {
    expect(declaredWavDuration(wavHeader(0, 32_000))).toBeUndefined();
    expect(declaredWavDuration(wavHeader(0xffffffff, 32_000))).toBeUndefined();
    expect(declaredWavDuration(new TextEncoder().encode("ID3\u0003 not a wave file at all"))).toBeUndefined();
    expect(declaredWavDuration(new Uint8Array(0))).toBeUndefined();
  });
});

describe("isTruncated", () => {
  it("tolerates encoder padding but not missing audio", () => {
    expect(isTruncated(38.88, 38.72)).toBe(false);
    expect(isTruncated(38.72, 19.36)).toBe(true);
    expect(isTruncated(600, 590)).toBe(false); // within 2 %
    expect(isTruncated(600, 580)).toBe(true);
  });

  it("never calls a file truncated without a declared duration", () => {
    expect(isTruncated(0, 1)).toBe(false);
  });
});
