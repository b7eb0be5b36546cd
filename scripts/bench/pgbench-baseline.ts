// The ledger bench's baseline: what this PostgreSQL does with the smallest transaction that could be a
// charge step — one guarded balance UPDATE and two entry rows — measured by pgbench on scratch tables.
import { execFile, spawn } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type pg from "pg";
import type { Teardown } from "./bench-run.ts";

const ACCOUNTS_TABLE = "pgbench_charge_accounts";
const ENTRIES_TABLE = "pgbench_charge_entries";

// One charge step: the balance moves only if it covers the amount (the ledger's no-overdraft rule), and
// the movement is written as two entries (double entry), each pointing at an account row.
// `:rows` is set with -D: 1,000 rows for the spread case, 1 for the hot row (random(1, 1) is always 1).
export const CHARGE_STEP_SCRIPT = `\\set aid random(1, :rows)
BEGIN;
UPDATE ${ACCOUNTS_TABLE} SET balance = balance - 12.345678 WHERE id = :aid AND balance >= 12.345678;
INSERT INTO ${ENTRIES_TABLE} (account_id, amount) VALUES (:aid, -12.345678);
INSERT INTO ${ENTRIES_TABLE} (account_id, amount) VALUES (:aid, 12.345678);
END;
`;

export const PGBENCH_INSTALL_HINT =
  "pgbench ships with Debian's PostgreSQL server package: `sudo apt-get install postgresql` " +
  "(the binary is in postgresql-<version>; /usr/bin/pgbench alone is only the pg_wrapper of postgresql-client-common)";

/** The pgbench that runs (`--version` answers), or undefined. */
export async function findPgbench(candidates: string[]): Promise<string | undefined> {
  for (const bin of candidates) {
    try {
      await promisify(execFile)(bin, ["--version"]);
      return bin;
    } catch {}
  }
  return undefined;
}

/** Creates the scratch tables with `rows` accounts whose balance never runs out during a bench. */
export async function createPgbenchTables(client: pg.Client, rows: number): Promise<void> {
  await client.query(`CREATE TABLE ${ACCOUNTS_TABLE} (id int PRIMARY KEY, balance numeric(20,6) NOT NULL)`);
  await client.query(`CREATE TABLE ${ENTRIES_TABLE} (
    id bigserial PRIMARY KEY,
    account_id int NOT NULL REFERENCES ${ACCOUNTS_TABLE} (id),
    amount numeric(20,6) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())`);
  await client.query(`INSERT INTO ${ACCOUNTS_TABLE} SELECT g, 1e12 FROM generate_series(1, $1::int) g`, [
    rows,
  ]);
  await client.query(`VACUUM ANALYZE ${ACCOUNTS_TABLE}`);
}

export async function dropPgbenchTables(client: pg.Client): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${ENTRIES_TABLE}, ${ACCOUNTS_TABLE}`);
}

export interface PgbenchResult {
  tps: number;
  latencyAvgMs: number;
  transactions: number;
  failed: number;
  command: string;
}

/** Parses pgbench's summary; tps is the figure without the initial connection time. */
export function parsePgbench(output: string): Omit<PgbenchResult, "command"> {
  const num = (re: RegExp) => {
    const m = re.exec(output);
    return m ? Number(m[1]) : Number.NaN;
  };
  const tps = num(/^tps = ([\d.]+) \((?:without|excluding) initial connection/m);
  return {
    tps: Number.isNaN(tps) ? num(/^tps = ([\d.]+)/m) : tps,
    latencyAvgMs: num(/^latency average = ([\d.]+) ms/m),
    transactions: num(/^number of transactions actually processed: (\d+)/m),
    failed: num(/^number of failed transactions: (\d+)/m) || 0,
  };
}

/**
 * Runs CHARGE_STEP_SCRIPT with pgbench against `databaseUrl` (a libpq URI, as node-postgres takes).
 * `pgOptions` goes into the URI's `options` parameter, percent-encoded (libpq decodes %20, not `+`).
 */
export async function runPgbench(
  teardown: Teardown,
  args: {
    pgbench: string;
    databaseUrl: string;
    rows: number;
    clients: number;
    seconds: number;
    pgOptions?: string;
  },
): Promise<PgbenchResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-pgbench-"));
  const mark = teardown.mark();
  teardown.add("pgbench script", () => fs.rm(dir, { recursive: true, force: true }));
  try {
    const script = path.join(dir, "charge-step.sql");
    await fs.writeFile(script, CHARGE_STEP_SCRIPT);
    const url = new URL(args.databaseUrl);
    if (args.pgOptions) url.search = `options=${encodeURIComponent(args.pgOptions)}`;
    const target = url.toString();
    // -n: no vacuum of pgbench's own tables (there are none here; ours were vacuumed when created).
    const argv = [
      "-n",
      "-c",
      String(args.clients),
      "-j",
      String(Math.min(2, args.clients)),
      "-T",
      String(Math.max(1, Math.round(args.seconds))),
      "-D",
      `rows=${args.rows}`,
      "-f",
      script,
      target,
    ];
    const child = spawn(args.pgbench, argv, {
      stdio: ["ignore", "pipe", "pipe"],
    });
    teardown.add("pgbench", () => {
      if (child.exitCode === null) child.kill("SIGINT");
    });
    let output = "";
    child.stdout.on("data", (b: Buffer) => {
      output += b;
    });
    child.stderr.on("data", (b: Buffer) => {
      output += b;
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", resolve);
    });
    const command = `pgbench ${argv.slice(0, -3).join(" ")} -f charge-step.sql`;
    if (code !== 0) throw new Error(`${command} exited ${code}:\n${output}`);
    return { ...parsePgbench(output), command };
  } finally {
    await teardown.unwind(mark);
  }
}
