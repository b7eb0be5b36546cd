import fc from "fast-check";

/**
 * fast-check arbitraries derived from the server's own OpenAPI document: values that fit a JSON schema
 * ("valid-ish": they may still break a rule the schema cannot express) and hostile ones (wrong types,
 * huge strings, NUL bytes, deep nesting, prototype keys) put in their place.
 */

export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

export interface OpenApiParameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  schema: JsonSchema;
}

export interface OpenApiOperation {
  summary?: string;
  security?: unknown[];
  "x-roles"?: string[];
  parameters?: OpenApiParameter[];
  requestBody?: { content: Record<string, { schema?: JsonSchema }> };
  responses: Record<string, unknown>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
}

const int32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

function patternString(pattern: string): fc.Arbitrary<string> | undefined {
  try {
    return fc.stringMatching(new RegExp(pattern));
  } catch {
    return undefined;
  }
}

/** A value shaped by `schema` (bounded in size). */
export function schemaValue(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return fc.jsonValue({ maxDepth: 2 });
  if (schema.const !== undefined) return fc.constant(schema.const);
  const base = schemaValueNotNull(schema, depth);
  return schema.nullable
    ? fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 5, arbitrary: base })
    : base;
}

function schemaValueNotNull(schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((s) => schemaValue(s, depth + 1)));
  if (schema.allOf?.length) return schemaValue(schema.allOf[0], depth + 1);
  switch (schema.type) {
    case "string":
      return stringValue(schema);
    case "integer": {
      const min = clamp(schema.minimum ?? -1_000_000, int32.min, int32.max);
      const max = clamp(schema.maximum ?? 1_000_000, min, int32.max);
      return fc.oneof(
        fc.integer({ min, max }),
        fc.constantFrom(...new Set([schema.minimum ?? min, schema.maximum ?? max])),
      );
    }
    case "number":
      return fc.double({
        noNaN: true,
        noDefaultInfinity: true,
        min: schema.minimum ?? -1e9,
        max: schema.maximum ?? 1e9,
      });
    case "boolean":
      return fc.boolean();
    case "array": {
      const minLength = schema.minItems ?? 0;
      const maxLength = Math.min(schema.maxItems ?? minLength + 3, minLength + 3);
      return fc.array(schemaValue(schema.items, depth + 1), { minLength, maxLength });
    }
    case "object":
      return objectValue(schema, depth);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function stringValue(schema: JsonSchema): fc.Arbitrary<string> {
  const byFormat: Record<string, fc.Arbitrary<string>> = {
    email: fc.emailAddress(),
    uuid: fc.uuid(),
    "date-time": fc
      .date({
        min: new Date("1970-01-01T00:00:00Z"),
        max: new Date("2100-01-01T00:00:00Z"),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString()),
    date: fc
      .date({
        min: new Date("1970-01-01T00:00:00Z"),
        max: new Date("2100-01-01T00:00:00Z"),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString().slice(0, 10)),
  };
  const choices: fc.Arbitrary<string>[] = [];
  const formatted = schema.format ? byFormat[schema.format] : undefined;
  if (formatted) choices.push(formatted);
  const matching = schema.pattern ? patternString(schema.pattern) : undefined;
  if (matching) choices.push(matching);
  if (!choices.length) {
    const minLength = schema.minLength ?? 0;
    const maxLength = Math.min(schema.maxLength ?? 40, minLength + 40);
    choices.push(fc.string({ minLength, maxLength }));
    if (schema.maxLength !== undefined && schema.maxLength <= 10_000) {
      // Exactly at the limit: the boundary the schema promises to accept.
      choices.push(fc.constant("x".repeat(schema.maxLength)));
    }
  }
  return fc.oneof(...choices);
}

/** Decimal text as money fields take it, and the edges of that format. */
export const decimalText: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.nat({ max: 1_000_000 }), fc.nat({ max: 99 }))
    .map(([units, cents]) => `${units}.${String(cents).padStart(2, "0")}`),
  fc.constantFrom(
    "0",
    "0.00",
    "-1",
    "-0.01",
    "1e3",
    "0.0000001",
    "99999999999999999999",
    "1,5",
    " 10 ",
    "NaN",
    "Infinity",
    "0x10",
    "",
  ),
);

function objectValue(schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  const keys = Object.keys(properties);
  if (!keys.length) {
    return typeof schema.additionalProperties === "object" || schema.additionalProperties === undefined
      ? fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
      : fc.constant({});
  }
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const key of keys) {
    const value = schemaValue(properties[key], depth + 1);
    // Money travels as a free-form string: mostly decimals (to reach the handler), some edge cases.
    record[key] =
      properties[key]?.type === "string" && !properties[key]?.pattern && /amount|threshold/i.test(key)
        ? fc.oneof({ weight: 3, arbitrary: decimalText }, { weight: 1, arbitrary: value })
        : value;
  }
  return fc.record(record, { requiredKeys: (schema.required ?? []).filter((k) => keys.includes(k)) });
}

