import { createLedgerCallBilling } from "../../shared/billing/call-charges.ts";
import { type Config, loadConfig } from "../../shared/config/config.ts";
import { createLogger, type Logger } from "../../shared/logging/logger.ts";
import { surviveQueueBookkeepingErrors } from "../../shared/queue/job-queue.ts";
import { type Infrastructure, openInfrastructure } from "../../shared/runtime/infrastructure.ts";
import {
  isEntryPoint,
  onShutdown,
  requireSharedDatabase,
  startHealthServer,
} from "../../shared/runtime/process.ts";
import type { PipelineDeps } from "./pipeline-deps.ts";
import { startPipelineWorkers } from "./pipeline-worker.ts";

export function pipelineDeps(
  config: Config,
  infra: Infrastructure,
  logger: Logger,
  clock = () => new Date(),
): PipelineDeps {
  return {
    database: infra.database,
    storage: infra.storage,
    audio: infra.audio,
    providers: infra.providers,
    billing: createLedgerCallBilling(),
    mailer: infra.mailer,
    queue: infra.queue,
    logger: logger.child({ component: "pipeline" }),
    clock,
    limits: config.limits,
    tmpDir: infra.scratchDir,
  };
}

export async function startPipeline(config: Config, infra: Infrastructure, logger: Logger): Promise<void> {
  await startPipelineWorkers(pipelineDeps(config, infra, logger), {
    concurrency: config.pipelineConcurrency,
  });
  logger.info(
    {
      concurrency: config.pipelineConcurrency,
      // Configured providers; each account's order (or the server default) picks among them per call.
      speechProvidersAvailable: infra.providers.speechProviders,
      analysisProvidersAvailable: infra.providers.analysisProviders,
    },
    "pipeline workers started",
  );
}

if (isEntryPoint(import.meta.url)) {
  const config = loadConfig();
  requireSharedDatabase(config, "pipeline");
  const logger = createLogger({ level: config.logLevel, name: "tyndau-pipeline" });
  surviveQueueBookkeepingErrors(logger);
  const infra = await openInfrastructure(config, logger);
  await startPipeline(config, infra, logger);
  const health =
    config.healthPort === undefined
      ? undefined
      : await startHealthServer(config.healthPort, () => infra.readiness(), logger);
  onShutdown(
    logger,
    async (graceMs) => {
      // Stops fetching jobs; running steps finish within the grace or are handed back to the queue.
      await infra.close(graceMs);
      await health?.close();
    },
    config.shutdownGraceSec,
  );
}
