// npm run db:migrate: applies the committed migrations (the app's under its advisory lock, then
// pg-boss' schema) and exits. What the Kubernetes migration Job and the compose `migrate` service run
// before a rollout; safe to run concurrently and again (it is a no-op when current).
import { loadConfig } from "../shared/config/config.ts";
import { migrateDatabase, migrationsCurrent, openDatabase } from "../shared/db/client.ts";
import { createLogger } from "../shared/logging/logger.ts";
import { createJobQueue } from "../shared/queue/job-queue.ts";

const config = loadConfig();
const logger = createLogger({ level: config.logLevel, name: "tyndau-migrate" });
if (config.database.kind !== "postgres") {
  process.stderr.write(
    "npm run db:migrate needs DATABASE_URL (the embedded database migrates itself at start).\n",
  );
  process.exit(2);
}
const database = await openDatabase(config.database);
try {
  const started = performance.now();
  const before = await migrationsCurrent(database);
  await migrateDatabase(database);
  // pg-boss creates and upgrades its own schema (under its own lock) when it starts.
  const queue = createJobQueue(database, logger);
  await queue.start();
  await queue.stop(1000);
  logger.info(
    { alreadyCurrent: before, ms: Math.round(performance.now() - started) },
    before ? "database was already current" : "database migrated",
  );
} catch (err) {
  logger.error({ err }, "migration failed");
  process.exitCode = 1;
} finally {
  await database.close();
}