/** Text no schema should take as given: a hostile replacement for any string. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "\ud800",
    "' OR 1=1 --",
    "'; drop table users; --",
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j-style lookup, sent as it is.
    "${jndi:ldap://x}",
    "NaN",
    "Infinity",
    "-0",
    "1e309",
    "0x10",
    "9".repeat(400),
    "١٢٣",
    "null",
    "true",
    "[]",
    "{}",
    "%00",
    "\r\n\r\nX-Injected: 1",
  ),
  fc.string({ maxLength: 64, unit: "binary" }),
  // Huge: far past every maxLength, well within the 1 MiB body limit.
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 4 }), fc.integer({ min: 5_000, max: 150_000 }))
    .map(([s, n]) => s.repeat(n).slice(0, 300_000)),
);

/** A wrong-typed or hostile JSON value. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, [], {}),
  hostileString,
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 50, max: 3000 }).map((depth) => JSON.parse(`${"[".repeat(depth)}${"]".repeat(depth)}`)),
  fc.constantFrom(JSON.parse('{"__proto__": {"isAdmin": true, "role": "owner"}}'), {
    constructor: { prototype: { role: "staff" } },
  }),
);

/** NUL most often: PostgreSQL text and jsonb cannot hold it, so it is where a 500 hides. */
const taintChar = fc.oneof(
  { weight: 3, arbitrary: fc.constant("\u0000") },
  { weight: 2, arbitrary: fc.constantFrom("\ud800", "\r\n", "\u202e", "\u0007", "\u00ff", "\ufeff") },
);

type Mutation =
  | { kind: "none" }
  | { kind: "drop"; path: number[] }
  | { kind: "replace"; path: number[]; value: unknown }
  | { kind: "extra"; path: number[]; key: string; value: unknown }
  | { kind: "taint"; path: number[]; char: string; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // A string the schema accepts, with a character PostgreSQL or a log line may not: NUL, a lone
  // surrogate, a line break, bidi override, a control character.
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("taint" as const),
      path: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
      char: taintChar,
      at: fc.nat(),
    }),
  },
  { weight: 5, arbitrary: fc.constant({ kind: "none" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("drop" as const), path: fc.array(fc.nat(), { maxLength: 4 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("replace" as const),
      path: fc.array(fc.nat(), { maxLength: 4 }),
      value: hostileValue,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("extra" as const),
      path: fc.array(fc.nat(), { maxLength: 4 }),
      key: fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.constantFrom("__proto__", "constructor", "accountId", "id", "role"),
      ),
      value: hostileValue,
    }),
  },
);

/** Walks `path` (child indexes, modulo the number of children) and applies the mutation there. */
function applyMutation(value: unknown, m: Mutation): unknown {
  if (m.kind === "none") return value;
  const root = structuredClone(value);
  let parent: Record<string, unknown> | unknown[] | undefined;
  let key: string | number | undefined;
  let node: unknown = root;
  for (const step of m.path) {
    if (node === null || typeof node !== "object") break;
    const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (!keys.length) break;
    parent = node as Record<string, unknown>;
    key = keys[step % keys.length]!;
    node = (parent as Record<string, unknown>)[key];
  }
  if (m.kind === "taint") {
    if (typeof node !== "string" || parent === undefined || key === undefined) return root;
    const at = m.at % (node.length + 1);
    (parent as Record<string, unknown>)[key] = `${node.slice(0, at)}${m.char}${node.slice(at)}`;
    return root;
  }
  if (m.kind === "extra") {
    if (node !== null && typeof node === "object" && !Array.isArray(node)) {
      Object.defineProperty(node, m.key, {
        value: m.value,
        enumerable: true,
        configurable: true,
        writable: true,
      });
      return root;
    }
    return m.value;
  }
  if (parent === undefined || key === undefined) return m.kind === "drop" ? undefined : m.value;
  if (m.kind === "drop") {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete (parent as Record<string, unknown>)[key];
  } else {
    (parent as Record<string, unknown>)[key] = m.value;
  }
  return root;
}

/** A JSON body for `schema`: valid-ish, then perhaps one field dropped, replaced or added anywhere. */
export function hostileBody(schema: JsonSchema | undefined): fc.Arbitrary<unknown> {
  return fc
    .oneof(
      { weight: 6, arbitrary: fc.tuple(schemaValue(schema), mutation).map(([v, m]) => applyMutation(v, m)) },
      { weight: 1, arbitrary: hostileValue },
    )
    .map((v) => (v === undefined ? {} : v));
}

/** A query-string value for a parameter: the schema's own, as text, or hostile text; sometimes repeated. */
export function queryValues(schema: JsonSchema): fc.Arbitrary<string[]> {
  const own = schemaValue(schema).map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
  const text = fc.oneof(
    { weight: 4, arbitrary: own },
    {
      weight: 2,
      arbitrary: fc
        .tuple(own, taintChar, fc.nat())
        .map(([v, c, at]) => `${v.slice(0, at % (v.length + 1))}${c}${v.slice(at % (v.length + 1))}`),
    },
    { weight: 3, arbitrary: hostileString.map((s) => s.slice(0, 1_500)) },
  );
  return fc.oneof(
    { weight: 5, arbitrary: text.map((v) => [v]) },
    { weight: 1, arbitrary: fc.array(text, { minLength: 2, maxLength: 3 }) },
  );
}
