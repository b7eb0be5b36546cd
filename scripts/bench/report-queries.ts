// Report queries over many synthetic calls: the filtered, keyset-paginated calls list exactly as
// GET /api/v1/calls runs it (fetchPage + findCalls) and the 30-day per-operator KPIs of the dashboard and
// GET /api/v1/reports/operators (findOperatorKpis), p50/p95 of each. Creates its own database
// (tyndau_bench_reports_*), fills it with SQL (generate_series), and drops it at the end.
//   npm run bench:reports -- [--calls 1000000] [--accounts 50] [--runs 40]
import { randomBytes } from "node:crypto";
import os from "node:os";
import { parseArgs } from "node:util";
import pg from "pg";
import { fetchPage } from "../../services/api/http/cursor.ts";
import { migrateDatabase, openPostgres } from "../../shared/db/client.ts";
import { type CallFilter, findCalls } from "../../shared/db/repositories/calls.repository.ts";
import { findDailyTrends, findOperatorKpis } from "../../shared/db/repositories/reports.repository.ts";

const { values } = parseArgs({
  options: {
    "database-url": { type: "string", default: "postgres://postgres@127.0.0.1:5432/postgres" },
    calls: { type: "string", default: "1000000" },
    accounts: { type: "string", default: "50" },
    runs: { type: "string", default: "40" },
    keep: { type: "boolean", default: false },
  },
});
const totalCalls = Number(values.calls);
const accountCount = Number(values.accounts);
const runs = Number(values.runs);
const benchQuestions = [
  { key: "greeting", text: "Greeted?", type: "boolean" },
  { key: "politeness", text: "Polite?", type: "score", scale: { min: 1, max: 5 } },
  { key: "outcome", text: "Outcome", type: "choice", options: ["sale", "no sale"] },
];
const OPERATORS = 20;
const DAYS = 365;

