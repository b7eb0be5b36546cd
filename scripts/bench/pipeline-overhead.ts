// Pipeline CPU per call, provider time excluded: the audio work the probe and transcribe steps do for a
// synthesized 5-minute two-channel call (probe = ffprobe + full decode check; split = one ffmpeg run
// writing both 16 kHz mono channels; measure = silencedetect on each channel + conversation metrics),
// plus the ffmpeg split speed in × realtime. CPU = this process (process.resourceUsage) + every
// ffmpeg/ffprobe child it waited for (/proc/self/stat cutime + cstime).
//   npm run bench:pipeline -- [--minutes 5] [--rounds 3] [--format wav8k|wav16k|mp3]
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { computeConversationMetrics } from "../../shared/analytics/conversation-metrics.ts";
import { createFfmpegAudioTools } from "../../shared/audio/ffmpeg-audio-tools.ts";
import { sampleDialogues, synthesizeCall } from "../fixtures/synthesize-call.ts";

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    format: { type: "string", default: "all" },
  },
});
const minutes = Number(values.minutes);
const rounds = Number(values.rounds);
const formats = values.format === "all" ? ["wav8k", "wav16k", "mp3"] : [String(values.format)];

const CLOCK_TICKS = 100; // USER_HZ on Linux
async function childCpuSec(): Promise<number> {
  const stat = await fs.readFile("/proc/self/stat", "utf8");
  // Fields after the parenthesised command name; cutime and cstime are fields 16 and 17 (1-based).
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[13]) + Number(rest[14])) / CLOCK_TICKS;
}
function selfCpuSec(): number {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) / 1e6;
}
async function measure<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; wallSec: number; selfSec: number; childSec: number }> {
  const c0 = await childCpuSec();
  const s0 = selfCpuSec();
  const t0 = performance.now();
  const value = await fn();
  const wallSec = (performance.now() - t0) / 1000;
  const selfSec = selfCpuSec() - s0;
  const childSec = (await childCpuSec()) - c0;
  return { value, wallSec, selfSec, childSec };
}

const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-bench-pipeline-"));
try {
  // One synthesized dialogue (two voices, one per channel), looped to the requested length.
  const script = sampleDialogues[0]!;
  const seed = path.join(dir, "seed.wav");
  await synthesizeCall(script, seed, { sampleRate: 16_000 });
  const seedSec = Number(
    (await run("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", seed]))
      .stdout,
  );
  const loops = Math.ceil((minutes * 60) / seedSec);
  const inputs: Record<string, string> = {};
  const make = async (name: string, args: string[]) => {
    const out = path.join(dir, name);
    await run("ffmpeg", [
      "-v",
      "error",
      "-stream_loop",
      String(loops - 1),
      "-i",
      seed,
      "-t",
      String(minutes * 60),
      ...args,
      out,
    ]);
    return out;
  };
  if (formats.includes("wav8k"))
    inputs.wav8k = await make("call-8k.wav", ["-ar", "8000", "-c:a", "pcm_s16le"]);
  if (formats.includes("wav16k")) inputs.wav16k = await make("call-16k.wav", ["-c:a", "pcm_s16le"]);
  if (formats.includes("mp3"))
    inputs.mp3 = await make("call.mp3", ["-ar", "8000", "-c:a", "libmp3lame", "-b:a", "32k"]);

  const audio = createFfmpegAudioTools();
  console.log(
    `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model}, ${rounds} rounds per format`,
  );
  console.log(
    "format  | audio s | probe cpu | split cpu | split × realtime (wall) | measure cpu | total cpu/call | node share",
  );
  for (const [name, file] of Object.entries(inputs)) {
    const rows: {
      probe: number;
      split: number;
      splitWall: number;
      measure: number;
      total: number;
      self: number;
      duration: number;
    }[] = [];
    for (let r = 0; r < rounds; r++) {
      const outDir = await fs.mkdtemp(path.join(dir, `${name}-${r}-`));
      const probe = await measure(() => audio.probe(file));
      const split = await measure(() =>
        audio.split(file, probe.value.channels, outDir, probe.value.durationSec),
      );
      if (split.value.kind !== "stereo") throw new Error("expected a two-channel split");
      const { left, right } = split.value;
      const durationSec = probe.value.durationSec;
      const meas = await measure(async () => {
        const [operator, client] = await Promise.all([
          audio.speechIntervals(left, durationSec),
          audio.speechIntervals(right, durationSec),
        ]);
        return computeConversationMetrics({ operator, client, durationSec });
      });
      const cpu = (m: { selfSec: number; childSec: number }) => m.selfSec + m.childSec;
      rows.push({
        probe: cpu(probe),
        split: cpu(split),
        splitWall: split.wallSec,
        measure: cpu(meas),
        total: cpu(probe) + cpu(split) + cpu(meas),
        self: probe.selfSec + split.selfSec + meas.selfSec,
        duration: durationSec,
      });
      await fs.rm(outDir, { recursive: true, force: true });
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const m = (k: keyof (typeof rows)[number]) => median(rows.map((row) => row[k]));
    console.log(
      [
        name.padEnd(7),
        m("duration").toFixed(1),
        `${m("probe").toFixed(3)} s`,
        `${m("split").toFixed(3)} s`,
        `${(m("duration") / m("splitWall")).toFixed(0)}× (${m("splitWall").toFixed(3)} s)`,
        `${m("measure").toFixed(3)} s`,
        `${m("total").toFixed(3)} s`,
        `${m("self").toFixed(3)} s`,
      ].join(" | "),
    );
  }
  console.log(
    "(medians over the rounds; goal: total ≤ 1 CPU-second per 5-minute call, split ≥ 100× realtime)",
  );
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}
