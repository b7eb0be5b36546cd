import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { type SQL, sql } from "drizzle-orm";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { migrate as migrateNodePg } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";
import type { DatabaseConfig } from "../config/config.ts";
import * as schema from "./schema/index.ts";

export type Schema = typeof schema;
/** A database or a transaction: every repository function takes one of these (HOUSE-STYLE rule 4). */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface SqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export interface Database extends SqlExecutor {
  readonly kind: "postgres" | "pglite";
  readonly db: Db;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

/** Arbitrary, fixed: every replica that migrates takes this advisory lock first. */
const MIGRATION_LOCK_KEY = 7_310_442_001;

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  if (config.kind === "postgres")
    return openPostgres(config.url, config.poolMax, {
      connectTimeoutMs: config.connectTimeoutMs,
      statementTimeoutMs: config.statementTimeoutMs,
      idleInTransactionTimeoutMs: config.idleInTransactionTimeoutMs,
    });
  fs.mkdirSync(config.dir, { recursive: true });
  return openPglite(new PGlite(config.dir));
}

export interface PostgresTimeouts {
  connectTimeoutMs?: number;
  /** Server-side limit per statement (0 = none): a hung query fails instead of hanging its worker. */
  statementTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
}

export function openPostgres(url: string, poolMax = 10, timeouts: PostgresTimeouts = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolMax,
    application_name: "tyndau",
    connectionTimeoutMillis: timeouts.connectTimeoutMs ?? 10_000,
    statement_timeout: timeouts.statementTimeoutMs ?? 60_000,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionTimeoutMs ?? 60_000,
    // A connection whose peer vanished (network cut, failover) is noticed by the OS, not hung on.
    keepAlive: true,
  });
  // An idle client's error (e.g. the server restarted) must not crash the process; the pool replaces it.
  pool.on("error", () => {});
  // So must a checked-out client's (a transaction between two statements has no query to hand the error
  // to, and pg then emits it on the client): its next query fails, the transaction rolls back and
  // pg-pool discards the broken client on release.
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });
  const db = drizzleNodePg(pool, { schema }) as unknown as Db;
  return {
    kind: "postgres",
    db,
    async executeSql(text, values) {
      const r = (await pool.query(text, values)) as pg.QueryResult | pg.QueryResult[];
      // A multi-statement script (pg-boss sends some) answers one result per statement: their rows in
      // order, as pg-boss' own adapters return them.
      return { rows: Array.isArray(r) ? r.flatMap((x) => x.rows ?? []) : r.rows };
    },
    async ping() {
      await pool.query("select 1");
    },
    async close() {
      await pool.end();
    },
  };
}

export function openPglite(client: PGlite): Database {
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    kind: "pglite",
    db,
    async executeSql(text, values) {
      // pg-boss sends multi-statement scripts without parameters; only `exec` accepts those.
      if (!values || values.length === 0) {
        const results = await client.exec(text);
        return { rows: results.flatMap((r) => r.rows ?? []) as Record<string, unknown>[] };
      }
      const r = await client.query<Record<string, unknown>>(text, values);
      return { rows: r.rows };
    },
    async ping() {
      await client.query("select 1");
    },
    async close() {
      await client.close();
    },
  };
}

/** Applies committed drizzle-kit migrations; on Postgres under an advisory lock so replicas can start together. */
export async function migrateDatabase(database: Database): Promise<void> {
  if (database.kind === "pglite") {
    await migratePglite(database.db as never, { migrationsFolder });
    return;
  }
  await withAdvisoryLock(database, MIGRATION_LOCK_KEY, async (client) => {
    // Index builds and backfills may outrun the pool's statement timeout: this session has none.
    await client.query("set statement_timeout = 0");
    try {
      await migrateNodePg(drizzleNodePg(client, { schema }) as never, { migrationsFolder });
    } finally {
      await client.query("reset statement_timeout");
    }
  });
}

/**
 * Whether every migration this code ships has been applied (a database migrated further by a newer
 * release also counts: expand/contract keeps it compatible). Used by readiness and MIGRATE_ON_START=false.
 */
export async function migrationsCurrent(database: Database): Promise<boolean> {
  const journal = JSON.parse(
    fs.readFileSync(path.join(migrationsFolder, "meta", "_journal.json"), "utf8"),
  ) as {
    entries: { when: number }[];
  };
  const expected = Math.max(0, ...journal.entries.map((e) => e.when));
  try {
    const { rows } = await database.executeSql(
      "select coalesce(max(created_at), 0)::text as latest from drizzle.__drizzle_migrations",
      [],
    );
    return Number(rows[0]?.latest ?? 0) >= expected;
  } catch {
    return false; // no migrations table yet
  }
}

async function withAdvisoryLock(
  database: Database,
  key: number,
  fn: (client: pg.PoolClient) => Promise<void>,
): Promise<void> {
  // A session-level lock must be taken and released on the same connection: hold one for the duration.
  const pool = (database.db as unknown as { $client: pg.Pool }).$client;
  const client = await pool.connect();
  try {
    await client.query("select pg_advisory_lock($1)", [key]);
    try {
      await fn(client);
    } finally {
      await client.query("select pg_advisory_unlock($1)", [key]);
    }
  } finally {
    client.release();
  }
}

/** Rows of a raw query, the same on both drivers. */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/**
 * pg-boss `db` adapter over a drizzle transaction, so a job is enqueued atomically with the rows
 * that need it. pg-boss writes `$1..$n` placeholders; they are rebuilt as drizzle parameters.
 */
export function sqlExecutorFor(tx: Db): SqlExecutor {
  return {
    async executeSql(text, values = []) {
      const parts = text.split(/\$(\d+)/);
      const chunks: SQL[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i % 2 === 0) chunks.push(sql.raw(parts[i] ?? ""));
        else chunks.push(sql`${sql.param(values[Number(parts[i]) - 1] ?? null)}`);
      }
      const rows = await queryRows<Record<string, unknown>>(tx, sql.join(chunks, sql.raw("")));
      return { rows };
    },
  };
}
