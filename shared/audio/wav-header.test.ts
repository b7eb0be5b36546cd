import { describe, expect, it } from "vitest";
import { readCompleteWav } from "./wav-header.ts";

function wav(opts: {
  format?: number;
  channels?: number;
  rate?: number;
  bits?: number;
  dataBytes: number;
  present?: number;
}) {
  const { format = 1, channels = 2, rate = 8000, bits = 16, dataBytes } = opts;
  const present = opts.present ?? dataBytes;
  const buf = Buffer.alloc(44 + present);
  buf.write("RIFF", 0);
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write("WAVE", 8);
  buf.write("fmt ", 12);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(format, 20);
  buf.writeUInt16LE(channels, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE((rate * channels * bits) / 8, 28);
  buf.writeUInt16LE((channels * bits) / 8, 32);
  buf.writeUInt16LE(bits, 34);
  buf.write("data", 36);
  buf.writeUInt32LE(dataBytes, 40);
  return buf;
}
const check = (b: Buffer) => readCompleteWav(b, b.length);

describe("readCompleteWav", () => {
  it("proves complete PCM, A-law and μ-law WAVs, with duration from the data size", () => {
    expect(check(wav({ dataBytes: 32000 }))).toEqual({
      durationSec: 1,
      channels: 2,
      sampleRate: 8000,
      codec: "pcm",
    });
    expect(check(wav({ format: 6, bits: 8, channels: 1, dataBytes: 16000 }))).toMatchObject({
      durationSec: 2,
      codec: "alaw",
    });
    expect(check(wav({ format: 7, bits: 8, channels: 1, dataBytes: 8000 }))).toMatchObject({
      codec: "mulaw",
    });
  });

  it("leaves everything it cannot prove to the full check", () => {
    expect(check(wav({ dataBytes: 32000, present: 10000 }))).toBeUndefined(); // truncated
    expect(check(wav({ dataBytes: 0 }))).toBeUndefined(); // 0 seconds
    expect(check(wav({ format: 0x55, dataBytes: 1000 }))).toBeUndefined(); // MP3 in WAV
    expect(check(wav({ bits: 12, dataBytes: 1000 }))).toBeUndefined(); // odd header
    expect(check(Buffer.from("just some text\n".repeat(10)))).toBeUndefined();
    expect(check(Buffer.alloc(0))).toBeUndefined();
    const liar = wav({ dataBytes: 32000 });
    liar.writeUInt32LE(999, 28); // byte rate inconsistent with the format
    expect(check(liar)).toBeUndefined();
  });

  it("leaves a WAV with anything after its data chunk (a second data chunk, 120 s) to the full check", () => {
    const first = wav({ dataBytes: 16000 }); // 0.5 s declared by the first chunk
    const second = Buffer.alloc(8 + 120 * 32000);
    second.write("data", 0);
    second.writeUInt32LE(120 * 32000, 4);
    const twoChunks = Buffer.concat([first, second]);
    twoChunks.writeUInt32LE(twoChunks.length - 8, 4);
    expect(readCompleteWav(twoChunks.subarray(0, 64 * 1024), twoChunks.length)).toBeUndefined();
    // A pad byte after an odd-sized data chunk is still the end of the file.
    const odd = wav({ format: 6, bits: 8, channels: 1, dataBytes: 8001 });
    expect(check(Buffer.concat([odd, Buffer.alloc(1)]))).toMatchObject({ codec: "alaw" });
  });
});
