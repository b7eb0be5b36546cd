import os from "node:os";
import path from "node:path";
import type { AudioTools } from "../audio/audio-tools.ts";
import { createFfmpegAudioTools } from "../audio/ffmpeg-audio-tools.ts";
import type { Config } from "../config/config.ts";
import { type Database, migrateDatabase, openDatabase } from "../db/client.ts";
import type { Logger } from "../logging/logger.ts";
import type { CallAnalyzer } from "../providers/analysis/call-analyzer.ts";
import { createGigaChatAnalyzer } from "../providers/analysis/gigachat-analyzer.ts";
import { createOpenAiAnalyzer } from "../providers/analysis/openai-analyzer.ts";
import { createRulesAnalyzer } from "../providers/analysis/rules-analyzer.ts";
import { createYandexGptAnalyzer } from "../providers/analysis/yandexgpt-analyzer.ts";
import { createMailer } from "../providers/mail/create-mailer.ts";
import type { Mailer } from "../providers/mail/mailer.ts";
import { createObjectStorage } from "../providers/storage/create-object-storage.ts";
import type { LocalObjectStorage } from "../providers/storage/local-object-storage.ts";
import type { ObjectStorage } from "../providers/storage/object-storage.ts";
import { createOpenAiTranscriber } from "../providers/transcription/openai-transcriber.ts";
import { createPocketSphinxTranscriber } from "../providers/transcription/pocketsphinx-transcriber.ts";
import type { Transcriber } from "../providers/transcription/transcriber.ts";
import { createJobQueue, type JobQueue } from "../queue/job-queue.ts";

/** What every Tyndau process shares, built once by its main.ts from the configuration. */
export interface Infrastructure {
  database: Database;
  storage: ObjectStorage;
  verifyFileSignature: ((key: string, expires: number, signature: string) => boolean) | undefined;
  audio: AudioTools;
  queue: JobQueue;
  transcriber: Transcriber;
  analyzers: Record<string, CallAnalyzer>;
  mailer: Mailer;
  scratchDir: string;
  close(): Promise<void>;
}

export async function openInfrastructure(
  config: Config,
  logger: Logger,
  overrides: { database?: Database } = {},
): Promise<Infrastructure> {
  const database = overrides.database ?? (await openDatabase(config.database));
  await migrateDatabase(database);
  const storage = createObjectStorage(config.storage, {
    publicUrl: config.publicUrl,
    secret: config.appSecret,
  });
  const queue = createJobQueue(database, logger.child({ component: "queue" }));
  await queue.start();
  const local = storage.kind === "local" ? (storage as LocalObjectStorage) : undefined;
  return {
    database,
    storage,
    verifyFileSignature: local
      ? (key, expires, signature) => local.verifySignature(key, expires, signature)
      : undefined,
    audio: createFfmpegAudioTools(),
    queue,
    transcriber: createTranscriber(config),
    analyzers: createAnalyzers(config),
    mailer: createMailer(config.mail),
    scratchDir: path.join(os.tmpdir(), "tyndau"),
    async close() {
      await queue.stop();
      if (!overrides.database) await database.close();
    },
  };
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

export function createTranscriber(config: Config): Transcriber {
  if (config.transcriptionProvider === "openai") {
    return createOpenAiTranscriber({
      apiKey: config.openai.apiKey,
      baseUrl: config.openai.baseUrl,
      model: config.openai.transcribeModel,
    });
  }
  return createPocketSphinxTranscriber();
}
