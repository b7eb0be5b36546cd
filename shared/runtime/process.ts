import type { Logger } from "../logging/logger.ts";

/**
 * Graceful shutdown: on SIGTERM/SIGINT stop taking work, let running work finish (bounded), close pools.
 * A second signal exits at once.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>, graceMs = 30_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      logger.error("shutdown took too long; exiting");
      process.exit(1);
    }, graceMs);
    timer.unref();
    stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

/** True when this module is the process entry point (so main files can also be imported). */
export function isEntryPoint(metaUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  return metaUrl === new URL(`file://${entry}`).href || metaUrl.endsWith(entry.replace(/^\.\//, ""));
}

/** Separate services share one PostgreSQL; the embedded PGlite belongs to the single all-in-one process. */
export function requireSharedDatabase(config: { database: { kind: string } }, service: string): void {
  if (config.database.kind !== "postgres") {
    throw new Error(
      `npm run ${service} runs as a separate service and needs DATABASE_URL (and S3_*). ` +
        "For the embedded defaults run everything in one process with ./scripts/start.",
    );
  }
}
