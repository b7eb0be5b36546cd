import { z } from "zod";
import { findTariffInForce } from "../../../../shared/db/repositories/ledger.repository.ts";
import { analysisProviders } from "../../../../shared/templates/analysis-providers.ts";
import { copyLibraryTemplate } from "../../../../shared/templates/copy-library-template.ts";
import {
  libraryLanguages,
  libraryTemplates,
  libraryTopics,
} from "../../../../shared/templates/template-library.ts";
import { templateOwnPrice } from "../../../../shared/templates/template-price.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import { templateDto, toTemplateDto } from "./template.dto.ts";

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
          .map((t) => ({ ...t, pricePerMinute: templateOwnPrice(tariff, t).toFixed(2), currency }));
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
        const t = await copyLibraryTemplate(deps, {
          accountId: auth.account.id,
          libraryId: params.id,
          ...body,
        });
        const currency = auth.account.currency;
        const tariff = await findTariffInForce(db, currency, deps.clock());
        return { status: 201, body: toTemplateDto(t, tariff, currency) };
      },
    }),
  ];
}
