import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/harness/test-database.ts";

/**
 * The rollup triggers (report_daily_operators) must never make two transactions deadlock (issue 13.4):
 * a pipeline step, a reanalysis, a block or a purge may each touch several operator-days of one
 * account, in any order. Two (and then many) real connections change different calls of the same
 * operator-days in opposite order, statement by statement; every transaction must commit and the
 * rollup must still equal a rebuild from calls.
 */
describe("report rollup under concurrent writers", () => {
  let t: TestDatabase;
  let accountId: string;
  const clients: pg.Client[] = [];
  const sql = (text: string, values?: unknown[]) => t.database.executeSql(text, values);
  // 10:00 Astana on four consecutive days: each (day, operator) is one rollup row.
  const dayAt = (d: number) => new Date(Date.UTC(2026, 10, 2 + d, 5, 0, 0));

  async function connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: t.url, application_name: "rollup-locks-test" });
    await client.connect();
    clients.push(client);
    return client;
  }

  /** A call of the account on day `d` by operator `op`, received (status changes move the rollup). */
  async function newCall(d: number, op: string): Promise<string> {
    const { rows } = await sql(
      `insert into calls (account_id, status, created_at, operator_external_id, operator_name, duration_sec)
       values ($1, 'processing', $2, $3, $3, 60) returning id`,
      [accountId, dayAt(d), op],
    );
    return String(rows[0]!.id);
  }

  /** Runs `query` on `client`; resolves once it finished or is waiting on a lock (then with the pending promise). */
  async function startStatement(
    client: pg.Client & { processID?: number },
    query: string,
    values: unknown[],
  ) {
    const outcome = client.query(query, values).then(
      () => "done" as const,
      (error: unknown) => error as Error & { code?: string },
    );
    for (let i = 0; i < 200; i++) {
      const settled = await Promise.race([outcome, new Promise((r) => setTimeout(() => r("pending"), 10))]);
      if (settled !== "pending") return outcome;
      const { rows } = await sql("select wait_event_type from pg_stat_activity where pid = $1", [
        client.processID,
      ]);
      if (rows[0]?.wait_event_type === "Lock") return outcome;
    }
    throw new Error(`statement neither finished nor waited on a lock: ${query}`);
  }

  async function assertRollupEqualsRebuild() {
    const columns =
      "account_id, day, operator_external_id, operator_name, calls, done_calls, measured_calls, duration_sum";
    const kept = await sql(`select ${columns} from report_daily_operators order by 1, 2, 3, 4`);
    await sql("select report_rollup_rebuild()");
    const rebuilt = await sql(`select ${columns} from report_daily_operators order by 1, 2, 3, 4`);
    expect(kept.rows).toEqual(rebuilt.rows);
    return kept.rows;
  }

  beforeAll(async () => {
    t = await createTestDatabase();
    const { rows } = await sql(
      "insert into accounts (company, currency) values ('Locks', 'KZT') returning id",
    );
    accountId = String(rows[0]!.id);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await t?.drop();
  });

  it("two transactions touching the same operator-days in opposite order both commit", async () => {
    const [a1, a2, b1, b2] = [
      await newCall(0, "op-x"),
      await newCall(1, "op-x"),
      await newCall(0, "op-x"),
      await newCall(1, "op-x"),
    ];
    const a = await connect();
    const b = await connect();
    const update = "update calls set status = 'done' where id = $1";
    await a.query("begin");
    await b.query("begin");
    // A: day 0 then day 1; B: day 1 then day 0 — each on its own calls, so only the rollup is shared.
    expect(await startStatement(a, update, [a1])).toBe("done");
    expect(await startStatement(b, update, [b2])).toBe("done");
    const aSecond = await startStatement(a, update, [a2]);
    const bSecond = await startStatement(b, update, [b1]);
    // Before the fix B's statement (or A's) failed with 40P01 deadlock_detected here.
    expect(await Promise.all([aSecond, bSecond])).toEqual(["done", "done"]);
    const commits = await Promise.allSettled([a.query("commit"), b.query("commit")]);
    expect(commits.map((c) => c.status)).toEqual(["fulfilled", "fulfilled"]);

    const rows = await assertRollupEqualsRebuild();
    expect(rows.filter((r) => r.operator_external_id === "op-x").map((r) => [r.calls, r.done_calls])).toEqual(
      [
        [2, 2],
        [2, 2],
      ],
    );
  });

  it("many writers changing calls of shared operator-days in random order: none fails, the rollup stays exact", async () => {
    const writers = 6;
    const days = 4;
    const operators = ["op-1", "op-2"];
    // Each writer owns one call per (day, operator): calls are never shared, the rollup rows always are.
    const owned: string[][] = [];
    for (let w = 0; w < writers; w++) {
      const mine: string[] = [];
      for (let d = 0; d < days; d++) for (const op of operators) mine.push(await newCall(d, op));
      owned.push(mine);
    }
    const connections = await Promise.all(Array.from({ length: writers }, () => connect()));
    let seed = 13;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const failures: string[] = [];
    await Promise.all(
      connections.map(async (client, w) => {
        for (let round = 0; round < 8; round++) {
          const order = [...owned[w]!].sort(() => random() - 0.5);
          try {
            await client.query("begin");
            for (const id of order) {
              await client.query(
                "update calls set status = $2, duration_sec = duration_sec + 1 where id = $1",
                [id, random() < 0.5 ? "done" : "failed"],
              );
            }
            await client.query("commit");
          } catch (error) {
            failures.push(`${(error as { code?: string }).code}: ${(error as Error).message}`);
            await client.query("rollback").catch(() => {});
          }
        }
      }),
    );
    expect(failures).toEqual([]);
    await assertRollupEqualsRebuild();
  });
});
