// Ledger throughput on PostgreSQL: reservation + settlement per call (two transactions, as the pipeline
// runs them), across many accounts and on one hot account; then the invariant check. Before them, the
// baseline: pgbench running one charge step (guarded balance UPDATE + two entry rows) on scratch tables,
// across as many rows as accounts and on one row; it prints each scenario's ratio to its baseline.
//   npm run bench:ledger -- [--database-url postgres://…] [--accounts 1000] [--workers 32] [--seconds 10]
//                           [--pgbench /usr/bin/pgbench]
// It creates (and drops, also on Ctrl-C) its own database next to the one named.
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import pg from "pg";
import { grantWelcomeBonus } from "../../shared/billing/balance.ts";
import { createLedgerCallBilling } from "../../shared/billing/call-charges.ts";
import { creditTopUp } from "../../shared/billing/top-up.ts";
import { migrateDatabase, openPostgres, queryRows } from "../../shared/db/client.ts";
import type { AccountRow } from "../../shared/db/repositories/accounts.repository.ts";
import { lockCall } from "../../shared/db/repositories/calls.repository.ts";
import { findLedgerViolations } from "../../shared/db/repositories/ledger.repository.ts";
import { Money } from "../../shared/money/money.ts";
import { loadAverage, machine, markdownTable, quantile, runBench, yesNo } from "./bench-run.ts";
import {
  createPgbenchTables,
  dropPgbenchTables,
  findPgbench,
  PGBENCH_INSTALL_HINT,
  type PgbenchResult,
  runPgbench,
} from "./pgbench-baseline.ts";

// A charge is, today, the pipeline's two transactions per call: reserve, then settle (run() below does
// exactly that), while the pgbench script is one transaction per step. The across-accounts ratio compares
// transactions, so it is charges/s × this ÷ pgbench tps. Change it here, and only here, when a charge
// becomes a different number of transactions (#17 part 3: one round trip per money step).
const TRANSACTIONS_PER_CHARGE = 2;
// Issue #17's goals, each against the baseline measured in the same run.
const GOAL_ACROSS_RATIO = 0.5; // (charges/s × TRANSACTIONS_PER_CHARGE) ÷ pgbench tps over the accounts
const GOAL_HOT_RATIO = 0.3; // hot-account charges/s ÷ pgbench tps on one row

const { values } = parseArgs({
  options: {
    "database-url": { type: "string", default: "postgres://postgres@127.0.0.1:5432/postgres" },
    accounts: { type: "string", default: "1000" },
    workers: { type: "string", default: "32" },
    seconds: { type: "string", default: "10" },
    // Experiment only: how much of the time is waiting for WAL flushes at commit (never for real money).
    "async-commit": { type: "boolean", default: false },
    pgbench: { type: "string", default: "/usr/bin/pgbench" },
  },
});
const accountsCount = Number(values.accounts);
const workers = Number(values.workers);
const seconds = Number(values.seconds);
const adminUrl = values["database-url"]!;

interface Scenario {
  charges: number;
  perSec: number;
  p50: number;
  p99: number;
}

