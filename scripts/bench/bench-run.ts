// What every ratio bench shares: a teardown that also runs on Ctrl-C (so no scratch database, server or
// child process outlives the bench), the load average beside the figures, and a Markdown table printer.
import os from "node:os";

export interface Teardown {
  /**
   * Registers a step; steps run last-registered first. After a signal the step runs at once and `add`
   * throws, so a resource the main flow was still creating is released and the flow stops there.
   */
  add(label: string, step: () => unknown): void;
  /** A position in the stack, for `unwind`. */
  mark(): number;
  /** Runs (and forgets) the steps registered since `mark`, last first. */
  unwind(mark: number): Promise<void>;
  /** True once SIGINT/SIGTERM arrived: load loops stop sending work. */
  readonly interrupted: boolean;
}

// A close that hangs (a server waiting on a stuck socket) must not keep the scratch database alive.
const STEP_TIMEOUT_MS = 15_000;
// After a signal, the longest the main flow may take to notice before the process exits anyway.
const INTERRUPT_GRACE_MS = 60_000;

async function runStep(label: string, step: () => unknown): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(step),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    console.error(`teardown: ${label}: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a bench's `main` (which resolves to the exit code) with a teardown stack that runs on normal end,
 * on error, and on the first SIGINT/SIGTERM (then the exit code is 130); a second signal exits at once.
 */
export function runBench(main: (teardown: Teardown) => Promise<number>): void {
  const steps: { label: string; step: () => unknown }[] = [];
  let interrupted = false;
  let stopping = Promise.resolve();
  const unwind = async (mark: number) => {
    while (steps.length > mark) {
      const { label, step } = steps.pop()!;
      await runStep(label, step);
    }
  };
  const teardown: Teardown = {
    add: (label, step) => {
      if (interrupted) {
        stopping = stopping.then(() => runStep(label, step));
        throw new Error(`interrupted (released ${label})`);
      }
      steps.push({ label, step });
    },
    mark: () => steps.length,
    unwind,
    get interrupted() {
      return interrupted;
    },
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${signal}: cleaning up (${steps.map((s) => s.label).join(", ") || "nothing"})…`);
    // Closing servers and pools under the running load makes clients fail in ways nobody listens for.
    const report = (error: unknown) =>
      console.error(`after ${signal}: ${(error as Error)?.message ?? error}`);
    process.on("uncaughtException", report);
    process.on("unhandledRejection", report);
    setTimeout(() => process.exit(130), INTERRUPT_GRACE_MS);
    stopping = unwind(0);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  main(teardown)
    .catch((error) => {
      // After a signal the main flow fails on closed pools and servers: expected, not worth a trace.
      if (!interrupted) console.error(error);
      return 1;
    })
    .then(async (code) => {
      await stopping;
      await unwind(0);
      process.exit(interrupted ? 130 : code);
    });
}

/** `os.loadavg()` with the core count, so a reader can tell a busy machine's figures from an idle one's. */
export function loadAverage(): string {
  const [one, five, fifteen] = os.loadavg().map((x) => x.toFixed(2));
  return `${one} / ${five} / ${fifteen} (1 / 5 / 15 min) on ${os.cpus().length} CPUs`;
}

export function machine(): string {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
}

export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Value at quantile `p` of ascending `sorted`; NaN when empty. */
export function quantile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

export const yesNo = (met: boolean) => (met ? "**yes**" : "no");
