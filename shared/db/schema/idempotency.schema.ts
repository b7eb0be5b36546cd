import { integer, jsonb, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { createdAt } from "./columns.ts";

/**
 * `Idempotency-Key` requests (billing actions): the first request with a key runs and its answer is kept;
 * a repeat with the same request gets the same answer, one with a different request gets 409.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    /** The caller's account: keys are scoped per account. */
    accountId: uuid("account_id").notNull(),
    key: text("key").notNull(),
    /** SHA-256 of method, route and canonical body. */
    requestHash: text("request_hash").notNull(),
    /** Null while the first request is still running. */
    status: integer("status"),
    response: jsonb("response"),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.key] })],
);
