import { z } from "zod";
import { pricePerMinute } from "../../../../shared/billing/tariff.ts";
import { findTariffInForce, type Tariff } from "../../../../shared/db/repositories/ledger.repository.ts";
import { createTemplate, type TemplateRow } from "../../../../shared/db/repositories/templates.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import {
  findLibraryTemplate,
  type LibraryTemplate,
  libraryLanguages,
  libraryTemplates,
  libraryTopics,
} from "../../../../shared/templates/template-library.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import { analysisProviders, assertProviderConfigured } from "./templates.routes.ts";

/** What a library template marked `llm` runs on when the owner names no provider (issue 5, item 3). */
export const DEFAULT_LLM_PROVIDER = "openai";

const libraryQuery = z.object({ language: z.enum(libraryLanguages).optional() });
const copyParams = z.object({ id: z.string().min(1).max(100) });
const copyBody = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  provider: z.enum(analysisProviders).optional(),
  active: z.boolean().default(true),
});

const questionDto = z.object({
  key: z.string(),
  text: z.string(),
  type: z.enum(["boolean", "score", "choice", "text"]),
  options: z.array(z.string()).optional(),
  scale: z.object({ min: z.number().int(), max: z.number().int() }).optional(),
  keywords: z
    .object({ speaker: z.enum(["operator", "client", "any"]).optional(), any: z.array(z.string()) })
    .optional(),
});
const libraryItemDto = z.object({
  id: z.string(),
  language: z.enum(libraryLanguages),
  topic: z.enum(libraryTopics),
  name: z.string(),
  description: z.string(),
  provider: z.enum(["rules", "llm"]),
  questions: z.array(questionDto),
  /** What the template would add to a call's price per minute once copied and active. */
  pricePerMinute: z.string(),
  currency: z.string(),
});
/** The same shape POST /api/v1/templates answers with. */
const templateDto = z.object({
  id: z.uuid(),
  name: z.string(),
  provider: z.string(),
  active: z.boolean(),
  version: z.number().int(),
  questions: z.array(z.unknown()),
  pricePerMinute: z.string(),
  currency: z.string(),
  updatedAt: z.string(),
});

/** A template's own price per minute: its base plus its questions (what templates.routes.ts shows). */
const ownPrice = (tariff: Tariff, template: { questions: readonly unknown[] }) =>
  pricePerMinute(tariff, [template]).minus(tariff.transcriptionPerMinute).toFixed(2);

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

export function templateLibraryRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;

  return [
    defineRoute({
      method: "get",
      path: "/api/v1/templates/library",
      summary: "Built-in templates in Russian, Kazakh and English that an owner can copy.",
      tag: "templates",
      access: ["owner", "manager"],
      query: libraryQuery,
      responses: {
        200: { description: "Library templates", schema: z.object({ items: z.array(libraryItemDto) }) },
      },
      handler: async ({ query, auth }) => {
        const currency = auth.account.currency;
        const tariff = await findTariffInForce(db, currency, deps.clock());
        const items = libraryTemplates
          .filter((t) => !query.language || t.language === query.language)
          .map((t) => ({ ...t, pricePerMinute: ownPrice(tariff, t), currency }));
        return { status: 200, body: { items } };
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/templates/library/{id}/copy",
      summary:
        'Copy a library template into the account as a new template; "llm" templates run on the provider named, by default openai.',
      tag: "templates",
      access: ["owner"],
      params: copyParams,
      body: copyBody,
      responses: {
        201: { description: "Created", schema: templateDto },
        400: { description: "The provider cannot run this template" },
        404: { description: "No such library template" },
      },
      handler: async ({ params, body, auth }) => {
        const source = findLibraryTemplate(params.id);
        if (!source) throw new AppError("NOT_FOUND", "Library template not found.");
        const provider = copyProvider(source, body.provider);
        assertProviderConfigured(deps, provider);
        const t: TemplateRow = await createTemplate(db, {
          accountId: auth.account.id,
          name: body.name ?? source.name,
          provider,
          active: body.active,
          // The library is a module constant shared by every request: the copy owns its questions.
          questions: structuredClone(source.questions),
        });
        const currency = auth.account.currency;
        const tariff = await findTariffInForce(db, currency, deps.clock());
        return {
          status: 201,
          body: {
            id: t.id,
            name: t.name,
            provider: t.provider,
            active: t.active,
            version: t.version,
            questions: t.questions,
            pricePerMinute: ownPrice(tariff, t),
            currency,
            updatedAt: t.updatedAt.toISOString(),
          },
        };
      },
    }),
  ];
}
