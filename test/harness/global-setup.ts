import type { TestProject } from "vitest/node";
import { migrateDatabase, openPostgres } from "../../shared/db/client.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { createJobQueue } from "../../shared/queue/job-queue.ts";
import { databaseUrl, TEMPLATE_PREFIX, TEST_DB_PREFIX, withAdmin } from "./test-database.ts";

declare module "vitest" {
  export interface ProvidedContext {
    templateDb: string;
  }
}

/**
 * Once per vitest run: creates this run's template database with every migration and pg-boss' schema
 * (test files copy it), and drops databases that interrupted runs left behind more than two hours ago.
 * Names are per run, so runs side by side do not disturb each other.
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const template = `${TEMPLATE_PREFIX}${process.pid}_${Date.now().toString(36)}`;
  await withAdmin(async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `select datname from pg_database
        where (datname like $1 or datname like $2)
          and (pg_stat_file('base/' || oid || '/PG_VERSION', true)).modification < now() - interval '2 hours'`,
      [`${TEST_DB_PREFIX}%`, `${TEMPLATE_PREFIX}%`],
    );
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${template}`);
  });
  const database = openPostgres(databaseUrl(template), 2);
  try {
    await migrateDatabase(database);
    const queue = createJobQueue(database, createLogger({ level: "silent" }));
    await queue.start();
    await queue.stop(1000);
  } finally {
    await database.close();
  }
  project.provide("templateDb", template);
  return async () => {
    await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`));
  };
}
