import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../client.ts";
import { idempotencyKeys } from "../schema/index.ts";

export type IdempotencyClaim =
  | { kind: "claimed" }
  | { kind: "replay"; status: number; response: unknown }
  | { kind: "in_progress" }
  | { kind: "mismatch" };

/** Claims a key for this request, or says how an earlier request with the same key went. */
export async function claimIdempotencyKey(
  db: Db,
  input: { accountId: string; key: string; requestHash: string },
): Promise<IdempotencyClaim> {
  const [inserted] = await db
    .insert(idempotencyKeys)
    .values(input)
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (inserted) return { kind: "claimed" };
  const [row] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.accountId, input.accountId), eq(idempotencyKeys.key, input.key)));
  if (!row) return claimIdempotencyKey(db, input); // released between the two statements
  if (row.requestHash !== input.requestHash) return { kind: "mismatch" };
  if (row.status === null) return { kind: "in_progress" };
  return { kind: "replay", status: row.status, response: row.response };
}

export async function completeIdempotencyKey(
  db: Db,
  input: { accountId: string; key: string; status: number; response: unknown },
): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({ status: input.status, response: input.response ?? null })
    .where(
      and(
        eq(idempotencyKeys.accountId, input.accountId),
        eq(idempotencyKeys.key, input.key),
        isNull(idempotencyKeys.status),
      ),
    );
}

/** Lets the key be used again (the first request failed on our side, so nothing happened). */
export async function releaseIdempotencyKey(db: Db, accountId: string, key: string): Promise<void> {
  await db
    .delete(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.accountId, accountId),
        eq(idempotencyKeys.key, key),
        isNull(idempotencyKeys.status),
      ),
    );
}
