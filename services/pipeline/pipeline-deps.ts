import type { AudioTools } from "../../shared/audio/audio-tools.ts";
import type { CallBilling } from "../../shared/billing/call-billing.ts";
import type { Database } from "../../shared/db/client.ts";
import type { Logger } from "../../shared/logging/logger.ts";
import type { Mailer } from "../../shared/providers/mail/mailer.ts";
import type { ProviderRegistry } from "../../shared/providers/registry/provider-registry.ts";
import type { ObjectStorage } from "../../shared/providers/storage/object-storage.ts";
import type { JobQueue } from "../../shared/queue/job-queue.ts";

export interface PipelineDeps {
  database: Database;
  storage: ObjectStorage;
  audio: AudioTools;
  /** Speech and analysis providers routed per account (order, fallback, retries, breakers, usage). */
  providers: ProviderRegistry;
  billing: CallBilling;
  mailer: Mailer;
  queue: JobQueue;
  logger: Logger;
  clock: () => Date;
  limits: { maxCallDurationSec: number };
  /** Where per-job scratch directories are made. */
  tmpDir: string;
}
