import os from "node:os";
import path from "node:path";
import type { AudioTools } from "../audio/audio-tools.ts";
import { createFfmpegAudioTools } from "../audio/ffmpeg-audio-tools.ts";
import type { Config } from "../config/config.ts";
import { type Database, migrateDatabase, migrationsCurrent, openDatabase } from "../db/client.ts";
import { createProviderUsage } from "../db/repositories/provider-usage.repository.ts";
import { isTransientDbError } from "../db/transient-errors.ts";
import type { Logger } from "../logging/logger.ts";
import type { CallAnalyzer } from "../providers/analysis/call-analyzer.ts";
import { createGigaChatAnalyzer } from "../providers/analysis/gigachat-analyzer.ts";
import { createOpenAiAnalyzer } from "../providers/analysis/openai-analyzer.ts";
import { createRulesAnalyzer } from "../providers/analysis/rules-analyzer.ts";
import { createYandexGptAnalyzer } from "../providers/analysis/yandexgpt-analyzer.ts";
import { createMailer } from "../providers/mail/create-mailer.ts";
import type { Mailer } from "../providers/mail/mailer.ts";
import {
  createProviderRegistry,
  type ProviderRegistry,
  type ProviderRegistryOptions,
} from "../providers/registry/provider-registry.ts";
import { createObjectStorage } from "../providers/storage/create-object-storage.ts";
import type { LocalObjectStorage } from "../providers/storage/local-object-storage.ts";
import type { ObjectStorage } from "../providers/storage/object-storage.ts";
import { createOpenAiTranscriber } from "../providers/transcription/openai-transcriber.ts";
import { createPocketSphinxTranscriber } from "../providers/transcription/pocketsphinx-transcriber.ts";
import type { Transcriber } from "../providers/transcription/transcriber.ts";
import { createYandexSpeechKitTranscriber } from "../providers/transcription/yandex-speechkit-transcriber.ts";
import { allJobDefinitions } from "../queue/job-definitions.ts";
import { createJobQueue, type JobQueue } from "../queue/job-queue.ts";

/** What every Tyndau process shares, built once by its main.ts from the configuration. */
export interface Infrastructure {
  database: Database;
  storage: ObjectStorage;
  verifyFileSignature: ((key: string, expires: number, signature: string) => boolean) | undefined;
  audio: AudioTools;
  queue: JobQueue;
  /** Speech and analysis providers with per-account order, fallback, retries, circuit breakers, usage. */
  providers: ProviderRegistry;
  analyzers: Record<string, CallAnalyzer>;
  mailer: Mailer;
  scratchDir: string;
  /** Readiness checks: database, storage and migrations, each "ok" or what is wrong. */
  readiness(): Promise<Record<string, string>>;
  /** Stops taking jobs, lets running ones finish within `graceMs` (then hands them back), closes pools. */
  close(graceMs?: number): Promise<void>;
}

export async function openInfrastructure(
  config: Config,
  logger: Logger,
  overrides: { database?: Database } = {},
): Promise<Infrastructure> {
  const database = overrides.database ?? (await openDatabase(config.database));
  await waitForDatabase(database, logger);
  if (config.migrateOnStart || database.kind === "pglite") await migrateDatabase(database);
  else await waitForMigrations(database, logger);
  const storage = createObjectStorage(config.storage, {
    publicUrl: config.publicUrl,
    secret: config.appSecret,
  });
  const queue = createJobQueue(database, logger.child({ component: "queue" }), {
    jobExpireSec: config.queue.jobExpireSec,
    leaseSec: config.queue.leaseSec,
    // Embedded PGlite is opened by this one process (lockDataDir): jobs active at start are orphans.
    exclusive: database.kind === "pglite",
    embedded: database.kind === "pglite",
    definitions: allJobDefinitions,
    maintenanceSec: config.queue.maintenanceSec,
  });
  await queue.start();
  const local = storage.kind === "local" ? (storage as LocalObjectStorage) : undefined;
  const audio = createFfmpegAudioTools({ searchPath: config.executableSearchPath });
  const analyzers = createAnalyzers(config);
  const scratchDir = path.join(os.tmpdir(), "tyndau");
  const providers = createProviderRegistry({
    transcribers: createTranscribers(config, audio),
    analyzers,
    defaults: config.providerOrder,
    pricing: config.providerPricing as ProviderRegistryOptions["pricing"],
    policy: {
      // Files above a provider's request limit are cut at silences and stitched back.
      "speech:openai": { chunking: { maxBytes: 24 * 1024 * 1024 } },
      "speech:yandex": { chunking: { maxBytes: 40 * 1024 * 1024 }, timeoutPerAudioSecMs: 500 },
      // PocketSphinx enforces its own time limit and needs no retries: it runs here.
      "speech:pocketsphinx": { timeoutMs: 0, retries: 0 },
      "analysis:rules": { timeoutMs: 0, retries: 0 },
    },
    speechLanguages: { pocketsphinx: ["en"] },
    audio,
    tmpDir: scratchDir,
    ...(config.providerTimeoutSec ? { defaultPolicy: { timeoutMs: config.providerTimeoutSec * 1000 } } : {}),
    logger: logger.child({ component: "providers" }),
    onUsage: async (record) => {
      if (record.accountId)
        await createProviderUsage(database.db, { ...record, accountId: record.accountId });
    },
  });
  return {
    database,
    storage,
    verifyFileSignature: local
      ? (key, expires, signature) => local.verifySignature(key, expires, signature)
      : undefined,
    audio,
    queue,
    providers,
    analyzers,
    mailer: createMailer(config.mail),
    scratchDir,
    readiness: () =>
      runChecks({
        database: () => database.ping(),
        storage: () => storage.ping(),
        migrations: async () => {
          if (!(await migrationsCurrent(database))) throw new Error("pending");
        },
      }),
    async close(graceMs = 10_000) {
      const { finished, handedBack } = await queue.stop(graceMs);
      if (finished + handedBack > 0) logger.info({ finished, handedBack }, "job queue stopped");
      if (!overrides.database) await database.close();
    },
  };
}

