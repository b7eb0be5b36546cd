import { expect } from "vitest";
import type { Database } from "../../shared/db/client.ts";
import { findLedgerViolations } from "../../shared/db/repositories/ledger.repository.ts";

export interface CallOutcome {
  id: string;
  status: string;
  errorCode: string | null;
  charges: number;
  holds: number;
  releases: number;
}

/** Every call of these accounts with its ledger transactions counted by type. */
export async function callOutcomes(database: Database, accountIds: string[]): Promise<CallOutcome[]> {
  const { rows } = await database.executeSql(
    `select c.id, c.status, c.error_code,
            count(t.id) filter (where t.type = 'charge')::int as charges,
            count(t.id) filter (where t.type = 'hold')::int as holds,
            count(t.id) filter (where t.type = 'release')::int as releases
       from calls c left join ledger_transactions t on t.call_id = c.id
      where c.account_id = any($1::uuid[])
      group by c.id, c.status, c.error_code`,
    [accountIds],
  );
  return rows.map((r) => ({
    id: String(r.id),
    status: String(r.status),
    errorCode: r.error_code === null ? null : String(r.error_code),
    charges: Number(r.charges),
    holds: Number(r.holds),
    releases: Number(r.releases),
  }));
}

/** Job states per pipeline queue, e.g. {"call-probe": {completed: 200}}. */
export async function jobStates(database: Database): Promise<Record<string, Record<string, number>>> {
  const { rows } = await database.executeSql(
    `select name, state, count(*)::int as n from pgboss.job
      where name like 'call-%' or name = 'resume-awaiting-calls' group by name, state`,
  );
  const out: Record<string, Record<string, number>> = {};
  for (const r of rows) {
    const name = String(r.name);
    out[name] ??= {};
    out[name][String(r.state)] = Number(r.n);
  }
  return out;
}

/** Waits until every call of these accounts is done or failed (and there are `expected` of them). */
export async function waitForTerminal(
  database: Database,
  accountIds: string[],
  expected: number,
  timeoutMs: number,
): Promise<CallOutcome[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const calls = await callOutcomes(database, accountIds);
    const pending = calls.filter((c) => c.status !== "done" && c.status !== "failed");
    if (calls.length >= expected && pending.length === 0) return calls;
    if (Date.now() > deadline) {
      const byStatus: Record<string, number> = {};
      for (const c of calls) byStatus[c.status] = (byStatus[c.status] ?? 0) + 1;
      throw new Error(
        `calls not finished in ${timeoutMs} ms: ${calls.length}/${expected} exist, by status ${JSON.stringify(byStatus)}; jobs ${JSON.stringify(await jobStates(database))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The invariants every scale and fault test ends on: each call in one terminal state; a done call charged
 * exactly once (held once, never released); a failed call never charged and its hold (if any) released;
 * no hold left on any account; no customer balance below zero; the ledger_violations view empty; and no
 * pipeline job waiting, running or failed.
 */
export async function assertInvariants(
  database: Database,
  accountIds: string[],
  options: { expectedCalls: number; allowFailed?: boolean },
): Promise<{ done: number; failed: number }> {
  const calls = await callOutcomes(database, accountIds);
  expect(calls).toHaveLength(options.expectedCalls);
  const done = calls.filter((c) => c.status === "done");
  const failed = calls.filter((c) => c.status === "failed");
  expect(done.length + failed.length, "every call in a terminal state").toBe(calls.length);
  if (!options.allowFailed) expect(failed, "no call failed").toEqual([]);
  for (const c of done) expect(c).toEqual({ ...c, holds: 1, charges: 1, releases: 0 });
  for (const c of failed) {
    expect(c.charges, `failed call ${c.id} charged`).toBe(0);
    expect(c.releases, `failed call ${c.id}: hold not released`).toBe(c.holds);
  }
  const { rows: holds } = await database.executeSql(
    `select coalesce(sum(balance), 0)::text as held from ledger_accounts
      where account_id = any($1::uuid[]) and kind in ('hold_main', 'hold_bonus')`,
    [accountIds],
  );
  expect(holds[0]?.held, "money still held").toMatch(/^0(\.0+)?$/);
  const { rows: negative } = await database.executeSql(
    "select count(*)::int as n from ledger_accounts where account_id is not null and balance < 0",
  );
  expect(negative[0]?.n).toBe(0);
  expect(await findLedgerViolations(database.db)).toEqual([]);
  // The pipeline jobs of these calls: none waiting or running. A job is `failed` only when its retries ran
  // out, which is explained only when its call still ended (a step that outran its expiry under load
  // finished its work after pg-boss had given it up): such a job must not belong to a call left behind.
  const { rows: jobs } = await database.executeSql(
    `select j.state, c.status, count(*)::int as n from pgboss.job j
       join calls c on c.id = (j.data->>'callId')::uuid
      where j.name like 'call-%' and c.account_id = any($1::uuid[])
      group by j.state, c.status`,
    [accountIds],
  );
  for (const j of jobs) {
    expect(["created", "retry", "active"], `jobs left ${j.state}`).not.toContain(j.state);
    if (j.state === "failed") expect(["done", "failed"], "a failed job's call").toContain(j.status);
  }
  return { done: done.length, failed: failed.length };
}
