import { sql } from "drizzle-orm";
import { check, doublePrecision, index, integer, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { providerKinds, providerOutcomes } from "../../domain/providers.ts";
import { accounts } from "./accounts.schema.ts";
import { calls } from "./calls.schema.ts";
import { createdAt, currencyCode, id, money } from "./columns.ts";

/**
 * One row per provider used for one piece of work (a channel's transcription, a template's analysis):
 * what the provider consumed and what it cost us. This is our cost, never the customer's price (that
 * is the call's cost_amount). A fallback writes one row per provider tried.
 */
export const providerUsage = pgTable(
  "provider_usage",
  {
    id: id(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    /** Kept when the call is deleted (retention): what we paid stays on the books. */
    callId: uuid("call_id").references(() => calls.id, { onDelete: "set null" }),
    kind: text("kind", { enum: providerKinds }).notNull(),
    /** The registry's provider name ("openai", "yandex", "pocketsphinx", "rules", …). */
    provider: text("provider").notNull(),
    /** Seconds of audio the provider processed (speech); a measurement, not money. */
    audioSec: doublePrecision("audio_sec").notNull().default(0),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    ourCost: money("our_cost").notNull(),
    /** Currency of our_cost: the provider's price list currency, not the account's. */
    currency: currencyCode("currency").notNull(),
    /** Requests sent to this provider for this piece of work, retries included. */
    attempts: integer("attempts").notNull(),
    outcome: text("outcome", { enum: providerOutcomes }).notNull(),
    /** AppError code of the failure that made us give up on this provider. */
    errorCode: text("error_code"),
    createdAt: createdAt(),
  },
  (t) => [
    index("provider_usage_account_created_idx").on(t.accountId, t.createdAt),
    index("provider_usage_call_idx").on(t.callId),
    check("provider_usage_currency_check", sql`${t.currency} in ('KZT','RUB','USD')`),
    check("provider_usage_cost_nonnegative", sql`${t.ourCost} >= 0`),
    check(
      "provider_usage_counts_nonnegative",
      sql`${t.attempts} >= 0 and ${t.inputTokens} >= 0 and ${t.outputTokens} >= 0 and ${t.audioSec} >= 0`,
    ),
  ],
);