/** Runs named checks concurrently, each bounded to 3 s: "ok", "timeout" or "unavailable"/"pending". */
export async function runChecks(
  checks: Record<string, () => Promise<void>>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error("timeout")), 3000);
          }),
        ]);
        out[name] = "ok";
      } catch (error) {
        const message = error instanceof Error ? error.message : "";
        out[name] = message === "timeout" || message === "pending" ? message : "unavailable";
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return out;
}

/** MIGRATE_ON_START=false: the migration job (`npm run db:migrate`) applies them; wait until it has. */
async function waitForMigrations(database: Database, logger: Logger): Promise<void> {
  let logged = false;
  while (!(await migrationsCurrent(database).catch(() => false))) {
    if (!logged) logger.warn("database migrations are not current; waiting for `npm run db:migrate`");
    logged = true;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/**
 * A service starting while PostgreSQL restarts (or before it is up) waits for it, up to a minute, instead
 * of crashing on the first refused connection.
 */
async function waitForDatabase(database: Database, logger: Logger, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await database.ping();
      return;
    } catch (error) {
      if (!isTransientDbError(error) || Date.now() > deadline) throw error;
      if (attempt === 0) logger.warn({ err: error }, "database not reachable yet; waiting");
      await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 2_000)));
    }
  }
}

/** The analysis providers this server runs: the offline rules, plus each third-party one configured. */
export function createAnalyzers(config: Config): Record<string, CallAnalyzer> {
  const analyzers: Record<string, CallAnalyzer> = { rules: createRulesAnalyzer() };
  const { openai, openaiCompatible, gigachat, yandexgpt } = config.analysis;
  if (openai) analyzers.openai = createOpenAiAnalyzer({ ...openai, name: "openai" });
  if (openaiCompatible)
    analyzers["openai-compatible"] = createOpenAiAnalyzer({ ...openaiCompatible, name: "openai-compatible" });
  if (gigachat) {
    analyzers.gigachat = createGigaChatAnalyzer({
      authKey: gigachat.authKey,
      scope: gigachat.scope as "GIGACHAT_API_PERS",
      model: gigachat.model,
      caCertPath: gigachat.caCertPath,
      authUrl: gigachat.authUrl,
      apiUrl: gigachat.apiUrl,
    });
  }
  if (yandexgpt) analyzers.yandexgpt = createYandexGptAnalyzer(yandexgpt);
  return analyzers;
}

/** The speech recognizers this server runs: PocketSphinx always, the cloud ones when configured. */
export function createTranscribers(config: Config, audio: AudioTools): Record<string, Transcriber> {
  const transcribers: Record<string, Transcriber> = { pocketsphinx: createPocketSphinxTranscriber() };
  if (config.openai.apiKey || config.openai.baseUrl) {
    transcribers.openai = createOpenAiTranscriber({
      apiKey: config.openai.apiKey,
      baseUrl: config.openai.baseUrl,
      model: config.openai.transcribeModel,
      // Retries belong to the provider registry; the SDK's own would multiply them.
      maxRetries: 0,
      audio,
    });
  }
  if (config.speechkit) transcribers.yandex = createYandexSpeechKitTranscriber(config.speechkit);
  return transcribers;
}
