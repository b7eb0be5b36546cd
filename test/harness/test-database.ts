import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { inject } from "vitest";
import { type Database, migrateDatabase, openPglite, openPostgres } from "../../shared/db/client.ts";

/** The server every integration test uses (scripts/test makes sure it answers). */
export const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
/** Each run's template is migrated once by global-setup.ts; each test file copies it (HOUSE-STYLE rule 10). */
export const TEMPLATE_PREFIX = "tyndau_tpl_";
export const TEST_DB_PREFIX = "tyndau_t_";

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  url: string;
  database: Database;
  drop(): Promise<void>;
}

/** A fresh PostgreSQL database copied from the migrated template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `${TEST_DB_PREFIX}${randomBytes(6).toString("hex")}`;
  await withAdmin(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${name} TEMPLATE ${inject("templateDb")}`);
        return;
      } catch (error) {
        // Two files copying the template at the same instant can collide; try again shortly.
        if (attempt >= 10 || !String(error).includes("being accessed by other users")) throw error;
        await new Promise((r) => setTimeout(r, 200 + Math.random() * 300));
      }
    }
  });
  const url = databaseUrl(name);
  const database = openPostgres(url, 10);
  return {
    url,
    database,
    async drop() {
      await database.close();
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** An in-memory PGlite with the same migrations: the embedded default. */
export async function createPgliteTestDatabase(): Promise<TestDatabase> {
  const database = openPglite(new PGlite());
  await migrateDatabase(database);
  return { url: "pglite://memory", database, drop: () => database.close() };
}

export type DatabaseKind = "postgres" | "pglite";
export const databaseKinds: DatabaseKind[] = ["postgres", "pglite"];

export function createDatabaseOf(kind: DatabaseKind): Promise<TestDatabase> {
  return kind === "postgres" ? createTestDatabase() : createPgliteTestDatabase();
}
