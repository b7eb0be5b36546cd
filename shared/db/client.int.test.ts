import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabaseOf, type TestDatabase } from "../../test/harness/test-database.ts";
import { queryRows } from "./client.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("PostgreSQL pool when the server ends a connection", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createDatabaseOf("postgres");
  });
  afterAll(async () => {
    await t?.drop();
  });

  // A restart or failover ends every session; one checked out for a transaction between two statements has
  // no query to fail, so pg emits 'error' on the client itself — with no listener that crashed the process
  // (seen in the PostgreSQL-restart fault test). The transaction must fail, the process and pool live on.
  it("fails the transaction in progress, not the process, and serves the next query", async () => {
    const db = t.database.db;
    const work = db.transaction(async (tx) => {
      const [own] = await queryRows<{ pid: number }>(tx, sql`select pg_backend_pid() as pid`);
      await queryRows(db, sql`select pg_terminate_backend(${own!.pid})`);
      // The session's end reaches the client while no query of this transaction is running.
      await sleep(300);
      await queryRows(tx, sql`select 1`);
    });
    await expect(work).rejects.toThrow();
    const [row] = await queryRows<{ one: number }>(db, sql`select 1 as one`);
    expect(row?.one).toBe(1);
  });
});
