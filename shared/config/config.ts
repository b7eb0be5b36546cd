import path from "node:path";
import { z } from "zod";

/**
 * The only reader of process.env (HOUSE-STYLE). Every variable is documented in README.md and
 * ../shared/spec/API.md "Configuration".
 */

const DEFAULT_PAYMENT_SECRET = "sandbox-secret";
const DEFAULT_APP_SECRET = "dev-only-app-secret-change-me";

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", ""])
  .transform((v) => v === "1" || v === "true" || v === "yes");

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  PATH: z.string().default("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  PUBLIC_URL: z.url().optional(),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z.string().min(1).optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  DATABASE_IDLE_TX_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  S3_ENDPOINT: z.url().optional(),
  S3_BUCKET: z.string().min(1).optional(),
  S3_REGION: z.string().min(1).default("us-east-1"),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: bool.default(false),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_TRANSCRIBE_MODEL: z.string().min(1).default("whisper-1"),
  OPENAI_ANALYSIS_BASE_URL: z.url().optional(),
  OPENAI_ANALYSIS_MODEL: z.string().min(1).default("gpt-4o-mini"),
  OPENAI_ANALYSIS_RESPONSE_FORMAT: z.enum(["json_schema", "json_object", "none"]).default("json_schema"),
  OPENAI_COMPATIBLE_BASE_URL: z.url().optional(),
  OPENAI_COMPATIBLE_API_KEY: z.string().min(1).optional(),
  OPENAI_COMPATIBLE_MODEL: z.string().min(1).optional(),
  OPENAI_COMPATIBLE_RESPONSE_FORMAT: z.enum(["json_schema", "json_object", "none"]).default("json_object"),
  GIGACHAT_AUTH_KEY: z.string().min(1).optional(),
  GIGACHAT_SCOPE: z
    .enum(["GIGACHAT_API_PERS", "GIGACHAT_API_B2B", "GIGACHAT_API_CORP"])
    .default("GIGACHAT_API_PERS"),
  GIGACHAT_MODEL: z.string().min(1).default("GigaChat"),
  GIGACHAT_CA_CERT: z.string().min(1).optional(),
  GIGACHAT_AUTH_URL: z.url().optional(),
  GIGACHAT_API_URL: z.url().optional(),
  YANDEX_API_KEY: z.string().min(1).optional(),
  YANDEX_FOLDER_ID: z.string().min(1).optional(),
  YANDEXGPT_MODEL_URI: z.string().min(1).optional(),
  YANDEX_LLM_URL: z.url().optional(),
  SPEECHKIT_URL: z.url().optional(),
  SPEECHKIT_OPERATION_URL: z.url().optional(),
  SPEECHKIT_MODEL: z.string().min(1).default("general"),
  SPEECH_PROVIDERS: z.string().optional(),
  ANALYSIS_PROVIDERS: z.string().optional(),
  PROVIDER_PRICING: z.string().optional(),
  TRANSCRIPTION_PROVIDER: z.enum(["auto", "pocketsphinx", "openai"]).default("auto"),
  PAYMENT_WEBHOOK_SECRET: z.string().min(1).optional(),
  PAYMENT_GATEWAY: z.enum(["sandbox", "cloudpayments"]).optional(),
  CLOUDPAYMENTS_PUBLIC_ID: z.string().min(1).optional(),
  CLOUDPAYMENTS_API_SECRET: z.string().min(1).optional(),
  CLOUDPAYMENTS_API_URL: z.url().optional(),
  SMTP_URL: z.url().optional(),
  MAIL_FROM: z.string().min(3).default("Tyndau <no-reply@tyndau.kz>"),
  APP_SECRET: z.string().min(16).optional(),
  TYNDAU_DEMO: bool.optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  SHUTDOWN_GRACE_SEC: z.coerce.number().int().min(1).max(3600).default(30),
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  MIGRATE_ON_START: bool.default(true),
  PIPELINE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  PROVIDER_TIMEOUT_SEC: z.coerce.number().int().min(1).optional(),
  JOB_EXPIRE_SEC: z.coerce.number().int().min(1).optional(),
  QUEUE_MAINTENANCE_SEC: z.coerce.number().int().min(1).max(3600).default(120),
  QUEUE_LEASE_SEC: z.coerce.number().int().min(5).max(3600).default(45),
  MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(200 * 1024 * 1024),
  MAX_UPLOADS_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  PULL_MAX_PAGES_PER_RUN: z.coerce.number().int().min(1).max(10_000).default(20),
  PULL_MAX_ITEMS_PER_RUN: z.coerce.number().int().min(1).max(100_000).default(500),
  PULL_LEASE_SEC: z.coerce.number().int().min(10).max(86_400).default(600),
  MAX_CONCURRENT_DOWNLOADS: z.coerce.number().int().min(1).default(10),
  INGEST_BODY_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  INGEST_DOWNLOAD_TIMEOUT_MS: z.coerce.number().int().min(100).default(60_000),
  MAX_CALL_DURATION_SEC: z.coerce
    .number()
    .int()
    .min(1)
    .default(4 * 3600),
  LOGIN_MAX_FAILURES_PER_EMAIL: z.coerce.number().int().min(1).default(5),
  LOGIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(30),
  // At most a day: retention-purge deletes sign-in failures older than that.
  LOGIN_FAILURE_WINDOW_SEC: z.coerce.number().int().min(1).max(86_400).default(900),
  REGISTER_MAX_PER_ADDRESS: z.coerce.number().int().min(1).default(20),
  // At most a day: retention-purge deletes registration attempts older than that.
  REGISTER_WINDOW_SEC: z.coerce.number().int().min(1).max(86_400).default(3600),
  METRICS_TOKEN: z.string().min(16).optional(),
  SESSION_TTL_HOURS: z.coerce.number().int().min(1).default(720),
  INVITATION_TTL_HOURS: z.coerce.number().int().min(1).default(72),
  CORS_ORIGINS: z.string().optional(),
  TRUST_PROXY: z.string().default("loopback"),
});

