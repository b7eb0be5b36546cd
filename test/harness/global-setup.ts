import { migrateDatabase, openPostgres } from "../../shared/db/client.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { createJobQueue } from "../../shared/queue/job-queue.ts";
import { databaseUrl, TEMPLATE_DB, TEST_DB_PREFIX, withAdmin } from "./test-database.ts";

/**
 * Once per vitest run: (re)creates the template database with every migration and pg-boss' schema,
 * and drops databases left behind by interrupted runs.
 */
export default async function setup(): Promise<void> {
  await withAdmin(async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      "select datname from pg_database where datname like $1 or datname = $2",
      [`${TEST_DB_PREFIX}%`, TEMPLATE_DB],
    );
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  });
  const database = openPostgres(databaseUrl(TEMPLATE_DB), 2);
  try {
    await migrateDatabase(database);
    const queue = createJobQueue(database, createLogger({ level: "silent" }));
    await queue.start();
    await queue.stop(1000);
  } finally {
    await database.close();
  }
}
