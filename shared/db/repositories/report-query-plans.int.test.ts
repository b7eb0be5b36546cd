import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/harness/test-database.ts";
import type { Db } from "../client.ts";
import * as schema from "../schema/index.ts";
import { findCalls, hasCallsInStatus } from "./calls.repository.ts";
import { findCallsReport, findDailyTrends, findOperatorKpis } from "./reports.repository.ts";

/**
 * The indexes that keep the calls list and the reports fast on a million calls (docs/BENCHMARKS.md)
 * must stay in use: each repository query is run for real while the same SQL is EXPLAINed, with
 * sequential scans priced out so that only an index that fits the query can win.
 */
describe("report query plans", () => {
  let t: TestDatabase;
  let client: pg.Client;
  let db: Db;
  let accountId: string;
  const plans: string[] = [];

  beforeAll(async () => {
    t = await createTestDatabase();
    const setup = t.database;
    const [account] = (
      await setup.executeSql("insert into accounts (company, currency) values ('Plans', 'KZT') returning id")
    ).rows as { id: string }[];
    accountId = account!.id;
    await setup.executeSql(
      "insert into accounts (company, currency) select 'Other ' || g, 'KZT' from generate_series(1, 5) g",
    );
    await setup.executeSql(
      `insert into calls (account_id, status, created_at, started_at, operator_external_id, operator_name, duration_sec, direction)
       select a.id, (array['done','failed','processing','received','awaiting_funds'])[1 + g % 5],
              now() - (g || ' minutes')::interval,
              case when g % 4 = 0 then null else now() - (g || ' minutes')::interval - interval '1 minute' end,
              'op-' || g % 7, 'Operator ' || g % 7, 60, case when g % 2 = 0 then 'inbound' else 'outbound' end
         from accounts a cross join generate_series(1, case when a.id = $1::uuid then 6000 else 200 end) g`,
      [accountId],
    );
    await setup.executeSql("analyze");

    client = new pg.Client({ connectionString: t.url });
    await client.connect();
    await client.query("set enable_seqscan = off");
    // Every select the repositories send is explained first (same text, same parameters), then run.
    const run = client.query.bind(client) as (...args: unknown[]) => Promise<pg.QueryResult>;
    (client as unknown as { query: unknown }).query = async (...args: unknown[]) => {
      const config = args[0] as string | { text: string; values?: unknown[] };
      const text = typeof config === "string" ? config : config.text;
      // drizzle passes the parameters as the second argument, beside a config object without them.
      const values =
        (typeof config === "string" ? undefined : config.values) ?? (args[1] as unknown[] | undefined);
      if (/^\s*(select|with)\b/i.test(text)) {
        const explained = await run(`explain ${text}`, values);
        plans.push(explained.rows.map((r: Record<string, string>) => r["QUERY PLAN"]).join("\n"));
      }
      return run(...args);
    };
    db = drizzle(client, { schema }) as unknown as Db;
  });
  afterAll(async () => {
    await client?.end();
    await t?.drop();
  });

  const planOf = async (query: () => Promise<unknown>): Promise<string> => {
    plans.length = 0;
    await query();
    expect(plans).toHaveLength(1);
    if (process.env.SHOW_PLANS) console.log(plans[0]);
    return plans[0]!;
  };
  const page = { limit: 51 };
  const cursor = {
    createdAt: new Date(Date.now() - 100 * 60_000),
    id: "ffffffff-ffff-4fff-bfff-ffffffffffff",
  };

  it("the calls list reads calls_account_created_idx in order, without sorting", async () => {
    // (An operator filter is left to the planner: a rare operator is best found by bitmap and sorted.)
    for (const filter of [page, { ...page, cursor }, { ...page, from: new Date(Date.now() - 3_600_000) }]) {
      const plan = await planOf(() => findCalls(db, accountId, filter));
      expect(plan).toContain("calls_account_created_idx");
      expect(plan).not.toMatch(/\bSort\b/);
    }
    const report = await planOf(() => findCallsReport(db, accountId, { ...page, direction: "inbound" }));
    expect(report).toContain("calls_account_created_idx");
    expect(report).not.toMatch(/\bSort\b/);
  });

  it("the list filtered by status reads calls_account_status_created_idx in order", async () => {
    for (const filter of [
      { ...page, status: "failed" as const },
      { ...page, status: "done" as const, cursor },
    ]) {
      const plan = await planOf(() => findCalls(db, accountId, filter));
      expect(plan).toContain("calls_account_status_created_idx");
      expect(plan).not.toMatch(/\bSort\b/);
    }
    expect(await planOf(() => hasCallsInStatus(db, accountId, "awaiting_funds"))).toContain(
      "calls_account_status_created_idx",
    );
  });

  it("per-operator KPIs and daily trends select the period through calls_account_call_time_idx", async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 2 * 3_600_000);
    const kpis = await planOf(() => findOperatorKpis(db, accountId, { from, to }));
    expect(kpis).toContain("calls_account_call_time_idx");
    const day = to.toISOString().slice(0, 10);
    const trends = await planOf(() =>
      findDailyTrends(db, accountId, { from, to, firstDay: day, lastDay: day }),
    );
    expect(trends).toContain("calls_account_call_time_idx");
  });
});
