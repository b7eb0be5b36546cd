import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../logging/logger.ts";

let shuttingDown = false;

/** True once SIGTERM/SIGINT arrived: readiness answers 503 so load balancers stop sending work. */
export function isShuttingDown(): boolean {
  return shuttingDown;
}

/**
 * Graceful shutdown: on SIGTERM/SIGINT stop taking work, let running work finish, close pools, exit 0.
 * `stop` gets the time it may use (the grace less a margin for handing jobs back and closing); past the
 * whole grace the process exits 1. A second signal exits at once.
 */
export function onShutdown(logger: Logger, stop: (graceMs: number) => Promise<void>, graceSec = 30): void {
  const graceMs = graceSec * 1000;
  const handler = (signal: NodeJS.Signals) => {
    if (shuttingDown) process.exit(1);
    shuttingDown = true;
    logger.info({ signal, graceSec }, "shutting down");
    const timer = setTimeout(() => {
      logger.error("shutdown took too long; exiting");
      process.exit(1);
    }, graceMs);
    timer.unref();
    stop(Math.max(500, graceMs - Math.min(5000, graceMs / 4))).then(
      () => {
        logger.info("shut down cleanly");
        process.exit(0);
      },
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The probe endpoints of a worker process (pipeline, scheduler, ingestion), which serve no HTTP otherwise:
 * GET /healthz → 200 while the process runs; GET /readyz → 200 when every check is "ok" and the process
 * is not shutting down, else 503, with the checks as JSON.
 */
export async function startHealthServer(
  port: number,
  readiness: () => Promise<Record<string, string>>,
  logger: Logger,
  host = "0.0.0.0",
): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    const url = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") return reply(405, { error: { code: "METHOD_NOT_ALLOWED" } });
    if (url === "/healthz") return reply(200, { status: "ok" });
    if (url === "/readyz") {
      readiness().then(
        (checks) => {
          if (shuttingDown) checks.process = "shutting_down";
          const ready = Object.values(checks).every((v) => v === "ok");
          reply(ready ? 200 : 503, { status: ready ? "ready" : "unavailable", checks });
        },
        () => reply(503, { status: "unavailable" }),
      );
      return;
    }
    reply(404, { error: { code: "NOT_FOUND" } });
  });
  server.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const actual = (server.address() as AddressInfo).port;
  logger.info({ port: actual }, "health endpoints listening");
  return {
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
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
