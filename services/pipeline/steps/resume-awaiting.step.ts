import { accountAcceptsCalls } from "../../../shared/accounts/assert-account-accepts-calls.ts";
import { getAccount } from "../../../shared/db/repositories/accounts.repository.ts";
import { lockOldestAwaitingCall, updateCall } from "../../../shared/db/repositories/calls.repository.ts";
import { transcribeCallJob } from "../../../shared/queue/job-definitions.ts";
import type { PipelineDeps } from "../pipeline-deps.ts";

/**
 * After a top-up (PRODUCT.md "Suspension"): reserves the account's waiting calls oldest first, each in
 * its own transaction, and hands each reserved one to transcription; stops at the first call the money
 * does not cover, so later (cheaper) calls never overtake earlier ones. An account that may not process
 * (blocked, closed, deletion pending) reserves nothing: its calls keep waiting until it may again.
 */
export async function resumeAwaitingCalls(
  deps: PipelineDeps,
  accountId: string,
): Promise<{ resumed: number }> {
  let resumed = 0;
  if (!accountAcceptsCalls(await getAccount(deps.database.db, accountId))) return { resumed };
  for (;;) {
    const outcome = await deps.database.db.transaction(async (tx) => {
      const call = await lockOldestAwaitingCall(tx, accountId);
      if (!call) return "none" as const;
      const { outcome } = await deps.billing.reserve(tx, call, deps.clock());
      if (outcome === "awaiting_funds") return "stop" as const;
      await updateCall(tx, accountId, call.id, { status: "processing" });
      await deps.queue.send(transcribeCallJob, { accountId, callId: call.id }, { tx });
      return "resumed" as const;
    });
    if (outcome !== "resumed") break;
    resumed += 1;
  }
  if (resumed > 0) deps.logger.info({ accountId, resumed }, "calls resumed after a top-up");
  return { resumed };
}
