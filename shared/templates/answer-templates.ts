import type { Database } from "../db/client.ts";
import type { AccountRow } from "../db/repositories/accounts.repository.ts";
import { type CallRow, saveAnalysis } from "../db/repositories/calls.repository.ts";
import type { TemplateVersionRow } from "../db/repositories/templates.repository.ts";
import { isAppError } from "../errors/app-error.ts";
import type { Logger } from "../logging/logger.ts";
import { maskDialogue } from "../privacy/mask-personal-data.ts";
import type { ProviderRegistry } from "../providers/registry/provider-registry.ts";

export interface AnswerTemplatesDeps {
  database: Database;
  providers: Pick<ProviderRegistry, "analyzerFor">;
  logger: Logger;
}

/**
 * Answers each template about the call and stores each answer set as its own analysis (keyed by call,
 * template and version: a retry overwrites, an edited template adds a new version beside the old one).
 * Transient provider failures are thrown (the step retries); permanent ones are recorded per template.
 */
export async function answerTemplates(
  deps: AnswerTemplatesDeps,
  call: CallRow,
  /** The call's account as the caller read it: its provider order and masking setting apply. */
  account: Pick<AccountRow, "id" | "analysisProviders" | "maskPersonalData"> | undefined,
  templates: readonly TemplateVersionRow[],
): Promise<void> {
  if (!call.transcript) throw new Error(`call ${call.id} has no transcript to analyze`);
  const transcript = call.transcript;
  const job = { accountId: call.accountId, callId: call.id };
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
