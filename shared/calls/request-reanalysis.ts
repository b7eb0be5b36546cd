import { assertAccountAcceptsCalls } from "../accounts/assert-account-accepts-calls.ts";
import { startReanalysis } from "../billing/reanalysis.ts";
import type { Database, Db } from "../db/client.ts";
import type { AccountRow } from "../db/repositories/accounts.repository.ts";
import { findTemplates } from "../db/repositories/templates.repository.ts";
import type { JobQueue } from "../queue/job-queue.ts";
import { getLockedCall } from "./get-call.ts";

export type ReanalysisRequested = Awaited<ReturnType<typeof startReanalysis>>;

/**
 * An owner asks for a processed call to be answered again by the active templates: its cost is held and
 * the job queued in one transaction, with the call's row locked. `commitWith` runs in that transaction
 * too, so what it writes (the Idempotency-Key's answer) commits with the hold or not at all.
 */
export async function requestReanalysis<T>(
  deps: { database: Database; queue: Pick<JobQueue, "send">; clock: () => Date },
  input: { account: AccountRow; callId: string },
  commitWith: (tx: Db, requested: ReanalysisRequested) => Promise<T>,
): Promise<T> {
  const now = deps.clock();
  return deps.database.db.transaction(async (tx) => {
    const call = await getLockedCall(tx, input.account.id, input.callId);
    assertAccountAcceptsCalls(input.account);
    const templates = await findTemplates(tx, input.account.id, { activeOnly: true });
    const requested = await startReanalysis(tx, deps.queue, { account: input.account, call, templates, now });
    return commitWith(tx, requested);
  });
}
