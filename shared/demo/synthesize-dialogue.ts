/**
 * Speaks a scripted two-party call with flite (speech) and sox (timing, mixing): the demo's sample calls
 * at first start (embedded development only; production refuses TYNDAU_DEMO), and, through
 * scripts/fixtures/synthesize-call.ts, the tests' recordings, which rely on the exact timing of every
 * turn it reports. Operator on the left channel, client on the right.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type ScriptSpeaker = "operator" | "client";

export interface CallTurn {
  speaker: ScriptSpeaker;
  text: string;
  /**
   * Seconds of silence before the next turn starts (default 0.7). Negative values make the next turn
   * start before this one ends (overlap), which is how interruptions are scripted; turns of the same
   * speaker must not overlap.
   */
  pauseAfterSec?: number;
}

export interface CallScript {
  turns: CallTurn[];
  /** Seconds of silence on both channels before the first turn (default 0.5). */
  leadInSec?: number;
  /** Seconds of silence on both channels after the last turn (default 0.5). */
  tailSec?: number;
  /** flite voice of the operator (left channel), default "kal16". */
  operatorVoice?: string;
  /** flite voice of the client (right channel), default "rms". */
  clientVoice?: string;
}

export interface SynthesizedTurn {
  speaker: ScriptSpeaker;
  text: string;
  /** Seconds from the start of the recording, exact to the sample. */
  startSec: number;
  endSec: number;
}

export interface SynthesizedCall {
  path: string;
  durationSec: number;
  sampleRate: number;
  channels: 1 | 2;
  turns: SynthesizedTurn[];
  operatorTalkSec: number;
  clientTalkSec: number;
}

const DEFAULT_OPERATOR_VOICE = "kal16";
const DEFAULT_CLIENT_VOICE = "rms";
const DEFAULT_PAUSE_SEC = 0.7;
const DEFAULT_LEAD_IN_SEC = 0.5;
const DEFAULT_TAIL_SEC = 0.5;
/**
 * flite pads every utterance with ~0.2 s of near-silence; trimming it (below -45 dBFS, measured in
 * 10 ms windows) makes a turn's file boundaries coincide with audible speech, so the script timing is
 * the truth a silence detector should find.
 */
const TRIM_THRESHOLD = "-45d";
/** Peak level every turn is normalised to (dBFS), so quiet voices (kal16) read as normal speech. */
const TURN_PEAK_DB = -3;
const PCM16 = ["-b", "16", "-e", "signed-integer"];

/**
 * Renders the script into `outPath` (16-bit PCM WAV): both speakers on their own channel, or mixed down
 * to one (as a recorder without channel separation would).
 */
export async function synthesizeDialogue(
  script: CallScript,
  outPath: string,
  options: { sampleRate: number; channels: 1 | 2 },
): Promise<SynthesizedCall> {
  return withTempDir(async (dir) => {
    const plan = await renderTurns(script, dir, options.sampleRate);
    const [left, right] = await Promise.all([
      renderChannel(plan, "operator", dir),
      renderChannel(plan, "client", dir),
    ]);
    if (options.channels === 2) await run("sox", ["-M", left, right, ...PCM16, outPath]);
    // -G guards against clipping where the script overlaps the two speakers.
    else await run("sox", ["-G", "-m", "-v", "1", left, "-v", "1", right, ...PCM16, outPath]);
    return describe(plan, outPath, options.channels);
  });
}

interface PlannedTurn {
  speaker: ScriptSpeaker;
  text: string;
  file: string;
  /** Positions in samples, so the reported seconds are exact. */
  startSample: number;
  lengthSamples: number;
}

interface Plan {
  sampleRate: number;
  totalSamples: number;
  turns: PlannedTurn[];
}

