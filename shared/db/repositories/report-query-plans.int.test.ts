import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/harness/test-database.ts";
import type { Db } from "../client.ts";
import * as schema from "../schema/index.ts";
import { listAuditEntries } from "./audit.repository.ts";
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
    await setup.executeSql(
      `insert into audit_log (account_id, actor_role, action, object_type, created_at)
       select $1::uuid, 'owner', 'call.read', 'call', now() - (g || ' seconds')::interval
         from generate_series(1, 3000) g`,
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

  it("the audit log's pages read audit_log_account_created_idx in order, without sorting", async () => {
    for (const after of [undefined, { at: new Date(Date.now() - 600_000), id: cursor.id }]) {
      const plan = await planOf(() => listAuditEntries(db, accountId, {}, { limit: 51, after }));
      expect(plan).toContain("audit_log_account_created_idx");
      expect(plan).not.toMatch(/\bSort\b/);
    }
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

  it("per-operator KPIs and daily trends read whole days from the rollup and the edges through calls_account_call_time_idx", async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 3 * 86_400_000);
    const kpis = await planOf(() => findOperatorKpis(db, accountId, { from, to }));
    expect(kpis).toContain("report_daily_operators_account_day_idx");
    expect(kpis).toContain("calls_account_call_time_idx");
    expect(kpis).not.toContain("Function Scan on report_rollup_compute"); // report_rollup_compute is inlined into the plan
    const iso = (d: Date) => new Date(d.getTime() + 5 * 3_600_000).toISOString().slice(0, 10);
    const trends = await planOf(() =>
      findDailyTrends(db, accountId, { from, to, firstDay: iso(from), lastDay: iso(to) }),
    );
    expect(trends).toContain("report_daily_operators_account_day_idx");
    expect(trends).toContain("calls_account_call_time_idx");
  });

  it("scores count once per answer of the call's own analyses, on each question's scale", async () => {
    const setup = t.database;
    const one = async (text: string, values?: unknown[]) =>
      (await setup.executeSql(text, values)).rows[0] as { id: string };
    const { id: account } = await one(
      "insert into accounts (company, currency) values ('Scores', 'KZT') returning id",
    );
    const questions = [
      { key: "polite", text: "Polite?", type: "score", scale: { min: 1, max: 5 } },
      { key: "depth", text: "Depth", type: "score", scale: { min: 0, max: 10 } },
      { key: "greet", text: "Greeted?", type: "boolean" },
    ];
    const { id: template } = await one(
      "insert into templates (account_id, name, questions) values ($1, 'Q', $2::jsonb) returning id",
      [account, JSON.stringify(questions)],
    );
    await setup.executeSql(
      "insert into template_versions (template_id, version, name, provider, questions) values ($1, 1, 'Q', 'rules', $2::jsonb)",
      [template, JSON.stringify(questions)],
    );
    const call = async (minutesAgo: number) =>
      (
        await one(
          `insert into calls (account_id, status, created_at, operator_external_id, duration_sec)
           values ($1, 'done', now() - ($2 || ' minutes')::interval, 'op-a', 120) returning id`,
          [account, minutesAgo],
        )
      ).id;
    const answer = (key: string, type: string, value: unknown) => ({
      key,
      question: key,
      type,
      value,
      evidence: [],
    });
    const analyse = (callId: string | undefined, status: string, answers: unknown[]) =>
      setup.executeSql(
        `insert into call_analyses (account_id, call_id, template_id, template_version, template_name, provider, status, answers)
         values ($1, $2, $3, 1, 'Q', 'rules', $4, $5::jsonb)`,
        [account, callId, template, status, JSON.stringify(answers)],
      );
    const first = await call(10);
    const second = await call(20);
    await call(30); // never analysed
    await analyse(first, "done", [
      answer("polite", "score", 5),
      answer("depth", "score", 5),
      answer("greet", "boolean", true),
    ]);
    await analyse(second, "done", [answer("polite", "score", 1), answer("depth", "score", null)]);
    // A failed analysis and an answer of another account's call do not count.
    const { id: failedTemplate } = await one(
      "insert into templates (account_id, name, questions) values ($1, 'F', $2::jsonb) returning id",
      [account, JSON.stringify(questions)],
    );
    await setup.executeSql(
      "insert into template_versions (template_id, version, name, provider, questions) values ($1, 1, 'F', 'rules', $2::jsonb)",
      [failedTemplate, JSON.stringify(questions)],
    );
    await setup.executeSql(
      `insert into call_analyses (account_id, call_id, template_id, template_version, template_name, provider, status, answers)
       values ($1, $2, $3, 1, 'F', 'rules', 'failed', $4::jsonb)`,
      [account, second, failedTemplate, JSON.stringify([answer("polite", "score", 5)])],
    );

    const to = new Date(Date.now() + 60_000);
    const from = new Date(to.getTime() - 3_600_000);
    const [kpis] = await findOperatorKpis(db, account, { from, to });
    // (5−1)/4 = 1, 5/10 = 0.5, (1−1)/4 = 0 → mean 0.5 over 3 answers; three calls, two analysed.
    expect(kpis).toMatchObject({ operator: "op-a", calls: 3, doneCalls: 3, scoreAnswers: 3 });
    expect(kpis?.averageScore).toBeCloseTo(0.5, 9);
    const trends = await findDailyTrends(db, account, {
      from: new Date(to.getTime() - 3 * 86_400_000),
      to,
      firstDay: new Date(to.getTime() - 2 * 86_400_000).toISOString().slice(0, 10),
      lastDay: new Date(to.getTime() + 5 * 3_600_000).toISOString().slice(0, 10),
    });
    expect(trends.reduce((n, d) => n + d.calls, 0)).toBe(3);
    const busy = trends.filter((d) => d.calls > 0);
    expect(busy.map((d) => d.averageScore).filter((v) => v !== null)).toSatisfy(
      (scores: number[]) => scores.length >= 1 && scores.length <= 2,
    );
    expect(trends.filter((d) => d.calls === 0).every((d) => d.averageScore === null)).toBe(true);
  });
});
