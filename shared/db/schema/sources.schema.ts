import { boolean, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { operatorChannels } from "../../domain/calls.ts";
import { sourceKinds } from "../../domain/sources.ts";
import { accounts } from "./accounts.schema.ts";
import { createdAt, id, tstz } from "./columns.ts";

export const sources = pgTable(
  "sources",
  {
    id: id(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind", { enum: sourceKinds }).notNull(),
    /** SHA-256 of the ingest token; the token itself is shown once. */
    tokenHash: text("token_hash").notNull(),
    /** The signing secret, encrypted with the application key (HMAC verification needs the secret itself). */
    signingSecretEnc: text("signing_secret_enc").notNull(),
    requireSignature: boolean("require_signature").notNull().default(false),
    operatorChannel: text("operator_channel", { enum: operatorChannels }).notNull().default("left"),
    config: jsonb("config").$type<Record<string, unknown>>().notNull().default({}),
    enabled: boolean("enabled").notNull().default(true),
    /** Seconds to wait before processing a received call (e.g. so a CRM can update the call first). */
    processingDelaySec: integer("processing_delay_sec").notNull().default(0),
    /** Pull sources: where the next run continues (connector-specific, opaque). */
    pullCursor: text("pull_cursor"),
    /** Pull sources: a run holds the source until this instant, so two runs never pull it at once. */
    pullLeaseUntil: tstz("pull_lease_until"),
    lastPullAt: tstz("last_pull_at"),
    lastPullErrorCode: text("last_pull_error_code"),
    lastPullErrorMessage: text("last_pull_error_message"),
    lastPullErrorAt: tstz("last_pull_error_at"),
    /** Items the remote listed that could not be taken (download or ingestion failed). */
    pullFailed: integer("pull_failed").notNull().default(0),
    createdAt: createdAt(),
    deletedAt: tstz("deleted_at"),
  },
  (t) => [
    uniqueIndex("sources_token_hash_key").on(t.tokenHash),
    index("sources_account_idx").on(t.accountId),
  ],
);
