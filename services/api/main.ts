import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Config, loadConfig } from "../../shared/config/config.ts";
import { createLogger, type Logger } from "../../shared/logging/logger.ts";
import { type AppMetrics, createAppMetrics } from "../../shared/observability/metrics.ts";
import { createPaymentGateways } from "../../shared/providers/payments/create-payment-gateways.ts";
import { surviveQueueBookkeepingErrors } from "../../shared/queue/job-queue.ts";
import { type Infrastructure, openInfrastructure } from "../../shared/runtime/infrastructure.ts";
import { isEntryPoint, onShutdown, requireSharedDatabase } from "../../shared/runtime/process.ts";
import { createApp } from "./app.ts";

export interface RunningApi {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Starts the HTTP API and web app on config.port (0 → a free port). */
export async function startApi(
  config: Config,
  infra: Infrastructure,
  logger: Logger,
  metrics: AppMetrics,
  clock: () => Date = () => new Date(),
): Promise<RunningApi> {
  const app = createApp({
    config,
    database: infra.database,
    storage: infra.storage,
    verifyFileSignature: infra.verifyFileSignature,
    audio: infra.audio,
    queue: infra.queue,
    metrics,
    logger: logger.child({ component: "api" }),
    clock,
    scratchDir: infra.scratchDir,
    mailer: infra.mailer,
    analysisProviders: Object.keys(infra.analyzers),
    speechProviders: infra.providers.speechProviders,
    ...createPaymentGateways(config),
  });
  const server = app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  // A client that stalls mid-upload is cut off instead of holding a socket forever.
  server.requestTimeout = 10 * 60_000;
  server.headersTimeout = 30_000;
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

if (isEntryPoint(import.meta.url)) {
  const config = loadConfig();
  requireSharedDatabase(config, "api");
  const logger = createLogger({ level: config.logLevel, name: "tyndau-api" });
  surviveQueueBookkeepingErrors(logger);
  const infra = await openInfrastructure(config, logger);
  const api = await startApi(config, infra, logger, createAppMetrics({ service: "api" }));
  logger.info({ port: api.port }, "api listening");
  onShutdown(
    logger,
    async (graceMs) => {
      // Stops accepting connections; requests in progress finish (bounded by the grace).
      await api.close();
      await infra.close(graceMs);
    },
    config.shutdownGraceSec,
  );
}
