// Ledger throughput on PostgreSQL: reservation + settlement per call (two transactions, as the pipeline
// runs them), across many accounts and on one hot account; then the invariant check.
//   tsx scripts/bench/ledger.ts [--database-url postgres://…] [--accounts 1000] [--workers 32] [--seconds 10]
// It creates (and drops) its own database next to the one named.
import { randomBytes } from "node:crypto";
import os from "node:os";
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

const { values } = parseArgs({
  options: {
    "database-url": { type: "string", default: "postgres://postgres@127.0.0.1:5432/postgres" },
    accounts: { type: "string", default: "1000" },
    workers: { type: "string", default: "32" },
    seconds: { type: "string", default: "10" },
    // Experiment only: how much of the time is waiting for WAL flushes at commit (never for real money).
    "async-commit": { type: "boolean", default: false },
  },
});
const accountsCount = Number(values.accounts);
const workers = Number(values.workers);
const seconds = Number(values.seconds);
const adminUrl = values["database-url"]!;
const name = `tyndau_bench_${randomBytes(4).toString("hex")}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
if (values["async-commit"]) url.searchParams.set("options", "-c synchronous_commit=off");
const database = openPostgres(url.toString(), workers + 4);
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

async function run(label: string, pickAccount: (worker: number, n: number) => AccountRow) {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const account = pickAccount(w, n);
        const [call] = await queryRows<{ id: string }>(
          db,
          sql`insert into calls (account_id, status, duration_sec) values (${account.id}, 'processing', 95) returning id`,
        );
        const t0 = performance.now();
        await db.transaction(async (tx) => {
          const row = await lockCall(tx, account.id, call!.id);
          const { outcome } = await billing.reserve(tx, row!, new Date());
          if (outcome !== "reserved") throw new Error(`unexpected ${outcome}`);
        });
        await db.transaction(async (tx) =>
          billing.settle(tx, (await lockCall(tx, account.id, call!.id))!, new Date()),
        );
        latencies.push(performance.now() - t0);
        done++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1);
  console.log(
    `${label}: ${done} charges in ${seconds} s = ${(done / seconds).toFixed(0)} charges/s; reserve+settle latency p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`,
  );
}

console.log(
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, node ${process.version}; PostgreSQL ${(await admin.query("show server_version")).rows[0].server_version}`,
);
console.log(`setup: ${accountsCount} accounts, ${workers} concurrent workers, ${seconds} s per scenario`);
await run(`across ${accountsCount} accounts`, (w, n) => accounts[(w * 7919 + n * 104729) % accounts.length]!);
await run("one hot account", () => accounts[0]!);
const violations = await findLedgerViolations(db);
console.log(`invariant check: ${violations.length} violations`);
await database.close();
await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
await admin.end();
process.exit(violations.length === 0 ? 0 : 1);
