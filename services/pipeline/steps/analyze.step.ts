import { findCall, lockCall, updateCall } from "../../../shared/db/repositories/calls.repository.ts";
import { findTemplates, findTemplateVersions } from "../../../shared/db/repositories/templates.repository.ts";
import type { CallJobPayload } from "../../../shared/queue/job-definitions.ts";
import { answerTemplates } from "../../../shared/templates/answer-templates.ts";
import { getAccountStillAcceptingCalls } from "../common/processing-account.ts";
import { secondsSince } from "../common/step-timing.ts";
import type { PipelineDeps } from "../pipeline-deps.ts";

/**
 * Steps 7–8: answers exactly the template versions the call was priced with (PRODUCT.md "What is priced
 * is what is analysed"; each answer set stored as its own analysis, keyed by call, template and version,
 * so a retry overwrites rather than duplicates), then settles the reservation and marks the call done in
 * one transaction. A template activated or edited after the reservation is not analysed (nor charged).
 */
export async function analyzeCall(deps: PipelineDeps, job: CallJobPayload): Promise<void> {
  const call = await findCall(deps.database.db, job.accountId, job.callId);
  if (call?.status !== "processing" || call.transcript === null) return;
  const account = await getAccountStillAcceptingCalls(deps.database.db, job.accountId);
  const started = performance.now();
  // Null only for a call priced before priced templates were recorded (or by a billing that prices
  // nothing): those keep the earlier rule, the templates active now.
  const templates = call.pricedTemplates
    ? await findTemplateVersions(deps.database.db, job.accountId, call.pricedTemplates)
    : await findTemplates(deps.database.db, job.accountId, { activeOnly: true });
  await answerTemplates(deps, call, account, templates);

  await deps.database.db.transaction(async (tx) => {
    const locked = await lockCall(tx, job.accountId, job.callId);
    if (locked?.status !== "processing") return;
    const now = deps.clock();
    await deps.billing.settle(tx, locked, now);
    await updateCall(tx, job.accountId, job.callId, {
      status: "done",
      processedAt: now,
      stepTimings: { ...locked.stepTimings, analyze: secondsSince(started) },
    });
  });
}
