import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/harness/test-database.ts";
import {
  findDailyTrends,
  findDailyTrendsDirect,
  findOperatorKpis,
  findOperatorKpisDirect,
} from "./reports.repository.ts";

/**
 * The report rollup (report_daily_operators, maintained by triggers) must give exactly what the direct
 * queries over calls give: a randomized account is built, then changed the ways the pipeline,
 * reanalysis and the purges change calls (some steps repeated), and every report is compared for
 * whole-day, partial-day and sub-day periods.
 */
describe("report rollup", () => {
  let t: TestDatabase;
  let accountId: string;
  const DAY = 86_400_000;
  const base = Date.UTC(2026, 10, 1, 19, 0, 0); // 00:00 Astana on 2 Nov
  let seed = 20261204;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const sql = (text: string, values?: unknown[]) => t.database.executeSql(text, values);

  const questions = [
    { key: "polite", text: "Polite?", type: "score", scale: { min: 1, max: 5 } },
    { key: "depth", text: "Depth", type: "score", scale: { min: 0, max: 10 } },
    { key: "greet", text: "Greeted?", type: "boolean" },
  ];
  const operators: [string | null, string | null][] = [
    ["op-1", "Aigerim"],
    ["op-1", "Aigerim B."], // renamed: same external id, another name
    ["op-2", null],
    [null, "Dana"],
    [null, null],
    ["Dana", "Someone"], // an external id equal to another operator's name
  ];
  const statuses = ["done", "done", "done", "failed", "processing", "received", "awaiting_funds"];
  const metrics = () =>
    random() < 0.1
      ? { talkRatio: random() } // partial measurements
      : {
          talkRatio: random(),
          silenceSec: Math.round(random() * 300) / 10,
          interruptions: { operator: Math.floor(random() * 5), client: Math.floor(random() * 4) },
        };
  const answers = () => [
    {
      key: "polite",
      question: "p",
      type: "score",
      value: random() < 0.2 ? null : 1 + Math.floor(random() * 5),
      evidence: [],
    },
    { key: "depth", question: "d", type: "score", value: Math.round(random() * 100) / 10, evidence: [] },
    { key: "greet", question: "g", type: "boolean", value: random() < 0.5, evidence: [] },
  ];
  let templates: string[] = [];

  const analyse = (callId: string, template: string, status = random() < 0.9 ? "done" : "failed") =>
    sql(
      `insert into call_analyses (account_id, call_id, template_id, template_version, template_name, provider, status, answers)
       values ($1, $2, $3, 1, 'Q', 'rules', $4, $5::jsonb)
       on conflict (call_id, template_id, template_version) do update set answers = excluded.answers, status = excluded.status`,
      [accountId, callId, template, status, JSON.stringify(answers())],
    );

  beforeAll(async () => {
    t = await createTestDatabase();
    const accounts = (
      await sql(
        "insert into accounts (company, currency) values ('Rollup', 'KZT'), ('Other', 'KZT') returning id",
      )
    ).rows as { id: string }[];
    accountId = accounts[0]!.id;
    for (const name of ["Q1", "Q2"]) {
      const [row] = (
        await sql(
          "insert into templates (account_id, name, questions) values ($1, $2, $3::jsonb) returning id",
          [accountId, name, JSON.stringify(questions)],
        )
      ).rows as { id: string }[];
      await sql(
        "insert into template_versions (template_id, version, name, provider, questions) values ($1, 1, $2, 'rules', $3::jsonb)",
        [row!.id, name, JSON.stringify(questions)],
      );
      templates.push(row!.id);
    }
    // 240 calls over 10 Astana days (and one each side), one at a time, plus a bulk insert; another account's too.
    const ids: string[] = [];
    for (let i = 0; i < 240; i++) {
      const created = base - DAY + Math.floor(random() * 12 * DAY);
      const [ext, name] = pick(operators);
      const status = pick(statuses);
      const [row] = (
        await sql(
          `insert into calls (account_id, status, created_at, started_at, operator_external_id, operator_name,
                              duration_sec, metrics)
           values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) returning id`,
          [
            accountId,
            status,
            new Date(created + i), // distinct instants: "newest name" has no ties
            random() < 0.2 ? null : new Date(created - Math.floor(random() * 3_600_000)),
            ext,
            name,
            random() < 0.1 ? null : Math.round(random() * 6000) / 10,
            status === "done" && random() < 0.8 ? JSON.stringify(metrics()) : null,
          ],
        )
      ).rows as { id: string }[];
      ids.push(row!.id);
      if (status === "done" && random() < 0.8) await analyse(row!.id, pick(templates));
    }
    await sql(
      `insert into calls (account_id, status, created_at, operator_external_id, duration_sec)
       select a.id, 'done', $1::timestamptz + g * interval '37 minutes', 'op-' || g % 3, g
         from accounts a cross join generate_series(1, 200) g`,
      [new Date(base)],
    );

    // The pipeline finishing calls, and repeating the same step (a retried job).
    for (const id of ids.filter(() => random() < 0.3)) {
      const m = JSON.stringify(metrics());
      for (let n = 0; n < 2; n++) {
        await sql(
          "update calls set status = 'done', metrics = $2::jsonb, duration_sec = 95.5 where id = $1",
          [id, m],
        );
        await analyse(id, templates[0]!, "done");
      }
    }
    // Reanalysis under a second template, and re-running it.
    for (const id of ids.filter(() => random() < 0.2)) {
      await analyse(id, templates[1]!);
      await analyse(id, templates[1]!);
    }
    // Corrections that move a call to another day or operator; updates that change nothing reported.
    for (const id of ids.filter(() => random() < 0.1)) {
      const [ext, name] = pick(operators);
      await sql(
        "update calls set started_at = started_at + interval '1 day', operator_external_id = $2, operator_name = $3 where id = $1",
        [id, ext, name],
      );
    }
    await sql("update calls set step_timings = '{\"x\": 1}'::jsonb where account_id = $1", [accountId]);
    // Retention purge: analyses go, the call stays; deletion purge: calls go (analyses cascade).
    await sql(
      "delete from call_analyses where call_id in (select id from calls where account_id = $1 and duration_sec < 100)",
      [accountId],
    );
    await sql("delete from calls where account_id = $1 and duration_sec > 550", [accountId]);
    // A deleted template leaves its analyses without a template (their scores no longer count).
    await sql("delete from templates where id = $1", [templates[1]]);
    templates = templates.slice(0, 1);
  });
  afterAll(async () => {
    await t?.drop();
  });

  const close = (actual: unknown, expected: unknown, path: string) => {
    if (typeof expected === "number" && typeof actual === "number") {
      expect(Math.abs(actual - expected), `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
        1e-9 * Math.max(1, Math.abs(expected)),
      );
    } else if (expected && typeof expected === "object") {
      expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
      for (const [k, v] of Object.entries(expected))
        close((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
    } else {
      expect(actual, path).toEqual(expected);
    }
  };
  const astanaDay = (ms: number) => new Date(ms + 5 * 3_600_000).toISOString().slice(0, 10);
  const periods = (() => {
    const list: { from: Date; to: Date }[] = [
      { from: new Date(base), to: new Date(base + 10 * DAY) }, // whole days only
      { from: new Date(base - 2 * DAY), to: new Date(base + 14 * DAY) }, // wider than the data
      { from: new Date(base + 3 * 3_600_000), to: new Date(base + 9 * 3_600_000) }, // inside one day
      { from: new Date(base + DAY - 1), to: new Date(base + DAY + 1) }, // around midnight
    ];
    for (let i = 0; i < 8; i++) {
      const from = base - DAY + Math.floor(random() * 6 * DAY);
      list.push({ from: new Date(from), to: new Date(from + Math.floor(random() * 8 * DAY)) });
    }
    return list;
  })();

  it("operator KPIs from the rollup equal the direct query, whole and partial days", async () => {
    for (const period of periods) {
      const direct = await findOperatorKpisDirect(t.database.db, accountId, period);
      const rolled = await findOperatorKpis(t.database.db, accountId, period);
      close(rolled, direct, `${period.from.toISOString()}..${period.to.toISOString()}`);
    }
    const all = await findOperatorKpis(t.database.db, accountId, periods[1]!);
    expect(all.length).toBeGreaterThanOrEqual(5);
    expect(all.some((k) => k.averageScore !== null && k.silenceShare !== null)).toBe(true);
  });

  it("daily trends from the rollup equal the direct query, with and without an operator", async () => {
    for (const period of periods) {
      const days = {
        ...period,
        firstDay: astanaDay(period.from.getTime()),
        lastDay: astanaDay(period.to.getTime()),
      };
      for (const operator of [undefined, "op-1", "Dana", "Aigerim B.", "nobody"]) {
        const direct = await findDailyTrendsDirect(t.database.db, accountId, days, operator);
        const rolled = await findDailyTrends(t.database.db, accountId, days, operator);
        close(rolled, direct, `${period.from.toISOString()} ${operator}`);
      }
    }
  });

  it("the trigger-maintained rollup equals a rebuild from calls", async () => {
    const columns =
      "account_id, day, operator_external_id, operator_name, calls, done_calls, measured_calls, score_count";
    const kept = await sql(`select ${columns} from report_daily_operators order by 1, 2, 3, 4`);
    expect(kept.rows.length).toBeGreaterThan(20);
    await sql("select report_rollup_rebuild()");
    const rebuilt = await sql(`select ${columns} from report_daily_operators order by 1, 2, 3, 4`);
    expect(kept.rows).toEqual(rebuilt.rows);
  });
});
