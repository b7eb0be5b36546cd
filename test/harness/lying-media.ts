import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { promisify } from "node:util";

/**
 * Recordings whose containers lie about their length, made with ffmpeg and then byte-edited, for the
 * "billing follows the audio that decodes" tests (PRODUCT.md).
 */
const run = promisify(execFile);

/** `seconds` of two-tone stereo Opus in Matroska, then its Segment Info Duration rewritten to `claimSec`. */
export async function lyingMatroska(path: string, seconds: number, claimSec: number): Promise<string> {
  await run("ffmpeg", [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", `sine=frequency=440:duration=${seconds}`],
    ...["-f", "lavfi", "-i", `sine=frequency=660:duration=${seconds}`],
    ...["-filter_complex", "amerge=inputs=2", "-c:a", "libopus", "-b:a", "24k", "-f", "matroska", path],
  ]);
  const bytes = await readFile(path);
  await writeFile(path, withMatroskaDuration(bytes, claimSec));
  return path;
}

/**
 * Rewrites the Segment Info Duration element (ID 0x4489, an 8- or 4-byte float in TimecodeScale units;
 * ffmpeg writes the default scale of 1 ms) of a Matroska file to `seconds`.
 */
export function withMatroskaDuration(bytes: Buffer, seconds: number): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i + 3 < out.length; i++) {
    if (out[i] !== 0x44 || out[i + 1] !== 0x89) continue;
    if (out[i + 2] === 0x88) {
      out.writeDoubleBE(seconds * 1000, i + 3);
      return out;
    }
    if (out[i + 2] === 0x84) {
      out.writeFloatBE(seconds * 1000, i + 3);
      return out;
    }
  }
  throw new Error("no Segment Duration element found");
}

/**
 * A stereo 8 kHz PCM WAV with two `data` chunks: the first holds `firstSec` seconds (what a reader of
 * only the first chunk sees), the second `secondSec` seconds (ffmpeg plays it too).
 */
export function wavWithTwoDataChunks(firstSec: number, secondSec: number): Buffer {
  const rate = 8000;
  const blockAlign = 4;
  const chunk = (sec: number, freq: number) => {
    const frames = Math.round(sec * rate);
    const data = Buffer.alloc(8 + frames * blockAlign);
    data.write("data", 0);
    data.writeUInt32LE(frames * blockAlign, 4);
    for (let f = 0; f < frames; f++) {
      const v = Math.round(8000 * Math.sin((2 * Math.PI * freq * f) / rate));
      data.writeInt16LE(v, 8 + f * 4);
      data.writeInt16LE(v, 8 + f * 4 + 2);
    }
    return data;
  };
  const fmt = Buffer.alloc(24);
  fmt.write("fmt ", 0);
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(1, 8);
  fmt.writeUInt16LE(2, 10);
  fmt.writeUInt32LE(rate, 12);
  fmt.writeUInt32LE(rate * blockAlign, 16);
  fmt.writeUInt16LE(blockAlign, 20);
  fmt.writeUInt16LE(16, 22);
  const body = Buffer.concat([Buffer.from("WAVE"), fmt, chunk(firstSec, 440), chunk(secondSec, 660)]);
  const head = Buffer.alloc(8);
  head.write("RIFF", 0);
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** An HLS playlist whose one segment is a file on the server's own disk. */
export function hlsPlaylistOf(localPath: string, seconds: number): Buffer {
  return Buffer.from(
    `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:${Math.ceil(seconds)}\n#EXTINF:${seconds},\n${localPath}\n#EXT-X-ENDLIST\n`,
  );
}

/** An ffconcat script naming a local file. */
export function concatScriptOf(localPath: string): Buffer {
  return Buffer.from(`ffconcat version 1.0\nfile '${localPath}'\n`);
}

/** An MPEG-TS file of `seconds` of mono tone: what an HLS segment on disk looks like. */
export async function transportStream(path: string, seconds: number): Promise<string> {
  await run("ffmpeg", [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", `sine=frequency=500:duration=${seconds}`],
    ...["-c:a", "mp2", "-f", "mpegts", path],
  ]);
  return path;
}

/** A short MP4 with a video track and an audio track. */
export async function videoWithAudio(path: string, seconds: number): Promise<string> {
  await run("ffmpeg", [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc=size=64x48:rate=10:duration=${seconds}`],
    ...["-f", "lavfi", "-i", `sine=frequency=440:duration=${seconds}`],
    ...["-c:v", "mpeg4", "-c:a", "aac", "-shortest", "-f", "mp4", path],
  ]);
  return path;
}