/** Every environment variable the configuration reads (deployment files are checked against it). */
export const configVariableNames: readonly string[] = Object.keys(envSchema.shape);

export type StorageConfig =
  | { kind: "local"; root: string }
  | {
      kind: "s3";
      endpoint: string | undefined;
      bucket: string;
      region: string;
      accessKeyId: string | undefined;
      secretAccessKey: string | undefined;
      forcePathStyle: boolean;
    };

export type DatabaseConfig =
  | {
      kind: "postgres";
      url: string;
      poolMax: number;
      /** A connection attempt that takes longer fails (and is retried as a transient error). */
      connectTimeoutMs: number;
      /** A statement running longer is cancelled by the server, so a hung query cannot hang a worker; 0 = none. */
      statementTimeoutMs: number;
      /** A session idle inside a transaction longer than this is ended by the server; 0 = none. */
      idleInTransactionTimeoutMs: number;
    }
  | { kind: "pglite"; dir: string };

const currencyCode = z.enum(["KZT", "RUB", "USD"]);
const decimal = z.string().regex(/^\d{1,10}(\.\d{1,6})?$/, "a decimal string");
const providerPricingSchema = z
  .object({
    speech: z
      .record(
        z.string(),
        z.object({
          perAudioMinute: decimal,
          currency: currencyCode,
          billingStepSec: z.number().int().positive().optional(),
        }),
      )
      .optional(),
    analysis: z
      .record(
        z.string(),
        z.object({ per1kInputTokens: decimal, per1kOutputTokens: decimal, currency: currencyCode }),
      )
      .optional(),
  })
  .strict();
export type ProviderPricing = z.infer<typeof providerPricingSchema>;

const list = (value: string | undefined) =>
  (value ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v.length > 0);

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * The configuration every service is built from: the environment checked by `envSchema`, then shaped;
 * `Config` is whatever that shaping returns. Rules that span variables throw ConfigError inside the
 * transform: zod does not catch a throw, so it reaches loadConfig's caller unchanged.
 */
const configSchema = envSchema.transform(configFromEnv);
export type Config = z.output<typeof configSchema>;

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

