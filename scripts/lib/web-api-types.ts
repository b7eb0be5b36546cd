// The web app's API types, generated from the OpenAPI document the server serves at /api/v1/openapi.json
// (itself built from the routes' zod schemas). A small renderer of our own: openapi-typescript needs the
// TypeScript 5 compiler API, which TypeScript 7 (this project's) no longer ships.
import { API_VERSION, allRoutes } from "../../services/api/app.ts";
import { buildOpenApiDocument } from "../../services/api/http/openapi.ts";

/** Where the generated declarations live (committed; the web app's JSDoc imports them). */
export const WEB_API_TYPES_PATH = "services/api/web/lib/api-types.d.ts";
export const REGENERATE_COMMAND = "npm run gen:web-types";

/** The subset of JSON Schema (OpenAPI 3.0 flavour) that zod's toJSONSchema produces for our routes. */
export interface Schema {
  type?: string;
  enum?: unknown[];
  nullable?: boolean;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  $ref?: string;
}

interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  schema: Schema;
}

interface Operation {
  summary?: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

export interface ApiDocument {
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
}

/**
 * The document exactly as GET /api/v1/openapi.json serves it, built in-process: the route factories only
 * declare their routes here, so a stub of their dependencies is enough (no database, no server).
 */
export function buildApiDocument(): ApiDocument {
  const deps = new Proxy(
    {},
    {
      get: (_target, prop) =>
        prop === "config"
          ? { publicUrl: "http://localhost" }
          : prop === "verifyFileSignature"
            ? undefined
            : [],
    },
  );
  return buildOpenApiDocument(allRoutes(deps as never), {
    version: API_VERSION,
    serverUrl: "http://localhost",
  }) as unknown as ApiDocument;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const propertyName = (name: string) => (IDENTIFIER.test(name) ? name : JSON.stringify(name));
const METHODS = ["get", "post", "patch", "put", "delete"];

function union(members: string[]): string {
  const unique = [...new Set(members)];
  if (unique.includes("unknown")) return "unknown";
  return unique.join(" | ");
}

/** True when the schema renders as a union or intersection (it needs parentheses before `[]`). */
function compound(schema: Schema): boolean {
  return (
    (schema.enum?.length ?? 0) > 1 ||
    schema.nullable === true ||
    schema.anyOf !== undefined ||
    schema.oneOf !== undefined ||
    schema.allOf !== undefined
  );
}

function comment(text: string | undefined, indent: string): string {
  return text ? `${indent}/** ${text.replace(/\*\//g, "*\\/").replace(/\s*\n\s*/g, " ")} */\n` : "";
}

/** A TypeScript type for a schema; `indent` is the indentation of the line the type starts on. */
export function renderSchema(schema: Schema, indent = ""): string {
  if (schema.$ref) throw new Error(`web-api-types: $ref is not supported (${schema.$ref})`);
  let type: string;
  if (schema.enum) {
    type = union(schema.enum.map((v) => (v === null ? "null" : JSON.stringify(v))));
  } else if (schema.anyOf || schema.oneOf) {
    type = union((schema.anyOf ?? schema.oneOf ?? []).map((s) => renderSchema(s, indent)));
  } else if (schema.allOf) {
    type = schema.allOf
      .map((s) => (compound(s) ? `(${renderSchema(s, indent)})` : renderSchema(s, indent)))
      .join(" & ");
  } else {
    switch (schema.type) {
      case "string":
        type = "string";
        break;
      case "number":
      case "integer":
        type = "number";
        break;
      case "boolean":
        type = "boolean";
        break;
      case "array": {
        const items = schema.items ? renderSchema(schema.items, indent) : "unknown";
        type = schema.items && compound(schema.items) ? `(${items})[]` : `${items}[]`;
        break;
      }
      case "object":
        type = renderObject(schema, indent);
        break;
      default:
        type = "unknown";
    }
  }
  if (schema.nullable && type !== "unknown" && !type.split(" | ").includes("null")) type = `${type} | null`;
  return type;
}

function renderObject(schema: Schema, indent: string): string {
  const properties = Object.entries(schema.properties ?? {});
  const extra = schema.additionalProperties;
  const extraType =
    extra === true || extra === undefined
      ? "unknown"
      : extra === false
        ? undefined
        : renderSchema(extra, indent);
  if (properties.length === 0) {
    return extraType === undefined ? "Record<string, never>" : `Record<string, ${extraType}>`;
  }
  const inner = `${indent}  `;
  const required = new Set(schema.required ?? []);
  const lines = properties.map(
    ([name, prop]) =>
      `${comment(prop.description, inner)}${inner}${propertyName(name)}${required.has(name) ? "" : "?"}: ${renderSchema(prop, inner)};\n`,
  );
  // A closed object (additionalProperties: false) gets no index signature; an open one keeps its extras.
  if (extraType !== undefined && extra !== undefined) lines.push(`${inner}[key: string]: ${extraType};\n`);
  return `{\n${lines.join("")}${indent}}`;
}

function renderParameters(
  parameters: Parameter[],
  where: Parameter["in"],
  indent: string,
): string | undefined {
  const mine = parameters.filter((p) => p.in === where);
  if (mine.length === 0) return undefined;
  return renderObject(
    {
      type: "object",
      properties: Object.fromEntries(mine.map((p) => [p.name, p.schema])),
      required: mine.filter((p) => p.required).map((p) => p.name),
      additionalProperties: false,
    },
    indent,
  );
}

function renderOperation(op: Operation, indent: string): string {
  const inner = `${indent}  `;
  const parts: string[] = [];
  for (const where of ["path", "query", "header"] as const) {
    const rendered = renderParameters(op.parameters ?? [], where, inner);
    if (rendered) parts.push(`${inner}${where}: ${rendered};\n`);
  }
  const content = op.requestBody?.content ?? {};
  const json = content["application/json"];
  if (json) parts.push(`${inner}body: ${json.schema ? renderSchema(json.schema, inner) : "unknown"};\n`);
  for (const contentType of Object.keys(content).filter((c) => c !== "application/json")) {
    parts.push(`${inner}/** The body is not JSON: the client does not send these. */\n`);
    parts.push(`${inner}rawBody: ${JSON.stringify(contentType)};\n`);
  }
  const success = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
  const responses = success.map(([status, response]) => {
    const schema = response.content?.["application/json"]?.schema;
    const type = schema ? renderSchema(schema, `${inner}  `) : "unknown";
    return `${inner}  ${status}: ${type};\n`;
  });
  parts.push(`${inner}responses: {\n${responses.join("")}${inner}};\n`);
  return `{\n${parts.join("")}${indent}}`;
}

/** The declarations file for a document: every path and method, its parameters, JSON body and 2xx answers. */
export function renderApiTypes(doc: ApiDocument): string {
  const out: string[] = [
    `// biome-ignore-all format: generated by scripts/gen-web-api-types.ts`,
    `// biome-ignore-all lint: generated by scripts/gen-web-api-types.ts`,
    `// GENERATED from the server's OpenAPI document (GET /api/v1/openapi.json, API ${doc.info.version}) by`,
    `// \`${REGENERATE_COMMAND}\`. Do not edit: change the routes' zod schemas and regenerate.`,
    "",
    "/** Every API path → method → { path, query, header parameters; JSON body; 2xx answers by status }. */",
    "export interface ApiPaths {",
  ];
  for (const [path, methods] of Object.entries(doc.paths)) {
    out.push(`  ${JSON.stringify(path)}: {`);
    for (const method of METHODS) {
      const op = methods[method];
      if (!op) continue;
      out.push(
        `${comment(op.summary, "    ")}    ${method}: ${renderOperation(op, "    ")};`.replace(/\n$/, ""),
      );
    }
    out.push("  };");
  }
  out.push("}", "");
  const envelope = Object.values(doc.paths)
    .flatMap((methods) => Object.values(methods))
    .map((op) => op.responses.default?.content?.["application/json"]?.schema)
    .find((s) => s !== undefined);
  out.push(
    "/** The body of every error answer (4xx, 5xx). */",
    `export type ApiErrorEnvelope = ${envelope ? renderSchema(envelope) : "unknown"};`,
    "",
  );
  return out.join("\n");
}
