import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const repoRoot = path.resolve(import.meta.dirname, "../..");

/** Whatever a test started is killed even when vitest exits abruptly (a timeout, Ctrl-C). */
const atExit = new Set<() => void>();
process.once("exit", () => {
  for (const fn of atExit) {
    try {
      fn();
    } catch {}
  }
});

/**
 * All of Tyndau as `./scripts/start` runs it (`node --import tsx services/all-in-one.main.ts`), as the
 * leader of its own process group, as a terminal would start it: a signal sent to the group (Ctrl-C)
 * reaches its PocketSphinx and ffmpeg children too.
 */
export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves with the API's base URL once the server says it is running. */
  ready: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends a signal to the whole process group. */
  signalGroup(signal: NodeJS.Signals): void;
  /** PIDs of live processes in its group other than the server itself (its children). */
  groupChildren(): number[];
  /** Names of its direct children (e.g. "pocketsphinx_co", "ffmpeg"). */
  childNames(): string[];
}

export function startAllInOne(env: Record<string, string>, logFile: string): ServerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "services/all-in-one.main.ts"], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const pid = child.pid!;
  const log = fs.createWriteStream(logFile, { flags: "a" });
  let text = "";
  let resolveReady!: (url: string) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<string>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => {});
  const onData = (chunk: Buffer) => {
    const s = chunk.toString("utf8");
    log.write(s);
    text += s;
    const m = /Tyndau is running at (http:\/\/\S+)/.exec(text);
    if (m) resolveReady(m[1]!.replace("localhost", "127.0.0.1"));
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const killGroup = () => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  };
  atExit.add(killGroup);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      log.end();
      rejectReady(new Error(`server exited (${code ?? signal}) before it was ready:\n${text.slice(-3000)}`));
      resolve({ code, signal });
    });
  });
  return {
    child,
    pid,
    ready,
    exited,
    output: () => text,
    signalGroup(signal) {
      process.kill(-pid, signal);
    },
    groupChildren() {
      return psLines(["-o", "pid=", "-g", String(pid)])
        .map(Number)
        .filter((p) => p !== pid);
    },
    childNames() {
      return psLines(["-o", "comm=", "--ppid", String(pid)]);
    },
  };
}

function psLines(args: string[]): string[] {
  try {
    return execFileSync("ps", args, { encoding: "utf8" })
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
  } catch {
    return []; // ps exits 1 when nothing matches
  }
}

/** Kills the group when a test is done with it (idempotent). */
export async function killAllInOne(p: ServerProcess): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) {
    try {
      process.kill(-p.pid, "SIGKILL");
    } catch {}
    await p.exited;
  }
}
