import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startApi } from "../../services/api/main.ts";
import { pullDeps } from "../../services/ingestion/main.ts";
import { pipelineDeps } from "../../services/pipeline/main.ts";
import { startPipelineWorkers } from "../../services/pipeline/pipeline-worker.ts";
import { type Config, loadConfig } from "../../shared/config/config.ts";
import type { Database } from "../../shared/db/client.ts";
import { runPullSources } from "../../shared/ingest/pull-sources.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { createAppMetrics } from "../../shared/observability/metrics.ts";
import { ensureBucket } from "../../shared/providers/storage/s3-object-storage.ts";
import { openInfrastructure } from "../../shared/runtime/infrastructure.ts";
import { useTestS3 } from "./s3rver.ts";
import { startTestSmtpServer, type TestSmtpServer } from "./smtp-server.ts";
import { createDatabaseOf, type DatabaseKind } from "./test-database.ts";
import { freePort } from "./wait.ts";

export interface TestApp {
  baseUrl: string;
  config: Config;
  /** The app's own database, for arranging what has no API (staff users) and for checking invariants. */
  database: Database;
  /** E-mails the app sent (an SMTP server on loopback on "postgres"; none on "pglite", which writes an outbox). */
  mail: TestSmtpServer | undefined;
  /** One `pull-sources` run as the ingestion service does it (`npm run job -- pull-sources`), same config. */
  pullSources(): ReturnType<typeof runPullSources>;
  close(): Promise<void>;
}

/**
 * The system as it runs for real, in this process, on a free port: on "postgres" it is configured as in
 * production (NODE_ENV=production, PostgreSQL, S3 through s3rver, real secrets); on "pglite" it runs
 * on the embedded defaults (PGlite, local disk). Pipeline workers use the offline providers.
 */
export async function startTestApp(
  kind: DatabaseKind,
  env: Record<string, string> = {},
  options: { logDestination?: { write(line: string): void } } = {},
): Promise<TestApp> {
  const testDb = await createDatabaseOf(kind);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-e2e-"));
  const s3 = kind === "postgres" ? await useTestS3() : undefined;
  const mail = kind === "postgres" ? await startTestSmtpServer() : undefined;
  const bucket = `e2e-${randomBytes(4).toString("hex")}`;
  const base: Record<string, string> = {
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    TYNDAU_DEMO: "0",
    PIPELINE_CONCURRENCY: "2",
  };
  const production: Record<string, string> = s3
    ? {
        NODE_ENV: "production",
        DATABASE_URL: testDb.url,
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: bucket,
        S3_REGION: s3.region,
        S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        S3_FORCE_PATH_STYLE: "true",
        APP_SECRET: randomBytes(24).toString("hex"),
        PAYMENT_WEBHOOK_SECRET: randomBytes(24).toString("hex"),
        SMTP_URL: mail!.url,
      }
    : {};
  // Links the API hands out (ingest URLs, signed audio) name PUBLIC_URL, so the port is chosen first.
  const port = await freePort();
  const config = loadConfig({
    ...base,
    ...production,
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    ...env,
  });
  if (config.storage.kind === "s3")
    await ensureBucket({ ...config.storage, endpoint: config.storage.endpoint });
  const logger = createLogger({
    level: config.logLevel,
    name: "tyndau-test",
    destination: options.logDestination,
  });
  const metrics = createAppMetrics({ service: "test" });
  const infra = await openInfrastructure(config, logger, { database: testDb.database });
  const api = await startApi(config, infra, logger, metrics);
  const baseUrl = `http://127.0.0.1:${api.port}`;
  await startPipelineWorkers(pipelineDeps(config, infra, logger), {
    concurrency: config.pipelineConcurrency,
  });
  return {
    baseUrl,
    config,
    database: testDb.database,
    mail,
    pullSources: () => runPullSources(pullDeps(config, infra, logger)),
    async close() {
      await api.close();
      await infra.close();
      await testDb.drop();
      await s3?.close();
      await mail?.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
