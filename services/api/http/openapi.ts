import { z } from "zod";
import type { AnyRoute } from "./route.ts";

const errorEnvelope = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    requestId: z.string(),
    details: z.unknown().optional(),
  }),
});

const jsonSchema = (schema: z.ZodType, io: "input" | "output") =>
  z.toJSONSchema(schema, { io, unrepresentable: "any", target: "openapi-3.0" });

/** OpenAPI 3.0 built from the same zod schemas the routes validate with. */
export function buildOpenApiDocument(
  routes: readonly AnyRoute[],
  info: { version: string; serverUrl: string },
) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ["path", route.params],
      ["query", route.query],
    ] as const) {
      if (!schema) continue;
      const js = jsonSchema(schema, "input") as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, prop] of Object.entries(js.properties ?? {})) {
        parameters.push({
          name,
          in: where,
          required: where === "path" || (js.required ?? []).includes(name),
          schema: prop,
        });
      }
    }
    if (route.idempotent) {
      parameters.push({
        name: "Idempotency-Key",
        in: "header",
        required: false,
        description:
          "Repeat-safe: the same key and request return the first answer; a different request → 409.",
        schema: { type: "string", minLength: 8, maxLength: 200 },
      });
    }
    const requestBody = route.rawBody
      ? {
          required: true,
          content: {
            [route.rawBody.contentType]: {
              schema: { type: "object", description: route.rawBody.description },
            },
          },
        }
      : route.body
        ? { required: true, content: { "application/json": { schema: jsonSchema(route.body, "input") } } }
        : undefined;
    const secured = route.access !== "public" && route.access !== "token";
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(route.responses)) {
      const isError = Number(status) >= 400;
      const schema = r.schema
        ? jsonSchema(r.schema, "output")
        : isError
          ? jsonSchema(errorEnvelope, "output")
          : undefined;
      responses[status] = {
        description: r.description,
        ...(schema ? { content: { "application/json": { schema } } } : {}),
      };
    }
    // What mountRoutes answers by itself, around every handler: documented here so no route has to repeat it.
    for (const [status, description] of Object.entries(frameworkResponses(route, secured))) {
      responses[status] ??= {
        description,
        content: { "application/json": { schema: jsonSchema(errorEnvelope, "output") } },
      };
    }
    responses.default = {
      description: "Error",
      content: { "application/json": { schema: jsonSchema(errorEnvelope, "output") } },
    };
    paths[route.path] ??= {};
    paths[route.path]![route.method] = {
      summary: route.summary,
      tags: [route.tag],
      ...(secured ? { security: [{ bearer: [] }], "x-roles": route.access } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: "3.0.3",
    info: { title: "Tyndau API", version: info.version },
    servers: [{ url: info.serverUrl }],
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths,
  };
}

/**
 * The refusals `mountRoutes` (route.ts) and the JSON body parser give on their own: authentication and
 * role (401/403), schema validation and unreadable JSON (400), the 1 MiB JSON limit (413), a body that is
 * not JSON (415), and a reused or busy Idempotency-Key (409).
 */
function frameworkResponses(route: AnyRoute, secured: boolean): Record<number, string> {
  const jsonParsed = !route.rawBody && route.method !== "get";
  const out: Record<number, string> = {};
  if (route.params || route.query || jsonParsed || route.idempotent) {
    out[400] = "VALIDATION_FAILED: the path, query or body does not match the schema (see details)";
  }
  if (secured) {
    out[401] = "UNAUTHENTICATED: no valid bearer token";
    out[403] = "FORBIDDEN: the user's role may not do this";
  }
  if (jsonParsed) {
    out[413] = "PAYLOAD_TOO_LARGE: the JSON body is over 1 MiB";
    out[415] = "UNSUPPORTED_MEDIA: the body is not application/json (or not in UTF-8)";
  }
  if (route.idempotent) out[409] = "CONFLICT: the Idempotency-Key was used for another request, or is in use";
  return out;
}
