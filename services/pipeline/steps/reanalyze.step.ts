import type { z } from "zod";
import { chargeHold, releaseHold } from "../../../shared/billing/holds.ts";
import { getAccount } from "../../../shared/db/repositories/accounts.repository.ts";
import { findCall } from "../../../shared/db/repositories/calls.repository.ts";
import { findTransactionEntries } from "../../../shared/db/repositories/ledger.repository.ts";
import { findTemplates } from "../../../shared/db/repositories/templates.repository.ts";
import { isAppError } from "../../../shared/errors/app-error.ts";
import type { reanalyzeCallJob } from "../../../shared/queue/job-definitions.ts";
import type { JobContext } from "../../../shared/queue/job-queue.ts";
import { answerTemplates } from "../../../shared/templates/answer-templates.ts";
import type { PipelineDeps } from "../pipeline-deps.ts";

type ReanalyzePayload = z.infer<typeof reanalyzeCallJob.payload>;

/**
 * Runs an owner's reanalysis with the templates' current versions (older versions' answers stay), then
 * charges its hold; a permanent failure (or the last attempt of a transient one) releases it instead.
 */
export async function reanalyzeCall(
  deps: PipelineDeps,
  job: ReanalyzePayload,
  context: Pick<JobContext, "isLastAttempt">,
) {
  const hold = {
    accountId: job.accountId,
    ref: `reanalysis:${job.runId}`,
    currency: job.currency,
    occurredAt: deps.clock(),
  };
  const holdExists =
    (await findTransactionEntries(deps.database.db, `hold:${hold.ref}`, job.currency)) !== undefined;
  try {
    const call = await findCall(deps.database.db, job.accountId, job.callId);
    if (!call?.transcript) throw new Error(`call ${job.callId} has no transcript`);
    const templates = (await findTemplates(deps.database.db, job.accountId)).filter((t) =>
      job.templateIds.includes(t.id),
    );
    const account = await getAccount(deps.database.db, job.accountId);
    await answerTemplates(deps, call, account, templates);
    if (holdExists) await deps.database.db.transaction((tx) => chargeHold(tx, hold));
  } catch (error) {
    if (isAppError(error) && error.retryable && !context.isLastAttempt) throw error;
    deps.logger.warn(
      { callId: job.callId, runId: job.runId, err: error },
      "reanalysis failed; its hold is released",
    );
    if (holdExists) await deps.database.db.transaction((tx) => releaseHold(tx, hold));
  }
}
