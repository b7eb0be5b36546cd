import http from "node:http";
import { type Config, loadConfig } from "../../shared/config/config.ts";
import type { PullDeps } from "../../shared/ingest/pull-sources.ts";
import { runPullSources } from "../../shared/ingest/pull-sources.ts";
import { createLogger, type Logger } from "../../shared/logging/logger.ts";
import { type AppMetrics, createAppMetrics } from "../../shared/observability/metrics.ts";
import { metricsAccess } from "../../shared/observability/metrics-access.ts";
import { probeCallJob, pullSourcesJob } from "../../shared/queue/job-definitions.ts";
import { surviveQueueBookkeepingErrors } from "../../shared/queue/job-queue.ts";
import { type Infrastructure, openInfrastructure } from "../../shared/runtime/infrastructure.ts";
import { isEntryPoint, onShutdown, requireSharedDatabase } from "../../shared/runtime/process.ts";

/** What a pull run needs, from the process's configuration and infrastructure. */
export function pullDeps(
  config: Config,
  infra: Pick<Infrastructure, "database" | "storage" | "audio" | "queue" | "scratchDir">,
  logger: Logger,
  metrics?: AppMetrics,
): PullDeps {
  return {
    database: infra.database,
    storage: infra.storage,
    audio: infra.audio,
    queue: infra.queue,
    logger: logger.child({ component: "pull-sources" }),
    limits: config.limits,
    scratchDir: infra.scratchDir,
    appSecret: config.appSecret,
    pull: config.pull,
    download: {
      maxBytes: config.limits.maxUploadBytes,
      timeoutMs: config.limits.downloadTimeoutMs,
      maxRedirects: 5,
      allowPrivateAddresses: config.env !== "production",
    },
    metrics,
  };
}

/** Works the `pull-sources` job (enqueued each minute by the scheduler): one run at a time per process. */
export async function startPullWorker(
  config: Config,
  infra: Infrastructure,
  logger: Logger,
  metrics?: AppMetrics,
): Promise<void> {
  const deps = pullDeps(config, infra, logger, metrics);
  await infra.queue.register(pullSourcesJob);
  await infra.queue.register(probeCallJob);
  await infra.queue.work(pullSourcesJob, { concurrency: 1, pollingIntervalSec: 5 }, async () => {
    const started = performance.now();
    const result = await runPullSources(deps);
    deps.logger.info(
      {
        sources: result.sources,
        accepted: result.accepted,
        failed: result.failed,
        ms: Math.round(performance.now() - started),
      },
      "pull-sources run done",
    );
  });
  logger.info("pull-sources worker started");
}

/**
 * The ingestion service (`npm run ingestion`): runs the pull-sources worker and serves /healthz, /readyz
 * and /metrics on PORT. Pushes (POST /api/v1/ingest/...) are still served by the API service.
 */
if (isEntryPoint(import.meta.url)) {
  const config = loadConfig();
  requireSharedDatabase(config, "ingestion");
  const logger = createLogger({ level: config.logLevel, name: "tyndau-ingestion" });
  surviveQueueBookkeepingErrors(logger);
  const infra = await openInfrastructure(config, logger);
  const metrics = createAppMetrics({ service: "ingestion" });
  let stopping = false;
  await startPullWorker(config, infra, logger, metrics);
  const server = http.createServer(async (req, res) => {
    const metricsAllowed =
      req.url === "/metrics"
        ? metricsAccess(
            { env: config.env, metricsToken: config.security.metricsToken },
            req.headers.authorization,
          )
        : undefined;
    if (metricsAllowed === "allowed") {
      res.writeHead(200, { "content-type": metrics.registry.contentType });
      res.end(await metrics.registry.metrics());
    } else if (metricsAllowed === "unauthenticated") {
      res.writeHead(401, { "content-type": "application/json", "www-authenticate": "Bearer" });
      res.end('{"error":{"code":"UNAUTHENTICATED","message":"/metrics needs the metrics token."}}');
    } else if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"status":"ok"}');
    } else if (req.url === "/readyz") {
      const checks = await infra.readiness().catch(() => ({ readiness: "unavailable" }));
      if (stopping) Object.assign(checks, { process: "shutting_down" });
      const ready = Object.values(checks).every((v) => v === "ok");
      res.writeHead(ready ? 200 : 503, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify({ status: ready ? "ready" : "unavailable", checks }));
    } else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":{"code":"NOT_FOUND","message":"Not found."}}');
    }
  });
  server.listen(config.port, config.host, () =>
    logger.info({ port: config.port }, "ingestion service listening"),
  );
  onShutdown(
    logger,
    async (graceMs) => {
      stopping = true;
      // Stops taking pull runs; a running one finishes within the grace or is handed back (its cursor
      // is saved per page, so the next run resumes).
      await infra.close(graceMs);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    config.shutdownGraceSec,
  );
}
