import type { Db } from "../db/client.ts";
import type { CallRow } from "../db/repositories/calls.repository.ts";

/**
 * The pipeline's billing seam (PRODUCT.md steps 3 and 8). The pipeline calls `reserve` inside the
 * transaction that moves a probed call on, `settle` inside the one that marks it done and `release` inside
 * the one that fails it. Each must be idempotent per call: jobs are retried.
 */
export interface CallBilling {
  /** `awaiting_funds`: the call must wait for a top-up; nothing else was written. */
  reserve(tx: Db, call: CallRow, now: Date): Promise<{ outcome: "reserved" | "free" | "awaiting_funds" }>;
  settle(tx: Db, call: CallRow, now: Date): Promise<void>;
  release(tx: Db, call: CallRow, now: Date): Promise<void>;
}
