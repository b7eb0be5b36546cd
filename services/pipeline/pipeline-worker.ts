import { isTransientDbError } from "../../shared/db/transient-errors.ts";
import { AppError, isAppError, isInterruption } from "../../shared/errors/app-error.ts";
import {
  analyzeCallJob,
  type CallJobPayload,
  probeCallJob,
  reanalyzeCallJob,
  resumeAwaitingCallsJob,
  transcribeCallJob,
} from "../../shared/queue/job-definitions.ts";
import type { JobContext } from "../../shared/queue/job-queue.ts";
import { isShuttingDown } from "../../shared/runtime/process.ts";
import type { PipelineDeps } from "./pipeline-deps.ts";
import { analyzeCall } from "./steps/analyze.step.ts";
import { failCall } from "./steps/fail-call.step.ts";
import { probeCall } from "./steps/probe.step.ts";
import { reanalyzeCall } from "./steps/reanalyze.step.ts";
import { resumeAwaitingCalls } from "./steps/resume-awaiting.step.ts";
import { transcribeCall } from "./steps/transcribe.step.ts";

type Step = (deps: PipelineDeps, job: CallJobPayload, signal?: AbortSignal) => Promise<void>;

/**
 * Runs one step with the pipeline's failure policy: transient errors are thrown back to the queue to be
 * retried with backoff; permanent ones, and transient ones on the last attempt, end the call as failed.
 */
export async function runStep(
  deps: PipelineDeps,
  step: Step,
  stepName: string,
  job: CallJobPayload,
  context: Pick<JobContext, "isLastAttempt" | "jobId" | "retryCount"> & { signal?: AbortSignal },
): Promise<void> {
  const log = deps.logger.child({
    callId: job.callId,
    accountId: job.accountId,
    jobId: context.jobId,
    step: stepName,
  });
  try {
    await step(deps, job, context.signal);
    log.debug("step done");
  } catch (error) {
    // Cut off by a stop (the job was handed back, or a child process got the terminal's Ctrl-C): the
    // queue resumes the step after the restart; the call and its hold stay as they are.
    if (context.signal?.aborted || isInterruption(error)) {
      log.info({ code: isAppError(error) ? error.code : undefined }, "step interrupted; it will resume");
      throw error;
    }
    // A database that is briefly unreachable (restart, failover) is retried like any transient error.
    const retryable = (isAppError(error) && error.retryable) || isTransientDbError(error);
    if (retryable && !context.isLastAttempt) {
      log.warn(
        { code: isAppError(error) ? error.code : undefined, retryCount: context.retryCount },
        "step will retry",
      );
      throw error;
    }
    // A child process that got the terminal's Ctrl-C can fail before our own SIGINT handler has run, and
    // then looks like a bad file: a failure seen just as the server stops is taken for the stop's doing.
    if (await stopRequested()) {
      log.info(
        { code: isAppError(error) ? error.code : undefined },
        "step cut off by the stop; it will resume",
      );
      throw new AppError("INTERNAL", "The step was cut off by a stop.", { interrupted: true, cause: error });
    }
    if (isAppError(error)) log.warn({ code: error.code }, "call failed");
    else log.error({ err: error }, "call failed on an unexpected error");
    await failCall(deps, job, error);
  }
}

/** True when a stop signal has arrived, or arrives within a moment (signals and child exits race). */
async function stopRequested(): Promise<boolean> {
  if (isShuttingDown()) return true;
  await new Promise((resolve) => setTimeout(resolve, 300));
  return isShuttingDown();
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
