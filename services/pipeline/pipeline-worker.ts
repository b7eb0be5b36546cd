import { isTransientDbError } from "../../shared/db/transient-errors.ts";
import { isAppError } from "../../shared/errors/app-error.ts";
import {
  analyzeCallJob,
  type CallJobPayload,
  probeCallJob,
  reanalyzeCallJob,
  resumeAwaitingCallsJob,
  transcribeCallJob,
} from "../../shared/queue/job-definitions.ts";
import type { JobContext } from "../../shared/queue/job-queue.ts";
import type { PipelineDeps } from "./pipeline-deps.ts";
import { analyzeCall } from "./steps/analyze.step.ts";
import { failCall } from "./steps/fail-call.step.ts";
import { probeCall } from "./steps/probe.step.ts";
import { reanalyzeCall } from "./steps/reanalyze.step.ts";
import { resumeAwaitingCalls } from "./steps/resume-awaiting.step.ts";
import { transcribeCall } from "./steps/transcribe.step.ts";

type Step = (deps: PipelineDeps, job: CallJobPayload) => Promise<void>;

/**
 * Runs one step with the pipeline's failure policy: transient errors are thrown back to the queue to be
 * retried with backoff; permanent ones, and transient ones on the last attempt, end the call as failed.
 */
export async function runStep(
  deps: PipelineDeps,
  step: Step,
  stepName: string,
  job: CallJobPayload,
  context: Pick<JobContext, "isLastAttempt" | "jobId" | "retryCount">,
): Promise<void> {
  const log = deps.logger.child({
    callId: job.callId,
    accountId: job.accountId,
    jobId: context.jobId,
    step: stepName,
  });
  try {
    await step(deps, job);
    log.debug("step done");
  } catch (error) {
    // A database that is briefly unreachable (restart, failover) is retried like any transient error.
    const retryable = (isAppError(error) && error.retryable) || isTransientDbError(error);
    if (retryable && !context.isLastAttempt) {
      log.warn(
        { code: isAppError(error) ? error.code : undefined, retryCount: context.retryCount },
        "step will retry",
      );
      throw error;
    }
    if (isAppError(error)) log.warn({ code: error.code }, "call failed");
    else log.error({ err: error }, "call failed on an unexpected error");
    await failCall(deps, job, error);
  }
}

export async function startPipelineWorkers(
  deps: PipelineDeps,
  options: { concurrency: number },
): Promise<void> {
  const steps: [typeof probeCallJob, Step, string][] = [
    [probeCallJob, probeCall, "probe"],
    [transcribeCallJob, transcribeCall, "transcribe"],
    [analyzeCallJob, analyzeCall, "analyze"],
  ];
  for (const [definition, step, name] of steps) {
    await deps.queue.register(definition);
    await deps.queue.work(definition, { concurrency: options.concurrency }, (payload, context) =>
      runStep(deps, step, name, payload, context),
    );
  }
  await deps.queue.register(reanalyzeCallJob);
  await deps.queue.work(reanalyzeCallJob, { concurrency: options.concurrency }, (payload, context) =>
    reanalyzeCall(deps, payload, context),
  );
  await deps.queue.register(resumeAwaitingCallsJob);
  await deps.queue.work(resumeAwaitingCallsJob, { concurrency: 1 }, async ({ accountId }) => {
    await resumeAwaitingCalls(deps, accountId);
  });
}
