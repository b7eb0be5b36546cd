import { z } from "zod";
import { findTariffInForce } from "../../../../shared/db/repositories/ledger.repository.ts";
import {
  createTemplate,
  deleteTemplate,
  findTemplate,
  findTemplates,
  type TemplateRow,
  updateTemplate,
} from "../../../../shared/db/repositories/templates.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import type { Currency } from "../../../../shared/money/money.ts";
import {
  analysisProviders,
  assertProviderConfigured,
} from "../../../../shared/templates/analysis-providers.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import { templateDto, toTemplateDto } from "./template.dto.ts";

const question = z
  .object({
    key: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,63}$/, "lower-case letters, digits and _ , starting with a letter"),
    text: z.string().trim().min(1).max(1000),
    type: z.enum(["boolean", "score", "choice", "text"]),
    options: z.array(z.string().trim().min(1).max(200)).min(2).max(20).optional(),
    scale: z.object({ min: z.number().int(), max: z.number().int() }).optional(),
    keywords: z
      .object({
        speaker: z.enum(["operator", "client", "any"]).default("any"),
        any: z.array(z.string().trim().min(1).max(200)).min(1).max(100),
      })
      .optional(),
  })
  .superRefine((q, ctx) => {
    if (q.type === "choice" && !q.options)
      ctx.addIssue({ code: "custom", message: "choice questions need options", path: ["options"] });
    if (q.type === "score" && (!q.scale || q.scale.min >= q.scale.max)) {
      ctx.addIssue({
        code: "custom",
        message: "score questions need a scale with min < max",
        path: ["scale"],
      });
    }
  });

const questions = z
  .array(question)
  .min(1)
  .max(50)
  .refine((qs) => new Set(qs.map((q) => q.key)).size === qs.length, "question keys must be unique");

const createBody = z.object({
  name: z.string().trim().min(1).max(200),
  provider: z.enum(analysisProviders).default("rules"),
  active: z.boolean().default(true),
  questions,
});
const patchBody = createBody.partial().refine((b) => Object.keys(b).length > 0, "nothing to change");

export function templatesRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  const toDto = async (t: TemplateRow, currency: Currency) =>
    toTemplateDto(t, await findTariffInForce(db, currency, deps.clock()), currency);
  const idParams = z.object({ id: z.uuid() });

  return [
    defineRoute({
      method: "post",
      path: "/api/v1/templates",
      summary: "Create a template (pre-prompt) of questions.",
      tag: "templates",
      access: ["owner"],
      body: createBody,
      responses: { 201: { description: "Created", schema: templateDto } },
      handler: async ({ body, auth }) => {
        assertProviderConfigured(deps.analysisProviders, body.provider);
        const t = await createTemplate(db, { accountId: auth.account.id, ...body });
        return { status: 201, body: await toDto(t, auth.account.currency) };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/templates",
      summary: "The account's templates.",
      tag: "templates",
      access: ["owner", "manager"],
      responses: { 200: { description: "Templates", schema: z.object({ items: z.array(templateDto) }) } },
      handler: async ({ auth }) => {
        const rows = await findTemplates(db, auth.account.id);
        const items = await Promise.all(rows.map((t) => toDto(t, auth.account.currency)));
        return { status: 200, body: { items } };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/templates/{id}",
      summary: "One template.",
      tag: "templates",
      access: ["owner", "manager"],
      params: idParams,
      responses: { 200: { description: "Template", schema: templateDto }, 404: { description: "Not found" } },
      handler: async ({ params, auth }) => {
        const t = await findTemplate(db, auth.account.id, params.id);
        if (!t) throw new AppError("NOT_FOUND", "Template not found.");
        return { status: 200, body: await toDto(t, auth.account.currency) };
      },
    }),
    defineRoute({
      method: "patch",
      path: "/api/v1/templates/{id}",
      summary: "Edit a template; content edits make a new version (old answers keep theirs).",
      tag: "templates",
      access: ["owner"],
      params: idParams,
      body: patchBody,
      responses: { 200: { description: "Updated", schema: templateDto }, 404: { description: "Not found" } },
      handler: async ({ params, body, auth }) => {
        assertProviderConfigured(deps.analysisProviders, body.provider);
        const t = await updateTemplate(db, auth.account.id, params.id, body, deps.clock());
        if (!t) throw new AppError("NOT_FOUND", "Template not found.");
        return { status: 200, body: await toDto(t, auth.account.currency) };
      },
    }),
    defineRoute({
      method: "delete",
      path: "/api/v1/templates/{id}",
      summary: "Delete a template (its past answers stay).",
      tag: "templates",
      access: ["owner"],
      params: idParams,
      responses: { 204: { description: "Deleted" }, 404: { description: "Not found" } },
      handler: async ({ params, auth }) => {
        if (!(await deleteTemplate(db, auth.account.id, params.id, deps.clock()))) {
          throw new AppError("NOT_FOUND", "Template not found.");
        }
        return { status: 204 };
      },
    }),
  ];
}
