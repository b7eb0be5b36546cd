import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SynthesizedCall, synthesizeCall } from "../../scripts/fixtures/synthesize-call.ts";
import { pushRecording, registerOwner, waitForCall } from "../harness/api-client.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

const run = promisify(execFile);

/**
 * Every audio format telephony sends, detected by content: each file is pushed under a misleading name,
 * all at once, and each is processed to `done`; stereo files keep both speakers apart, mono files are
 * transcribed as one channel. One short two-voice call is synthesized once and converted with ffmpeg.
 */
interface Format {
  name: string;
  /** ffmpeg output arguments (before the path). */
  args: string[];
  ext: string;
  /** The file name the push claims: deliberately wrong. */
  claimed: string;
  channels: 1 | 2;
}

const formats: Format[] = [
  {
    name: "WAV PCM 16 kHz",
    args: ["-c:a", "pcm_s16le", "-f", "wav"],
    ext: "wav",
    claimed: "call.mp3",
    channels: 2,
  },
  {
    name: "WAV A-law 8 kHz",
    args: ["-c:a", "pcm_alaw", "-ar", "8000", "-f", "wav"],
    ext: "wav",
    claimed: "call.ogg",
    channels: 2,
  },
  {
    name: "WAV μ-law 8 kHz",
    args: ["-c:a", "pcm_mulaw", "-ar", "8000", "-f", "wav"],
    ext: "wav",
    claimed: "rec.bin",
    channels: 2,
  },
  {
    name: "MP3",
    args: ["-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3"],
    ext: "mp3",
    claimed: "call.wav",
    channels: 2,
  },
  {
    name: "OGG/Opus",
    args: ["-c:a", "libopus", "-b:a", "32k", "-f", "ogg"],
    ext: "ogg",
    claimed: "call.m4a",
    channels: 2,
  },
  { name: "FLAC", args: ["-c:a", "flac", "-f", "flac"], ext: "flac", claimed: "call.mp3", channels: 2 },
  {
    name: "M4A/AAC",
    args: ["-c:a", "aac", "-b:a", "64k", "-f", "ipod"],
    ext: "m4a",
    claimed: "call.flac",
    channels: 2,
  },
  {
    name: "WAV PCM 8 kHz mono (telephony)",
    args: ["-ac", "1", "-ar", "8000", "-c:a", "pcm_s16le", "-f", "wav"],
    ext: "wav",
    claimed: "call",
    channels: 1,
  },
  {
    name: "MP3 mono",
    args: ["-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k", "-f", "mp3"],
    ext: "mp3",
    claimed: "mono.wav",
    channels: 1,
  },
];

let app: TestApp;
let workDir: string;
let call: SynthesizedCall;
const files = new Map<string, string>();
let swapped: string;

beforeAll(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-formats-"));
  const [started, synthesized] = await Promise.all([
    startTestApp("pglite", { PIPELINE_CONCURRENCY: "4" }),
    synthesizeCall(
      {
        leadInSec: 0.2,
        tailSec: 0.2,
        turns: [
          {
            speaker: "operator",
            text: "Hello, thank you for calling, how can I help you today?",
            pauseAfterSec: 0.4,
          },
          { speaker: "client", text: "Price list please." },
        ],
      },
      path.join(os.tmpdir(), `tyndau-formats-${process.pid}.wav`),
      { sampleRate: 16000 },
    ),
  ]);
  app = started;
  call = synthesized;
  await Promise.all(
    formats.map(async (f, i) => {
      const out = path.join(workDir, `f${i}.${f.ext}`);
      await run("ffmpeg", ["-loglevel", "error", "-y", "-i", call.path, ...f.args, out]);
      files.set(f.name, out);
    }),
  );
  // The same call with the channels swapped: operator on the RIGHT.
  swapped = path.join(workDir, "swapped.wav");
  await run("ffmpeg", [
    "-loglevel",
    "error",
    "-y",
    "-i",
    call.path,
    "-af",
    "pan=stereo|c0=c1|c1=c0",
    swapped,
  ]);
}, 180_000);
afterAll(async () => {
  await app?.close();
  await fs.rm(workDir, { recursive: true, force: true });
  if (call) await fs.rm(call.path, { force: true });
});

interface CallBody {
  status: string;
  error: unknown;
  channels: number;
  mono: boolean;
  metrics: { operatorTalkSec: number; clientTalkSec: number } | null;
  transcript: { segments: { speaker: string }[] } | null;
}

describe("ingest formats", () => {
  it("detects each format by content and processes it to done, stereo with both speakers", async () => {
    expect(call.durationSec).toBeLessThan(6);
    const owner = await registerOwner(app.baseUrl);
    const mk = (body: Record<string, unknown>) =>
      owner.client.post<{ id: string; ingestUrl: string }>("/api/v1/sources", { kind: "push", ...body });
    const left = (await mk({ name: "PBX left" })).body;
    const right = (await mk({ name: "PBX right" })).body;
    expect(
      (await owner.client.patch(`/api/v1/sources/${right.id}`, { operatorChannel: "right" })).status,
    ).toBe(200);

    const pushes = await Promise.all([
      ...formats.map((f, i) =>
        pushRecording(left.ingestUrl, files.get(f.name)!, { externalId: `fmt-${i}` }, {}, f.claimed),
      ),
      pushRecording(right.ingestUrl, swapped, { externalId: "swapped" }, {}, "swapped.wav"),
    ]);
    const refused = pushes
      .map((p, i) => [formats[i]?.name ?? "swapped", p.status, JSON.stringify(p.body.error)] as const)
      .filter(([, status]) => status !== 202);
    expect(refused).toEqual([]);

    const done = await Promise.all(
      pushes.map((p) => waitForCall(owner.client, p.body.callId as string, 300_000) as Promise<unknown>),
    );
    const bodies = done as CallBody[];
    const problems: string[] = [];
    formats.forEach((f, i) => {
      const b = bodies[i]!;
      const speakers = new Set(b.transcript?.segments.map((s) => s.speaker));
      if (b.status !== "done") problems.push(`${f.name}: ${b.status} ${JSON.stringify(b.error)}`);
      else if (b.channels !== f.channels) problems.push(`${f.name}: channels ${b.channels}`);
      else if (f.channels === 2 && !(speakers.has("operator") && speakers.has("client")))
        problems.push(`${f.name}: speakers ${[...speakers].join(",")}`);
      else if (f.channels === 1 && !b.mono) problems.push(`${f.name}: not marked mono`);
    });
    expect(problems).toEqual([]);

    // operatorChannel: the swapped file on a "right" source reads like the original on a "left" one.
    const original = bodies[0]!.metrics!;
    const fromRight = bodies[formats.length]!;
    expect(fromRight.status).toBe("done");
    expect(original.operatorTalkSec).toBeGreaterThan(original.clientTalkSec + 1);
    expect(fromRight.metrics!.operatorTalkSec).toBeCloseTo(original.operatorTalkSec, 0);
    expect(fromRight.metrics!.clientTalkSec).toBeCloseTo(original.clientTalkSec, 0);
  }, 420_000);
});
