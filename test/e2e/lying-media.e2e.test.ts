import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, pushRecording, registerOwner, waitForCall } from "../harness/api-client.ts";
import {
  concatScriptOf,
  hlsPlaylistOf,
  lyingMatroska,
  transportStream,
  videoWithAudio,
  wavWithTwoDataChunks,
} from "../harness/lying-media.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

/**
 * Recordings that lie about what they are, pushed over HTTP on the production configuration (PostgreSQL,
 * S3, real secrets): billing follows the audio that decodes (PRODUCT.md), and ffmpeg opens nothing but
 * the accepted audio containers (no playlists, scripts, video or images).
 */
let app: TestApp;
let owner: { client: ApiClient };
let ingestUrl: string;
let workDir: string;

beforeAll(async () => {
  app = await startTestApp("postgres", { MAX_CALL_DURATION_SEC: "100", MAX_UPLOADS_PER_MINUTE: "100" });
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-lying-"));
  owner = await registerOwner(app.baseUrl);
  const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
    name: "PBX",
    kind: "push",
  });
  ingestUrl = source.body.ingestUrl;
}, 60_000);
afterAll(async () => {
  await app?.close();
  if (workDir) await fs.rm(workDir, { recursive: true, force: true });
});

interface Balance {
  main: string;
  bonus: string;
}
const balance = async () => (await owner.client.get<Balance>("/api/v1/billing/balance")).body;
const callCount = async () =>
  (await owner.client.get<{ items: unknown[] }>("/api/v1/calls?limit=100")).body.items.length;

interface CallBody {
  status: string;
  durationSec: number;
  cost: { minutes: number; status: string } | null;
  transcript: { segments: { endSec: number }[] } | null;
  error: unknown;
}

describe("billing follows the audio that decodes", () => {
  it("refuses a Matroska file that claims 0.5 s and decodes to 120 s: no call, no money", async () => {
    const before = { balance: await balance(), calls: await callCount() };
    const file = await lyingMatroska(path.join(workDir, "lie.mkv"), 120, 0.5);
    const res = await pushRecording(ingestUrl, file, { externalId: "mkv-lie" }, {}, "call.mkv");
    expect(res.status).toBe(422);
    expect(res.body.error?.code).toBe("MEDIA_DURATION_MISMATCH");
    expect(await callCount()).toBe(before.calls);
    expect(await balance()).toEqual(before.balance);
  });

  it("bills a container that understates its length by less than the tolerance for what decodes", async () => {
    // Claims 59 s (one minute), decodes to 61 s (two): billed two, and nothing past 61 s is processed.
    const file = await lyingMatroska(path.join(workDir, "close.mkv"), 61, 59);
    const res = await pushRecording(ingestUrl, file, { externalId: "mkv-close" }, {}, "call.mkv");
    expect(res.status).toBe(202);
    const call = (await waitForCall(owner.client, String(res.body.callId))) as unknown as CallBody;
    expect(call.status, JSON.stringify(call.error)).toBe("done");
    expect(call.durationSec).toBeCloseTo(61, 0);
    expect(call.cost).toMatchObject({ minutes: 2, status: "charged" });
    for (const s of call.transcript?.segments ?? []) expect(s.endSec).toBeLessThanOrEqual(call.durationSec);
  });

  it("measures a WAV with two data chunks by all that decodes, not by its first chunk's header", async () => {
    // 0.5 s + 150 s: over the 100 s limit, refused at the door (the header fast path saw 0.5 s).
    const tooLong = await pushRecording(ingestUrl, wavWithTwoDataChunks(0.5, 150), {
      externalId: "wav-2x-long",
    });
    expect(tooLong.status).toBe(422);
    expect(tooLong.body.error?.code).toBe("MEDIA_TOO_LONG");
    // 0.5 s + 65 s: billed as the 65 s that decode (two minutes), never as 0.5 s (free).
    const res = await pushRecording(ingestUrl, wavWithTwoDataChunks(0.5, 65), { externalId: "wav-2x" });
    expect(res.status).toBe(202);
    const call = (await waitForCall(owner.client, String(res.body.callId))) as unknown as CallBody;
    expect(call.status, JSON.stringify(call.error)).toBe("done");
    expect(call.durationSec).toBeGreaterThanOrEqual(64.9);
    expect(call.cost).toMatchObject({ minutes: 2, status: "charged" });
  });
});

describe("ffmpeg opens only audio containers", () => {
  it("refuses an HLS playlist and a concat script naming local files, a video and an image: no call, no money", async () => {
    const before = { balance: await balance(), calls: await callCount() };
    // A file on the server's own disk, as an attacker would name it (e.g. another tenant's scratch file).
    const local = await transportStream(path.join(workDir, "someone-elses.ts"), 3);
    const video = await fs.readFile(await videoWithAudio(path.join(workDir, "clip.mp4"), 2));
    const png = Buffer.from(
      "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082",
      "hex",
    );
    const cases: [string, Buffer][] = [
      ["hls", hlsPlaylistOf(local, 3)],
      ["concat", concatScriptOf(local)],
      ["video", video],
      ["image", png],
    ];
    const problems: string[] = [];
    for (const [name, bytes] of cases) {
      const res = await pushRecording(ingestUrl, bytes, { externalId: `not-audio-${name}` }, {}, "call.wav");
      if (res.status !== 422 || res.body.error?.code !== "MEDIA_UNREADABLE")
        problems.push(`${name}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    expect(problems).toEqual([]);
    expect(await callCount()).toBe(before.calls);
    expect(await balance()).toEqual(before.balance);
  });
});
