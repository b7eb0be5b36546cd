import { getAccount } from "../../../shared/db/repositories/accounts.repository.ts";
import type { CallRow } from "../../../shared/db/repositories/calls.repository.ts";
import {
  findCall,
  lockCall,
  saveAnalysis,
  updateCall,
} from "../../../shared/db/repositories/calls.repository.ts";
import {
  findTemplates,
  findTemplateVersions,
  type TemplateVersionRow,
} from "../../../shared/db/repositories/templates.repository.ts";
import { isAppError } from "../../../shared/errors/app-error.ts";
import { maskDialogue } from "../../../shared/privacy/mask-personal-data.ts";
import type { CallJobPayload } from "../../../shared/queue/job-definitions.ts";
import type { PipelineDeps } from "../pipeline-deps.ts";
import { round3 } from "./probe.step.ts";
import { refuseStoppedAccount } from "./transcribe.step.ts";

/**
 * Steps 7–8: answers exactly the template versions the call was priced with (PRODUCT.md "What is priced
 * is what is analysed"; each answer set stored as its own analysis, keyed by call, template and version,
 * so a retry overwrites rather than duplicates), then settles the reservation and marks the call done in
 * one transaction. A template activated or edited after the reservation is not analysed (nor charged).
 */
export async function analyzeCall(deps: PipelineDeps, job: CallJobPayload): Promise<void> {
  const call = await findCall(deps.database.db, job.accountId, job.callId);
  if (call?.status !== "processing" || call.transcript === null) return;
  await refuseStoppedAccount(deps, job);
  const started = performance.now();
  // Null only for a call priced before priced templates were recorded (or by a billing that prices
  // nothing): those keep the earlier rule, the templates active now.
  const templates = call.pricedTemplates
    ? await findTemplateVersions(deps.database.db, job.accountId, call.pricedTemplates)
    : await findTemplates(deps.database.db, job.accountId, { activeOnly: true });
  await answerTemplates(deps, call, templates);

  await deps.database.db.transaction(async (tx) => {
    const locked = await lockCall(tx, job.accountId, job.callId);
    if (locked?.status !== "processing") return;
    const now = deps.clock();
    await deps.billing.settle(tx, locked, now);
    await updateCall(tx, job.accountId, job.callId, {
      status: "done",
      processedAt: now,
      stepTimings: { ...locked.stepTimings, analyze: round3((performance.now() - started) / 1000) },
    });
  });
}

/**
 * Answers each template about the call and stores each answer set as its own analysis (keyed by call,
 * template and version: a retry overwrites, an edited template adds a new version beside the old one).
 * Transient provider failures are thrown (the step retries); permanent ones are recorded per template.
 */
export async function answerTemplates(
  deps: PipelineDeps,
  call: CallRow,
  templates: readonly TemplateVersionRow[],
): Promise<void> {
  if (!call.transcript) throw new Error(`call ${call.id} has no transcript to analyze`);
  const transcript = call.transcript;
  const job = { accountId: call.accountId, callId: call.id };
  const account = await getAccount(deps.database.db, call.accountId);
  // Personal data is masked before a transcript leaves for any model; the offline rules stay local.
  let masked: typeof transcript.segments | undefined;
  const dialogueFor = (provider: string) => {
    if (provider === "rules" || account?.maskPersonalData === false) return transcript.segments;
    if (!masked) {
      const result = maskDialogue(transcript.segments, { locale: localeOf(transcript.language) });
      masked = result.lines;
      if (result.found.length > 0)
        deps.logger.info({ callId: call.id, masked: result.found }, "personal data masked");
    }
    return masked;
  };

  for (const template of templates) {
    const analyzer = deps.providers.analyzerFor(account ?? {}, template.provider, { callId: call.id });
    const base = {
      accountId: job.accountId,
      callId: job.callId,
      templateId: template.id,
      templateVersion: template.version,
      templateName: template.name,
      provider: template.provider,
    };
    try {
      const result = await analyzer.analyze({
        template: {
          id: template.id,
          version: template.version,
          name: template.name,
          questions: template.questions,
        },
        dialogue: dialogueFor(template.provider),
        language: transcript.language,
      });
      // Evidence quotes the customer's own transcript, not the masked copy the provider saw.
      const original = (e: { speaker: string; startSec: number; text: string }) =>
        transcript.segments.find((seg) => seg.startSec === e.startSec && seg.speaker === e.speaker)?.text ??
        e.text;
      const answers = result.answers.map((a) => ({
        ...a,
        evidence: a.evidence.map((e) => ({ ...e, text: original(e) })),
      }));
      // The provider that answered (a fallback when the template's own one failed or is unavailable).
      await saveAnalysis(deps.database.db, { ...base, provider: result.provider, status: "done", answers });
    } catch (error) {
      // A transient provider failure retries the whole step; a permanent one is recorded on this template only.
      if (isAppError(error) && error.retryable) throw error;
      await saveAnalysis(deps.database.db, {
        ...base,
        status: "failed",
        errorCode: isAppError(error) ? error.code : "ANALYSIS_FAILED",
        errorMessage: isAppError(error) ? error.message : "The analysis failed unexpectedly.",
      });
      if (!isAppError(error)) deps.logger.error({ err: error, callId: job.callId }, "analyzer crashed");
    }
  }
}

function localeOf(language: string): "ru" | "kk" | "en" | undefined {
  return language === "ru" || language === "kk" || language === "en" ? language : undefined;
}
