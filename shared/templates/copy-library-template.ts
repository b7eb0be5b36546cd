import type { Database } from "../db/client.ts";
import { createTemplate, type TemplateRow } from "../db/repositories/templates.repository.ts";
import { AppError } from "../errors/app-error.ts";
import { analysisProviders, assertProviderConfigured } from "./analysis-providers.ts";
import { findLibraryTemplate, type LibraryTemplate } from "./template-library.ts";

/** What a library template marked `llm` runs on when the owner names no provider (issue 5, item 3). */
export const DEFAULT_LLM_PROVIDER = "openai";

/**
 * Copies a built-in template into the account as a new template of its own. NOT_FOUND for an unknown
 * library id; VALIDATION_FAILED for a provider that cannot run it or is not configured here.
 */
export async function copyLibraryTemplate(
  deps: { database: Database; analysisProviders: readonly string[] },
  input: {
    accountId: string;
    libraryId: string;
    name?: string | undefined;
    provider?: string | undefined;
    active: boolean;
  },
): Promise<TemplateRow> {
  const source = findLibraryTemplate(input.libraryId);
  if (!source) throw new AppError("NOT_FOUND", "Library template not found.");
  const provider = copyProvider(source, input.provider);
  assertProviderConfigured(deps.analysisProviders, provider);
  return createTemplate(deps.database.db, {
    accountId: input.accountId,
    name: input.name ?? source.name,
    provider,
    active: input.active,
    // The library is a module constant shared by every request: the copy owns its questions.
    questions: structuredClone(source.questions),
  });
}

/** The provider a copy runs on, or a validation error the owner can act on. */
function copyProvider(template: LibraryTemplate, requested: string | undefined): string {
  const provider = requested ?? (template.provider === "llm" ? DEFAULT_LLM_PROVIDER : "rules");
  const invalid = (message: string) =>
    new AppError("VALIDATION_FAILED", message, { details: [{ path: "body.provider", message }] });
  if (!(analysisProviders as readonly string[]).includes(provider)) {
    throw invalid(
      `This server cannot run the "${provider}" analysis provider; name one of: ${analysisProviders.join(", ")}.`,
    );
  }
  // The rules provider answers only boolean questions with keywords; anything else would stay empty.
  if (provider === "rules" && template.questions.some((q) => q.type !== "boolean" || !q.keywords)) {
    throw invalid(
      "This template needs a language-model provider: the rules provider answers only keyword questions.",
    );
  }
  return provider;
}