async function renderTurns(script: CallScript, dir: string, sampleRate: number): Promise<Plan> {
  if (script.turns.length === 0) throw new Error("A call script needs at least one turn.");
  if (!Number.isInteger(sampleRate) || sampleRate < 8000) throw new Error(`Bad sample rate: ${sampleRate}`);
  const voices: Record<ScriptSpeaker, string> = {
    operator: script.operatorVoice ?? DEFAULT_OPERATOR_VOICE,
    client: script.clientVoice ?? DEFAULT_CLIENT_VOICE,
  };
  const toSamples = (sec: number) => Math.round(sec * sampleRate);

  // Rendering is independent per turn, so it runs in parallel; placement below is sequential.
  const rendered = await Promise.all(
    script.turns.map(async (turn, i) => {
      if (turn.text.trim() === "") throw new Error(`Turn ${i} has no text.`);
      const raw = join(dir, `turn-${i}-raw.wav`);
      const file = join(dir, `turn-${i}.wav`);
      await run("flite", ["-voice", voices[turn.speaker], "-t", turn.text, "-o", raw]);
      await run("sox", [
        raw,
        "-r",
        String(sampleRate),
        "-c",
        "1",
        ...PCM16,
        file,
        "silence",
        "1",
        "0.01",
        TRIM_THRESHOLD,
        "reverse",
        "silence",
        "1",
        "0.01",
        TRIM_THRESHOLD,
        "reverse",
        "gain",
        "-n",
        String(TURN_PEAK_DB),
        "rate",
        String(sampleRate),
      ]);
      const lengthSamples = await sampleCount(file);
      if (lengthSamples === 0) throw new Error(`flite produced no audible speech for turn ${i}.`);
      return { file, lengthSamples };
    }),
  );

  const turns: PlannedTurn[] = [];
  let cursor = toSamples(script.leadInSec ?? DEFAULT_LEAD_IN_SEC);
  let end = cursor;
  const lastEndBySpeaker: Record<ScriptSpeaker, number> = { operator: 0, client: 0 };
  for (const [i, turn] of script.turns.entries()) {
    const { file, lengthSamples } = rendered[i]!;
    const startSample = Math.max(0, cursor);
    if (startSample < lastEndBySpeaker[turn.speaker]) {
      throw new Error(`Turn ${i} overlaps the previous turn of the same speaker.`);
    }
    turns.push({ speaker: turn.speaker, text: turn.text, file, startSample, lengthSamples });
    const turnEnd = startSample + lengthSamples;
    lastEndBySpeaker[turn.speaker] = turnEnd;
    end = Math.max(end, turnEnd);
    cursor = turnEnd + toSamples(turn.pauseAfterSec ?? DEFAULT_PAUSE_SEC);
  }

  return { sampleRate, totalSamples: end + toSamples(script.tailSec ?? DEFAULT_TAIL_SEC), turns };
}

/** One mono track of exactly plan.totalSamples: the speaker's turns in place, digital silence elsewhere. */
async function renderChannel(plan: Plan, speaker: ScriptSpeaker, dir: string): Promise<string> {
  const out = join(dir, `${speaker}.wav`);
  const own = plan.turns.filter((t) => t.speaker === speaker);
  if (own.length === 0) {
    // Input options before -n set the null input's rate, so trim counts samples at plan.sampleRate.
    await run("sox", [
      "-r",
      String(plan.sampleRate),
      "-c",
      "1",
      "-n",
      ...PCM16,
      out,
      "trim",
      "0s",
      `${plan.totalSamples}s`,
    ]);
    return out;
  }
  const pieces: string[] = [];
  let cursor = 0;
  for (const [i, turn] of own.entries()) {
    const piece = join(dir, `${speaker}-piece-${i}.wav`);
    const turnEnd = turn.startSample + turn.lengthSamples;
    const after = i === own.length - 1 ? plan.totalSamples - turnEnd : 0;
    await run("sox", [turn.file, piece, "pad", `${turn.startSample - cursor}s`, `${after}s`]);
    pieces.push(piece);
    cursor = turnEnd;
  }
  if (pieces.length === 1) return pieces[0]!;
  await run("sox", [...pieces, out]);
  return out;
}

async function describe(plan: Plan, path: string, channels: 1 | 2): Promise<SynthesizedCall> {
  const sec = (samples: number) => samples / plan.sampleRate;
  const turns = plan.turns.map((t) => ({
    speaker: t.speaker,
    text: t.text,
    startSec: sec(t.startSample),
    endSec: sec(t.startSample + t.lengthSamples),
  }));
  const talk = (speaker: ScriptSpeaker) =>
    sec(plan.turns.filter((t) => t.speaker === speaker).reduce((sum, t) => sum + t.lengthSamples, 0));
  const written = await sampleCount(path);
  if (written !== plan.totalSamples) {
    throw new Error(`sox wrote ${written} samples, expected ${plan.totalSamples}.`);
  }
  return {
    path,
    durationSec: sec(plan.totalSamples),
    sampleRate: plan.sampleRate,
    channels,
    turns,
    operatorTalkSec: talk("operator"),
    clientTalkSec: talk("client"),
  };
}

async function sampleCount(file: string): Promise<number> {
  const { stdout } = await run("soxi", ["-s", file]);
  const n = Number.parseInt(stdout.trim(), 10);
  if (!Number.isFinite(n)) throw new Error(`soxi could not read ${file}: ${stdout}`);
  return n;
}

async function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "tyndau-synth-"));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", (err) =>
      reject(new Error(`${command} could not start: ${err.message}`, { cause: err })),
    );
    child.on("close", (code) => {
      if (code === 0) resolvePromise({ stdout, stderr });
      else reject(new Error(`${command} exited with ${code}: ${stderr.trim().slice(-500)}`));
    });
  });
}