const adminUrl = values["database-url"]!;
const name = `tyndau_bench_reports_${randomBytes(4).toString("hex")}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const database = openPostgres(url.toString(), 4);
const db = database.db;
const exec = (text: string, params?: unknown[]) => database.executeSql(text, params);
const secondsSince = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);

try {
  await migrateDatabase(database);
  const pgVersion = (await exec("show server_version")).rows[0]?.server_version;
  console.log(
    `database ${name}; PostgreSQL ${pgVersion}; node ${process.version}; ${os.cpus().length} × ${os.cpus()[0]?.model}`,
  );

  // --- data ---------------------------------------------------------------------------------------
  let t0 = performance.now();
  await exec("set synchronous_commit = off");
  // The rollup triggers would recompute each (account, day, operator) row per bulk statement: off for
  // the load, then the rollup is built in one pass (as the migration's backfill does).
  await exec("alter table calls disable trigger user");
  await exec("alter table call_analyses disable trigger user");
  await exec(
    `insert into accounts (company, currency)
     select 'Bench ' || a, 'KZT' from generate_series(1, $1::int) a`,
    [accountCount],
  );
  await exec(
    `insert into templates (account_id, name, questions)
     select id, 'Quality', $1::jsonb from accounts`,
    [JSON.stringify(benchQuestions)],
  );
  await exec(
    `insert into template_versions (template_id, version, name, provider, questions)
     select id, 1, name, provider, questions from templates`,
  );
  // Account 1 gets 40% of the calls; the rest share 60% evenly. Operators skew too (op-0 busiest).
  await exec(
    `create temp table acc as select row_number() over (order by created_at, id) as n, id from accounts`,
  );
  await exec(
    `insert into calls (account_id, status, started_at, created_at, updated_at, direction,
                        operator_external_id, operator_name, duration_sec, channels, mono, metrics,
                        processed_at, external_id)
     select acc.id, s.status,
            case when g % 10 = 0 then null else s.at - interval '2 minutes' end,
            s.at, s.at, case when g % 3 = 0 then 'outbound' else 'inbound' end,
            'op-' || s.op, 'Operator ' || s.op, s.dur, 2, false,
            case when s.status = 'done' then jsonb_build_object(
              'operatorTalkSec', round((s.dur * 0.45)::numeric, 2), 'clientTalkSec', round((s.dur * 0.4)::numeric, 2),
              'talkRatio', round((0.3 + (g % 50) / 100.0)::numeric, 3), 'silenceSec', round((s.dur * 0.15)::numeric, 2),
              'overlapSec', 1.5, 'interruptions', jsonb_build_object('operator', g % 4, 'client', g % 3),
              'longestMonologueSec', 20, 'switchesPerMinute', 6) end,
            case when s.status in ('done', 'failed') then s.at + interval '3 minutes' end,
            'ext-' || g
       from generate_series(1, $1::bigint) g
       cross join lateral (select (g * 2654435761) % 1000003 % 100 as h) hash
       cross join lateral (
         select case when g % 10 < 4 then 1 else 2 + (g * 48271) % ($2::int - 1) end as acc_n,
                now() - (((g * 7919) % ($3::int * 86400)) || ' seconds')::interval as at,
                least($4::int - 1, floor(power(((g * 104729) % 1000) / 1000.0, 1.6) * $4::int))::int as op,
                30 + (g * 31) % 570 as dur,
                case when h < 90 then 'done' when h < 94 then 'failed' when h < 97 then 'processing'
                     when h < 99 then 'received' else 'awaiting_funds' end as status
       ) s
       join acc on acc.n = s.acc_n`,
    [totalCalls, accountCount, DAYS, OPERATORS],
  );
  console.log(`calls inserted in ${secondsSince(t0)} s`);
  t0 = performance.now();
  await exec(
    `insert into call_analyses (account_id, call_id, template_id, template_version, template_name, provider,
                                status, answers, created_at)
     select c.account_id, c.id, t.id, 1, t.name, 'rules', 'done',
            jsonb_build_array(
              jsonb_build_object('key', 'greeting', 'question', 'Greeted?', 'type', 'boolean',
                                 'value', (c.duration_sec::int % 5 <> 0), 'evidence', '[]'::jsonb),
              jsonb_build_object('key', 'politeness', 'question', 'Polite?', 'type', 'score',
                                 'value', 1 + c.duration_sec::int % 5, 'evidence', '[]'::jsonb),
              jsonb_build_object('key', 'outcome', 'question', 'Outcome', 'type', 'choice',
                                 'value', case when c.duration_sec::int % 3 = 0 then 'sale' else 'no sale' end,
                                 'evidence', '[]'::jsonb)),
            c.processed_at
       from calls c join templates t on t.account_id = c.account_id
      where c.status = 'done'`,
  );
  console.log(`analyses inserted in ${secondsSince(t0)} s`);
  t0 = performance.now();
  await exec("alter table calls enable trigger user");
  await exec("alter table call_analyses enable trigger user");
  await exec("analyze calls, call_analyses"); // without statistics the per-call score look-up picks a bitmap of the whole account
  await exec("select report_rollup_rebuild()");
  console.log(`report rollup built in ${secondsSince(t0)} s`);
  t0 = performance.now();
  await exec("vacuum analyze");
  console.log(`vacuum analyze in ${secondsSince(t0)} s`);
  const sizes = await exec(
    `select pg_size_pretty(pg_database_size(current_database())) as db,
            (select count(*) from calls)::int as calls, (select count(*) from call_analyses)::int as analyses,
            (select count(*) from report_daily_operators)::int as rollup_rows`,
  );
  console.log(JSON.stringify(sizes.rows[0]));

  const accounts = (
    await exec(
      `select a.id, count(c.id)::int as calls from accounts a join calls c on c.account_id = a.id
        group by a.id order by calls desc`,
    )
  ).rows as { id: string; calls: number }[];
  const big = accounts[0]!;
  const small = accounts[accounts.length - 1]!;
  console.log(`biggest account: ${big.calls} calls; smallest: ${small.calls}`);

  // --- measurements -------------------------------------------------------------------------------
  const results: { name: string; p50: number; p95: number; max: number; rows: number }[] = [];
  const time = async (label: string, fn: (i: number) => Promise<number>) => {
    for (let i = 0; i < 3; i++) await fn(i); // warm the cache
    const samples: number[] = [];
    let rows = 0;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      rows = await fn(i);
      samples.push(performance.now() - t);
    }
    samples.sort((a, b) => a - b);
    const q = (p: number) => samples[Math.min(samples.length - 1, Math.ceil(p * samples.length) - 1)]!;
    results.push({ name: label, p50: q(0.5), p95: q(0.95), max: samples[samples.length - 1]!, rows });
    console.log(
      `${label.padEnd(64)} p50 ${q(0.5).toFixed(1)} ms  p95 ${q(0.95).toFixed(1)} ms  (${rows} rows)`,
    );
  };

  /** One page of GET /api/v1/calls: the route's own fetchPage + findCalls, limit 50 (the default). */
  type ListQuery = Omit<CallFilter, "limit" | "cursor">;
  const listPage = async (accountId: string, filter: ListQuery, cursor?: string) =>
    fetchPage(
      { limit: 50, cursor },
      ({ limit, after }) =>
        findCalls(db, accountId, {
          ...filter,
          limit,
          cursor: after ? { createdAt: after.at, id: after.id } : undefined,
        }),
      (call) => ({ at: call.createdAt, id: call.id }),
    );
  const day = 86_400_000;
  const now = Date.now();
  const op = (i: number) => `op-${i % OPERATORS}`;

  for (const [who, acc] of [
    ["biggest", big],
    ["smallest", small],
  ] as const) {
    await time(`list ${who}: first page, no filter`, async () => (await listPage(acc.id, {})).rows.length);
    await time(`list ${who}: pages 2–5 by cursor`, async () => {
      let page = await listPage(acc.id, {});
      for (let p = 0; p < 4 && page.nextCursor; p++) page = await listPage(acc.id, {}, page.nextCursor);
      return page.rows.length;
    });
    await time(
      `list ${who}: status=failed`,
      async () => (await listPage(acc.id, { status: "failed" })).rows.length,
    );
    await time(
      `list ${who}: status=awaiting_funds (1%)`,
      async () => (await listPage(acc.id, { status: "awaiting_funds" })).rows.length,
    );
    await time(
      `list ${who}: operator (each of ${OPERATORS})`,
      async (i) => (await listPage(acc.id, { operator: op(i) })).rows.length,
    );
    await time(`list ${who}: a 7-day window, older each run`, async (i) => {
      const to = new Date(now - (i % 50) * 7 * day);
      return (await listPage(acc.id, { from: new Date(to.getTime() - 7 * day), to })).rows.length;
    });
    await time(
      `list ${who}: operator + status=done + 30 days`,
      async (i) =>
        (await listPage(acc.id, { operator: op(i), status: "done", from: new Date(now - 30 * day) })).rows
          .length,
    );
  }
  const period = (i: number) => {
    const to = new Date(now - (i % 10) * day);
    return { from: new Date(to.getTime() - 30 * day), to };
  };
  for (const [who, acc] of [
    ["biggest", big],
    ["smallest", small],
  ] as const) {
    await time(
      `operator KPIs ${who}: 30 days`,
      async (i) => (await findOperatorKpis(db, acc.id, period(i))).length,
    );
    await time(`daily trends ${who}: 30 days`, async (i) => {
      const p = period(i);
      const iso = (d: Date) => new Date(d.getTime() + 5 * 3_600_000).toISOString().slice(0, 10);
      return (await findDailyTrends(db, acc.id, { ...p, firstDay: iso(p.from), lastDay: iso(p.to) })).length;
    });
  }
  // The rollup's write cost: an update that moves an aggregate recomputes the call's operator-day row.
  const sample = (
    await exec(
      `select id from calls where account_id = $1 and status = 'done' order by created_at desc limit $2`,
      [big.id, runs + 3],
    )
  ).rows as { id: string }[];
  await time("call update + rollup refresh, biggest (duration ± 1 s)", async (i) => {
    const result = await exec(
      "update calls set duration_sec = duration_sec + case when $2::int % 2 = 0 then 1 else -1 end where id = $1",
      [sample[i % sample.length]!.id, i],
    );
    return result.rows.length;
  });
  await time("call update without a reported change, biggest", async (i) => {
    await exec("update calls set updated_at = now() where id = $1", [sample[i % sample.length]!.id]);
    return 0;
  });
  console.log(JSON.stringify({ calls: totalCalls, accounts: accountCount, runs, results }, null, 1));
} finally {
  await database.close();
  if (!values.keep) {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    console.log(`dropped ${name}`);
  }
  await admin.end();
}
