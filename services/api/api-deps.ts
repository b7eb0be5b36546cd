import type { AudioTools } from "../../shared/audio/audio-tools.ts";
import type { Config } from "../../shared/config/config.ts";
import type { Database } from "../../shared/db/client.ts";
import type { Logger } from "../../shared/logging/logger.ts";
import type { AppMetrics } from "../../shared/observability/metrics.ts";
import type { Mailer } from "../../shared/providers/mail/mailer.ts";
import type { PaymentGateway } from "../../shared/providers/payments/payment-gateway.ts";
import type { ObjectStorage } from "../../shared/providers/storage/object-storage.ts";
import type { JobQueue } from "../../shared/queue/job-queue.ts";

export interface ApiDeps {
  config: Pick<Config, "publicUrl" | "appSecret" | "limits" | "env" | "paymentWebhookSecret" | "security">;
  database: Database;
  storage: ObjectStorage;
  /** Present for local-disk storage: verifies the signed links the API serves itself. */
  verifyFileSignature?: (key: string, expires: number, signature: string) => boolean;
  audio: AudioTools;
  queue: JobQueue;
  metrics: AppMetrics;
  logger: Logger;
  clock: () => Date;
  scratchDir: string;
  mailer: Mailer;
  /** Analysis providers configured on this server (templates may name only these). */
  analysisProviders: readonly string[];
  /** Speech providers configured on this server (accounts may order only these). */
  speechProviders: readonly string[];
  /** Card payment gateways by name (webhooks name theirs); new payments go to `defaultGateway`. */
  gateways: Record<string, PaymentGateway>;
  /** Undefined: no card gateway runs here (production without one): card top-ups answer 503. */
  defaultGateway: string | undefined;
  /** Serve the sandbox checkout page (never in production unless PAYMENT_GATEWAY=sandbox). */
  sandboxCheckout: boolean;
}