function configFromEnv(e: z.output<typeof envSchema>) {
  const dataDir = path.resolve(e.DATA_DIR);
  const database: DatabaseConfig = e.DATABASE_URL
    ? {
        kind: "postgres",
        url: e.DATABASE_URL,
        poolMax: e.DATABASE_POOL_MAX,
        connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
        statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
        idleInTransactionTimeoutMs: e.DATABASE_IDLE_TX_TIMEOUT_MS,
      }
    : { kind: "pglite", dir: path.join(dataDir, "pglite") };
  const storage: StorageConfig = e.S3_BUCKET
    ? {
        kind: "s3",
        endpoint: e.S3_ENDPOINT,
        bucket: e.S3_BUCKET,
        region: e.S3_REGION,
        accessKeyId: e.S3_ACCESS_KEY_ID,
        secretAccessKey: e.S3_SECRET_ACCESS_KEY,
        forcePathStyle: e.S3_FORCE_PATH_STYLE,
      }
    : { kind: "local", root: path.join(dataDir, "recordings") };
  if (e.S3_ENDPOINT && !e.S3_BUCKET) throw new ConfigError("S3_ENDPOINT is set but S3_BUCKET is not.");
  const embedded = database.kind === "pglite" && storage.kind === "local";

  if (e.NODE_ENV === "production") {
    const problems: string[] = [];
    if (database.kind === "pglite")
      problems.push("DATABASE_URL is not set (embedded PGlite is for development only)");
    if (storage.kind === "local")
      problems.push("S3_BUCKET is not set (local-disk recordings are for development only)");
    if (!e.PAYMENT_WEBHOOK_SECRET || e.PAYMENT_WEBHOOK_SECRET === DEFAULT_PAYMENT_SECRET)
      problems.push("PAYMENT_WEBHOOK_SECRET is unset or the sandbox default");
    if (!e.APP_SECRET || e.APP_SECRET === DEFAULT_APP_SECRET)
      problems.push("APP_SECRET is unset or the development default");
    if (e.TYNDAU_DEMO) problems.push("TYNDAU_DEMO=1 is not allowed in production");
    if (!e.SMTP_URL)
      problems.push("SMTP_URL is not set (notifications would only be written to DATA_DIR/outbox)");
    if (problems.length > 0) {
      throw new ConfigError(
        `NODE_ENV=production refuses embedded defaults and default secrets:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
      );
    }
  }

  const transcriptionProvider =
    e.TRANSCRIPTION_PROVIDER === "auto"
      ? e.OPENAI_API_KEY
        ? "openai"
        : "pocketsphinx"
      : e.TRANSCRIPTION_PROVIDER;
  if (e.PAYMENT_GATEWAY === "cloudpayments" && !(e.CLOUDPAYMENTS_PUBLIC_ID && e.CLOUDPAYMENTS_API_SECRET)) {
    throw new ConfigError(
      "PAYMENT_GATEWAY=cloudpayments needs CLOUDPAYMENTS_PUBLIC_ID and CLOUDPAYMENTS_API_SECRET.",
    );
  }
  if (transcriptionProvider === "openai" && !e.OPENAI_API_KEY && !e.OPENAI_BASE_URL) {
    throw new ConfigError("TRANSCRIPTION_PROVIDER=openai needs OPENAI_API_KEY or OPENAI_BASE_URL.");
  }

  let providerPricing: ProviderPricing = {};
  if (e.PROVIDER_PRICING) {
    let json: unknown;
    try {
      json = JSON.parse(e.PROVIDER_PRICING);
    } catch {
      throw new ConfigError("PROVIDER_PRICING is not valid JSON.");
    }
    const parsedPricing = providerPricingSchema.safeParse(json);
    if (!parsedPricing.success)
      throw new ConfigError(`PROVIDER_PRICING is invalid: ${parsedPricing.error.message}`);
    providerPricing = parsedPricing.data;
  }
  const speechkit = e.YANDEX_API_KEY
    ? {
        apiKey: e.YANDEX_API_KEY,
        folderId: e.YANDEX_FOLDER_ID,
        sttUrl: e.SPEECHKIT_URL,
        operationUrl: e.SPEECHKIT_OPERATION_URL,
        model: e.SPEECHKIT_MODEL,
      }
    : undefined;
  // Default speech order: the configured cloud recognizers (the chosen one first), PocketSphinx last.
  const defaultSpeech = [
    ...(transcriptionProvider === "openai" ? ["openai"] : []),
    ...(speechkit ? ["yandex"] : []),
    "pocketsphinx",
  ];

  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    /** Base URL integrations and browsers use to reach this server; used in ingest URLs and signed links. */
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ""),
    dataDir,
    /** Where ffmpeg, ffprobe and pocketsphinx are looked up (PATH). */
    executableSearchPath: e.PATH,
    database,
    storage,
    openai: {
      apiKey: e.OPENAI_API_KEY,
      baseUrl: e.OPENAI_BASE_URL,
      transcribeModel: e.OPENAI_TRANSCRIBE_MODEL,
    },
    transcriptionProvider,
    /** Yandex SpeechKit (speech provider "yandex"), when YANDEX_API_KEY is set. */
    speechkit,
    /** Server-wide fallback orders (accounts may set their own). */
    providerOrder: {
      speech: e.SPEECH_PROVIDERS ? list(e.SPEECH_PROVIDERS) : defaultSpeech,
      analysis: list(e.ANALYSIS_PROVIDERS),
    },
    /** Our own cost of each provider, recorded per call (PROVIDER_PRICING, JSON). */
    providerPricing,
    /** Analysis providers this server can run besides the offline `rules` (each present when configured). */
    analysis: {
      ...(e.OPENAI_API_KEY || e.OPENAI_ANALYSIS_BASE_URL
        ? {
            openai: {
              apiKey: e.OPENAI_API_KEY,
              baseUrl: e.OPENAI_ANALYSIS_BASE_URL ?? e.OPENAI_BASE_URL,
              model: e.OPENAI_ANALYSIS_MODEL,
              responseFormat: e.OPENAI_ANALYSIS_RESPONSE_FORMAT,
            },
          }
        : {}),
      ...(e.OPENAI_COMPATIBLE_BASE_URL
        ? {
            openaiCompatible: {
              apiKey: e.OPENAI_COMPATIBLE_API_KEY,
              baseUrl: e.OPENAI_COMPATIBLE_BASE_URL,
              model: e.OPENAI_COMPATIBLE_MODEL ?? "default",
              responseFormat: e.OPENAI_COMPATIBLE_RESPONSE_FORMAT,
            },
          }
        : {}),
      ...(e.GIGACHAT_AUTH_KEY
        ? {
            gigachat: {
              authKey: e.GIGACHAT_AUTH_KEY,
              scope: e.GIGACHAT_SCOPE,
              model: e.GIGACHAT_MODEL,
              caCertPath: e.GIGACHAT_CA_CERT,
              authUrl: e.GIGACHAT_AUTH_URL,
              apiUrl: e.GIGACHAT_API_URL,
            },
          }
        : {}),
      ...(e.YANDEX_API_KEY && e.YANDEX_FOLDER_ID
        ? {
            yandexgpt: {
              apiKey: e.YANDEX_API_KEY,
              folderId: e.YANDEX_FOLDER_ID,
              modelUri: e.YANDEXGPT_MODEL_URI,
              baseUrl: e.YANDEX_LLM_URL,
            },
          }
        : {}),
    },
    paymentWebhookSecret: e.PAYMENT_WEBHOOK_SECRET ?? DEFAULT_PAYMENT_SECRET,
    /** Where new card payments go (unset: CloudPayments when configured, else the sandbox). */
    paymentGateway: e.PAYMENT_GATEWAY,
    cloudpayments:
      e.CLOUDPAYMENTS_PUBLIC_ID && e.CLOUDPAYMENTS_API_SECRET
        ? {
            publicId: e.CLOUDPAYMENTS_PUBLIC_ID,
            apiSecret: e.CLOUDPAYMENTS_API_SECRET,
            apiBaseUrl: e.CLOUDPAYMENTS_API_URL,
          }
        : undefined,
    /** SMTP for notifications; unset → e-mails are written to DATA_DIR/outbox. */
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM, outboxDir: path.join(dataDir, "outbox") },
    appSecret: e.APP_SECRET ?? DEFAULT_APP_SECRET,
    demo: e.TYNDAU_DEMO ?? embedded,
    logLevel: e.LOG_LEVEL,
    pipelineConcurrency: e.PIPELINE_CONCURRENCY,
    /** On SIGTERM: how long running jobs and requests may take before jobs are handed back and the process exits. */
    shutdownGraceSec: e.SHUTDOWN_GRACE_SEC,
    /** Worker processes (pipeline, scheduler, ingestion) serve /healthz and /readyz here when set. */
    healthPort: e.HEALTH_PORT,
    /** Apply migrations at start (under an advisory lock); false → wait until `npm run db:migrate` has. */
    migrateOnStart: e.MIGRATE_ON_START,
    /** Per-attempt limit of third-party provider requests (unset: each provider's own policy, 300 s). */
    providerTimeoutSec: e.PROVIDER_TIMEOUT_SEC,
    /**
     * Job queue: `jobExpireSec` overrides each queue's own limit on how long one job may run (then it is
     * stopped and retried); a worker renews its jobs' claims every `leaseSec`/4, and a claim that ran out
     * (the worker died) is resumed by another; pg-boss' maintenance runs every `maintenanceSec`.
     */
    queue: {
      jobExpireSec: e.JOB_EXPIRE_SEC,
      maintenanceSec: e.QUEUE_MAINTENANCE_SEC,
      leaseSec: e.QUEUE_LEASE_SEC,
    },
    limits: {
      maxUploadBytes: e.MAX_UPLOAD_BYTES,
      maxCallDurationSec: e.MAX_CALL_DURATION_SEC,
      maxUploadsPerMinute: e.MAX_UPLOADS_PER_MINUTE,
      maxConcurrentDownloads: e.MAX_CONCURRENT_DOWNLOADS,
      bodyTimeoutMs: e.INGEST_BODY_TIMEOUT_MS,
      downloadTimeoutMs: e.INGEST_DOWNLOAD_TIMEOUT_MS,
    },
    /** Bounds of one pull-sources run per source, and how long a run holds a source's lease. */
    pull: {
      maxPagesPerRun: e.PULL_MAX_PAGES_PER_RUN,
      maxItemsPerRun: e.PULL_MAX_ITEMS_PER_RUN,
      leaseSec: e.PULL_LEASE_SEC,
    },
    /** True when both database and storage are the embedded defaults. */
    embedded,
    security: {
      loginMaxFailuresPerEmail: e.LOGIN_MAX_FAILURES_PER_EMAIL,
      loginMaxFailuresPerAddress: e.LOGIN_MAX_FAILURES_PER_ADDRESS,
      loginFailureWindowSec: e.LOGIN_FAILURE_WINDOW_SEC,
      /** Registrations per client address within `registerWindowSec` before 429. */
      registerMaxPerAddress: e.REGISTER_MAX_PER_ADDRESS,
      registerWindowSec: e.REGISTER_WINDOW_SEC,
      /**
       * Bearer token /metrics asks for (METRICS_TOKEN). Unset: /metrics is served to anyone outside
       * production and not at all (404) in production.
       */
      metricsToken: e.METRICS_TOKEN,
      sessionTtlHours: e.SESSION_TTL_HOURS,
      invitationTtlHours: e.INVITATION_TTL_HOURS,
      /** Origins allowed to call the API from a browser (CORS); empty = no cross-origin access. */
      corsOrigins: list(e.CORS_ORIGINS).map((o) => o.replace(/\/$/, "")),
      /** Express `trust proxy`: hop count, "true"/"false", or a list of addresses/subnets. */
      trustProxy: parseTrustProxy(e.TRUST_PROXY),
    },
  };
}

function parseTrustProxy(value: string): boolean | number | string {
  const v = value.trim();
  if (v === "true") return true;
  if (v === "false" || v === "") return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}
