import path from "node:path";
import { computeConversationMetrics } from "../../../shared/analytics/conversation-metrics.ts";
import { mergeDialogue } from "../../../shared/analytics/dialogue.ts";
import { findCall, lockCall, updateCall } from "../../../shared/db/repositories/calls.repository.ts";
import type { CallMetrics, CallTranscript } from "../../../shared/domain/calls.ts";
import { analyzeCallJob, type CallJobPayload } from "../../../shared/queue/job-definitions.ts";
import { getAccountStillAcceptingCalls } from "../common/processing-account.ts";
import { withScratchDir } from "../common/scratch-dir.ts";
import { secondsSince } from "../common/step-timing.ts";
import type { PipelineDeps } from "../pipeline-deps.ts";

/**
 * Steps 4–6: split the channels, measure each side's speech from silence detection (not the AI),
 * transcribe each channel and merge the two into one dialogue. The result and the next job are written
 * in one transaction, so a crash anywhere before it just repeats this step.
 */
export async function transcribeCall(
  deps: PipelineDeps,
  job: CallJobPayload,
  signal?: AbortSignal,
): Promise<void> {
  const call = await findCall(deps.database.db, job.accountId, job.callId);
  if (call?.status !== "processing" || call.transcript !== null) return;
  const account = await getAccountStillAcceptingCalls(deps.database.db, job.accountId);
  const durationSec = call.durationSec ?? 0;
  const timings: Record<string, number> = {};
  const lap = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      timings[name] = secondsSince(t0);
    }
  };

  const transcriber = deps.providers.transcriberFor(account ?? {}, { callId: call.id });
  const { metrics, transcript } = await withScratchDir(deps.tmpDir, async (dir) => {
    const original = path.join(dir, "recording");
    await lap("download", () => deps.storage.download(call.recordingKey!, original));
    // Nothing past the billed (decoded) duration is split, measured or transcribed.
    const split = await lap("split", () => deps.audio.split(original, call.channels ?? 1, dir, durationSec));

    if (split.kind === "mono") {
      const result = await lap("transcribe", () =>
        transcriber.transcribe({ filePath: split.mono, durationSec, ...(signal ? { signal } : {}) }),
      );
      const transcript: CallTranscript = {
        language: result.language,
        provider: result.provider,
        segments: mergeDialogue([{ speaker: "unknown", segments: result.segments }]),
      };
      return { metrics: null, transcript };
    }

    const [operatorFile, clientFile] =
      call.operatorChannel === "right" ? [split.right, split.left] : [split.left, split.right];
    const [operatorSpeech, clientSpeech] = await lap("measure", () =>
      Promise.all([
        deps.audio.speechIntervals(operatorFile, durationSec),
        deps.audio.speechIntervals(clientFile, durationSec),
      ]),
    );
    const metrics: CallMetrics = computeConversationMetrics({
      operator: operatorSpeech,
      client: clientSpeech,
      durationSec,
    });
    // The measured speech intervals also place text for recognizers that return none of their own times.
    const [operatorText, clientText] = await lap("transcribe", () =>
      Promise.all([
        transcriber.transcribe({
          filePath: operatorFile,
          durationSec,
          intervals: operatorSpeech,
          ...(signal ? { signal } : {}),
        }),
        transcriber.transcribe({
          filePath: clientFile,
          durationSec,
          intervals: clientSpeech,
          ...(signal ? { signal } : {}),
        }),
      ]),
    );
    const transcript: CallTranscript = {
      language: operatorText.language,
      provider:
        operatorText.provider === clientText.provider
          ? operatorText.provider
          : `${operatorText.provider}+${clientText.provider}`,
      segments: mergeDialogue([
        { speaker: "operator", segments: operatorText.segments },
        { speaker: "client", segments: clientText.segments },
      ]),
    };
    return { metrics, transcript };
  });

  await deps.database.db.transaction(async (tx) => {
    const locked = await lockCall(tx, job.accountId, job.callId);
    if (locked?.status !== "processing" || locked.transcript !== null) return;
    await updateCall(tx, job.accountId, job.callId, {
      metrics,
      transcript,
      stepTimings: { ...locked.stepTimings, ...timings },
    });
    await deps.queue.send(analyzeCallJob, job, { tx });
  });
}
