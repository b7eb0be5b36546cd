import { open } from "node:fs/promises";

/** What a WAV header alone proves about a file (see readCompleteWav). */
export interface WavFacts {
  durationSec: number;
  channels: number;
  sampleRate: number;
  codec: "pcm" | "alaw" | "mulaw";
}

const CODECS: Record<number, WavFacts["codec"]> = { 1: "pcm", 6: "alaw", 7: "mulaw" };
const HEAD_BYTES = 64 * 1024;

/**
 * The cheap acceptance check for uncompressed WAV (PCM, A-law, μ-law): every byte sequence is valid
 * sample data for these codecs, so a RIFF/WAVE file whose `fmt ` chunk is sane and whose `data` chunk is
 * non-empty, entirely present and the last thing in the file decodes completely to exactly its length: no
 * ffmpeg run is needed to prove it.
 * Anything else (compressed formats, odd or inconsistent headers, a data chunk cut short) returns
 * undefined and goes through the full ffprobe + decode check.
 */
export function readCompleteWav(head: Uint8Array, fileBytes: number): WavFacts | undefined {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const tag = (offset: number) =>
    offset + 4 <= head.byteLength ? String.fromCharCode(...head.subarray(offset, offset + 4)) : "";
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE") return undefined;
  let fmt: { codec: WavFacts["codec"]; channels: number; sampleRate: number; blockAlign: number } | undefined;
  let offset = 12;
  while (offset + 8 <= head.byteLength) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    if (id === "fmt ") {
      if (size < 16 || offset + 8 + 16 > head.byteLength) return undefined;
      let format = view.getUint16(offset + 8, true);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the SubFormat GUID.
      if (format === 0xfffe) {
        if (size < 40 || offset + 8 + 26 > head.byteLength) return undefined;
        format = view.getUint16(offset + 8 + 24, true);
      }
      const codec = CODECS[format];
      const channels = view.getUint16(offset + 10, true);
      const sampleRate = view.getUint32(offset + 12, true);
      const byteRate = view.getUint32(offset + 16, true);
      const blockAlign = view.getUint16(offset + 20, true);
      const bits = view.getUint16(offset + 22, true);
      if (!codec || channels < 1 || channels > 8 || sampleRate < 4000 || sampleRate > 192_000)
        return undefined;
      if (codec === "pcm" ? ![8, 16, 24, 32].includes(bits) : bits !== 8) return undefined;
      if (blockAlign !== (channels * bits) / 8 || byteRate !== sampleRate * blockAlign) return undefined;
      fmt = { codec, channels, sampleRate, blockAlign };
    } else if (id === "data") {
      if (!fmt || size === 0 || size === 0xffffffff || size < fmt.blockAlign) return undefined;
      // The whole data chunk must be in the file: a shorter file is truncated (the full check says so).
      if (offset + 8 + size > fileBytes) return undefined;
      // And it must be the file's last chunk: ffmpeg plays a second `data` chunk too, so anything after
      // the first one (another data chunk, metadata, junk) gets the full decode check instead.
      if (offset + 8 + size + (size % 2) < fileBytes) return undefined;
      const frames = Math.floor(size / fmt.blockAlign);
      return {
        durationSec: frames / fmt.sampleRate,
        channels: fmt.channels,
        sampleRate: fmt.sampleRate,
        codec: fmt.codec,
      };
    }
    offset += 8 + size + (size % 2);
  }
  return undefined;
}

export async function readCompleteWavFile(
  filePath: string,
  fileBytes: number,
): Promise<WavFacts | undefined> {
  const handle = await open(filePath, "r");
  try {
    const buffer = new Uint8Array(Math.min(HEAD_BYTES, fileBytes));
    const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, 0);
    return readCompleteWav(buffer.subarray(0, bytesRead), fileBytes);
  } finally {
    await handle.close();
  }
}
