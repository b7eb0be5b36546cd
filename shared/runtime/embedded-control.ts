import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { safeEqualHex } from "../security/tokens.ts";

/**
 * PGlite is one process's database. While the all-in-one server runs on embedded defaults it owns the
 * data directory (a lock file), and `npm run job` / `npm run cli` reach the same database by asking the
 * running server over a loopback control port with a secret kept in DATA_DIR (mode 0600).
 */
export interface ControlFile {
  pid: number;
  port: number;
  secret: string;
}

export type ControlHandler = (command: string, args: Record<string, unknown>) => Promise<unknown>;

const controlPath = (dataDir: string) => path.join(dataDir, "control.json");
const lockPath = (dataDir: string) => path.join(dataDir, "tyndau.pid");

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the data directory for this process, or throws if a live process holds it. */
export function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = lockPath(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      const release = () => {
        try {
          if (fs.readFileSync(file, "utf8") === String(process.pid)) fs.unlinkSync(file);
          fs.rmSync(controlPath(dataDir), { force: true });
        } catch {}
      };
      process.once("exit", release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number(fs.readFileSync(file, "utf8"));
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
        throw new Error(
          `Tyndau is already running on ${dataDir} (pid ${pid}). Stop it first, or use another DATA_DIR.`,
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`Could not lock ${dataDir}.`);
}

export async function startControlServer(
  dataDir: string,
  handler: ControlHandler,
): Promise<{ close(): Promise<void> }> {
  const secret = randomBytes(32).toString("hex");
  const server = http.createServer(async (req, res) => {
    const given = String(req.headers["x-control-secret"] ?? "");
    if (req.method !== "POST" || !safeEqualHex(given, secret)) {
      res.writeHead(401).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      const { command, args } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        command: string;
        args: Record<string, unknown>;
      };
      const result = await handler(command, args ?? {});
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, result }));
    } catch (error) {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ ok: false, error: error instanceof Error ? error.message : String(error) }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const file: ControlFile = { pid: process.pid, port: (server.address() as AddressInfo).port, secret };
  fs.writeFileSync(controlPath(dataDir), JSON.stringify(file), { mode: 0o600 });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        fs.rmSync(controlPath(dataDir), { force: true });
        server.close(() => resolve());
      }),
  };
}

/** Sends a command to the running server; undefined when none runs on this data directory. */
export async function callRunningServer(
  dataDir: string,
  command: string,
  args: Record<string, unknown>,
): Promise<{ ok: boolean; result?: unknown; error?: string } | undefined> {
  let control: ControlFile;
  try {
    control = JSON.parse(fs.readFileSync(controlPath(dataDir), "utf8")) as ControlFile;
  } catch {
    return undefined;
  }
  if (!isAlive(control.pid)) return undefined;
  const res = await fetch(`http://127.0.0.1:${control.port}/`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-control-secret": control.secret },
    body: JSON.stringify({ command, args }),
  });
  if (!res.ok) throw new Error(`control port answered ${res.status}`);
  return (await res.json()) as { ok: boolean; result?: unknown; error?: string };
}