runBench(async (teardown) => {
  console.log(`load average at start: ${loadAverage()}`);
  const name = `tyndau_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  teardown.add("admin connection", () => admin.end());
  await admin.query(`CREATE DATABASE ${name}`);
  teardown.add(`drop database ${name}`, () => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pgOptions = values["async-commit"] ? "-c synchronous_commit=off" : undefined;
  console.log(
    `machine: ${machine()}; PostgreSQL ${(await admin.query("show server_version")).rows[0].server_version}`,
  );
  console.log(`setup: ${accountsCount} accounts, ${workers} concurrent workers, ${seconds} s per scenario`);

  // Baselines first, on scratch tables in the bench's database, before its own pool holds connections.
  const pgbench = await findPgbench([values.pgbench!, "pgbench"]);
  let across: PgbenchResult | undefined;
  let hot: PgbenchResult | undefined;
  if (!pgbench) {
    console.log(`pgbench: not found (${values.pgbench}); no baseline, no ratios. ${PGBENCH_INSTALL_HINT}`);
  } else {
    const scratch = new pg.Client({ connectionString: url.toString() });
    await scratch.connect();
    const mark = teardown.mark();
    teardown.add("pgbench tables", () => scratch.end());
    const baseline = async (rows: number, label: string) => {
      await dropPgbenchTables(scratch);
      await createPgbenchTables(scratch, rows);
      const result = await runPgbench(teardown, {
        pgbench,
        databaseUrl: url.toString(),
        rows,
        clients: workers,
        seconds,
        pgOptions,
      });
      console.log(
        `pgbench ${label}: ${result.tps.toFixed(0)} tx/s, latency average ${result.latencyAvgMs.toFixed(1)} ms, ${result.transactions} tx, ${result.failed} failed  (${result.command})`,
      );
      return result;
    };
    across = await baseline(accountsCount, `charge step over ${accountsCount} rows`);
    hot = await baseline(1, "charge step on one row");
    await dropPgbenchTables(scratch);
    await teardown.unwind(mark);
  }

  if (pgOptions) url.searchParams.set("options", pgOptions);
  const database = openPostgres(url.toString(), workers + 4);
  teardown.add("database pool", () => database.close());
  const db = database.db;
  await migrateDatabase(database);
  const billing = createLedgerCallBilling();
  const noQueue = { send: async () => null };

  const accounts: AccountRow[] = [];
  for (let i = 0; i < accountsCount; i++) {
    const [row] = await queryRows<{ id: string }>(
      db,
      sql`insert into accounts (company, currency) values (${`Bench ${i}`}, 'KZT') returning id`,
    );
    const account = { id: row!.id, currency: "KZT", createdAt: new Date() } as AccountRow;
    await grantWelcomeBonus(db, account, new Date());
    await db.transaction((tx) =>
      creditTopUp(tx, noQueue, {
        accountId: account.id,
        amount: Money.of("100000000", "KZT"),
        channel: "card",
        idempotencyKey: `bench:${account.id}`,
        occurredAt: new Date(),
      }),
    );
    accounts.push(account);
  }

  async function run(
    label: string,
    pickAccount: (worker: number, n: number) => AccountRow,
  ): Promise<Scenario> {
    const latencies: number[] = [];
    const start = performance.now();
    const deadline = start + seconds * 1000;
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        for (let n = 0; performance.now() < deadline && !teardown.interrupted; n++) {
          const account = pickAccount(w, n);
          const [call] = await queryRows<{ id: string }>(
            db,
            sql`insert into calls (account_id, status, duration_sec) values (${account.id}, 'processing', 95) returning id`,
          );
          const t0 = performance.now();
          // The TRANSACTIONS_PER_CHARGE transactions of one charge.
          await db.transaction(async (tx) => {
            const row = await lockCall(tx, account.id, call!.id);
            const { outcome } = await billing.reserve(tx, row!, new Date());
            if (outcome !== "reserved") throw new Error(`unexpected ${outcome}`);
          });
          await db.transaction(async (tx) =>
            billing.settle(tx, (await lockCall(tx, account.id, call!.id))!, new Date()),
          );
          latencies.push(performance.now() - t0);
        }
      }),
    );
    if (teardown.interrupted) throw new Error("interrupted");
    // Wall time, not the nominal duration: the last charges finish after the deadline.
    const wall = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    const result = {
      charges: latencies.length,
      perSec: latencies.length / wall,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
    };
    console.log(
      `${label}: ${result.charges} charges in ${wall.toFixed(1)} s = ${result.perSec.toFixed(0)} charges/s; reserve+settle latency p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`,
    );
    return result;
  }

  const spread = await run(
    `across ${accountsCount} accounts`,
    (w, n) => accounts[(w * 7919 + n * 104729) % accounts.length]!,
  );
  const oneAccount = await run("one hot account", () => accounts[0]!);
  const violations = await findLedgerViolations(db);
  console.log(`invariant check: ${violations.length} violations`);

  const acrossRatio = across ? (spread.perSec * TRANSACTIONS_PER_CHARGE) / across.tps : Number.NaN;
  const hotRatio = hot ? oneAccount.perSec / hot.tps : Number.NaN;
  const tps = (r: PgbenchResult | undefined, what: string) =>
    r ? `pgbench ${what}: ${r.tps.toFixed(0)} tx/s` : "pgbench missing";
  const ratio = (x: number) => (Number.isNaN(x) ? "n/a" : x.toFixed(3));
  console.log(`\nRatios to the baseline of this run (issue #17 goals), ${workers} clients/workers each:`);
  console.log(
    markdownTable(
      ["what", "now", "baseline, same run", "ratio", "goal", "met"],
      [
        [
          `reserve+settle, ${accountsCount} accounts`,
          `${spread.perSec.toFixed(0)} charges/s, p99 ${spread.p99.toFixed(0)} ms`,
          tps(across, `${accountsCount} rows`),
          `${ratio(acrossRatio)} (${TRANSACTIONS_PER_CHARGE} tx per charge)`,
          `≥ ${GOAL_ACROSS_RATIO}`,
          yesNo(acrossRatio >= GOAL_ACROSS_RATIO),
        ],
        [
          "reserve+settle, one hot account",
          `${oneAccount.perSec.toFixed(0)} charges/s, p99 ${oneAccount.p99.toFixed(0)} ms`,
          tps(hot, "one row"),
          `${ratio(hotRatio)} (charges/s ÷ tx/s)`,
          `≥ ${GOAL_HOT_RATIO}`,
          yesNo(hotRatio >= GOAL_HOT_RATIO),
        ],
        ["invariant check", `${violations.length} violations`, "", "", "0", yesNo(violations.length === 0)],
      ],
    ),
  );
  console.log(`load average at end: ${loadAverage()}`);
  return violations.length === 0 ? 0 : 1;
});
