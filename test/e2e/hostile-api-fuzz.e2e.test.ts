import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStaffUser } from "../../shared/accounts/create-staff-user.ts";
import { errorCodes } from "../../shared/errors/app-error.ts";
import { apiClient, pushRecording, registerOwner, waitForCall } from "../harness/api-client.ts";
import { validBin } from "../harness/kz-ids.ts";
import {
  hostileBody,
  hostileString,
  type JsonSchema,
  type OpenApiDocument,
  type OpenApiOperation,
  queryValues,
  schemaValue,
} from "../harness/openapi-fuzz.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

/**
 * Hostile-API fuzz test (issue 14). Every operation of the served `GET /api/v1/openapi.json` gets requests
 * built from its own schemas and then broken: wrong types, missing and extra fields, huge strings, NUL
 * bytes, deep nesting, other accounts' ids, bad tokens, wrong content types. Each answer must be a status
 * the operation documents (never a 5xx), errors must be the documented envelope with the code that maps
 * to that status, no other account's object may be reached, and a refused request (4xx) must leave the
 * database exactly as it was (a digest of every table, below).
 *
 * Production configuration (PostgreSQL, S3, NODE_ENV=production). Environment:
 *   FUZZ_RUNS   cases in all, spread evenly over the operations (default 384; e.g. FUZZ_RUNS=4000)
 *   FUZZ_SEED   the base seed (default: a fixed one, so the suite is the same on every run; "random" for
 *               a new one each run, printed); operation i runs with seed FUZZ_SEED + i
 *   FUZZ_ROUTE  only this operation, e.g. "POST /api/v1/sources" (with FUZZ_SEED: replays its failure)
 *   FUZZ_SHRINK=1  shrink a failing case to a smaller one (slower; off by default)
 */
const RUNS = Number(process.env.FUZZ_RUNS) || 384;
const DEFAULT_SEED = 525563115;
const BASE_SEED =
  process.env.FUZZ_SEED === "random"
    ? Math.floor(Math.random() * 2 ** 31)
    : process.env.FUZZ_SEED
      ? Number(process.env.FUZZ_SEED)
      : DEFAULT_SEED;
const ONLY = process.env.FUZZ_ROUTE;
const SHRINK = process.env.FUZZ_SHRINK === "1";

/**
 * Tables a refused request may change, by design: a failed sign-in and a registration attempt are
 * recorded (the throttles count them), and a refusal under an Idempotency-Key is kept as that key's answer. Every other table of the
 * public schema is in the digest.
 */
const MAY_CHANGE_WHEN_REFUSED = new Set(["login_failures", "registration_attempts", "idempotency_keys"]);

/**
 * The one refusal that is also a record, by the rules: a bank payment that does not match its invoice,
 * or comes after it expired, is refused and kept, flagged for return (PRODUCT.md "Top-up by bank
 * invoice": the money is at the bank), and the staff action is audited in the same transaction. Only
 * those tables; the ledger and balances are still checked.
 */
const RECORDED_REFUSALS: Record<string, string[]> = {
  "POST /api/v1/admin/invoices/{id}/payments": ["invoice_payments", "audit_log"],
};

interface Tenant {
  accountId: string;
  email: string;
  ownerToken: string;
  managerToken: string;
  ids: Record<string, string>;
  sourceToken: string;
}

let app: TestApp;
let doc: OpenApiDocument;
let attacker: Tenant;
let victim: Tenant;
let staffToken = "";
let revokedToken = "";
let digestSql = "";
let libraryTemplateId = "";
/** Every object id the test made, and the account it belongs to (to detect cross-account access). */
const owners = new Map<string, string>();
let wav: Buffer;

const staffEmail = `staff-${crypto.randomUUID()}@tyndau.kz`;
const staffPassword = "staff password 1";

async function provisionTenant(company: string, withCall: boolean): Promise<Tenant> {
  const owner = await registerOwner(app.baseUrl, company);
  const c = owner.client;
  const managerEmail = `manager-${owner.accountId}@example.com`;
  const manager = await c.post<{ id: string }>("/api/v1/users", {
    email: managerEmail,
    password: "manager password 1",
    role: "manager",
  });
  const managerToken = (
    await apiClient(app.baseUrl).post<{ token: string }>("/api/v1/auth/login", {
      email: managerEmail,
      password: "manager password 1",
    })
  ).body.token;
  const me = await c.get<{ user: { id: string } }>("/api/v1/me");
  const source = await c.post<{ id: string; token: string; ingestUrl: string }>("/api/v1/sources", {
    name: "PBX",
    kind: "push",
  });
  const template = await c.post<{ id: string }>("/api/v1/templates", {
    name: "T",
    questions: [{ key: "hello", text: "Hello?", type: "boolean", keywords: { any: ["hello"] } }],
  });
  const invitation = await c.post<{ id: string }>("/api/v1/invitations", {
    email: `invitee-${owner.accountId}@example.com`,
    role: "manager",
  });
  const invoice = await c.post<{ id: string }>("/api/v1/billing/invoices", {
    amount: "100.00",
    payer: { name: "ТОО Тест", bin: validBin("19084000352"), address: "Астана" },
  });
  const payment = await c.post<{ id: string }>("/api/v1/billing/payments", { amount: "500.00" });
  const ids: Record<string, string> = {
    account: owner.accountId,
    owner: me.body.user.id,
    manager: manager.body.id,
    source: source.body.id,
    template: template.body.id,
    invitation: invitation.body.id,
  };
  if (invoice.status === 201) ids.invoice = invoice.body.id;
  if (payment.status === 201) ids.payment = payment.body.id;
  if (withCall) {
    const pushed = await pushRecording(source.body.ingestUrl, wav, { externalId: `fuzz-${owner.accountId}` });
    if (pushed.status !== 202) throw new Error(`push → ${pushed.status} ${JSON.stringify(pushed.body)}`);
    ids.call = String(pushed.body.callId);
    await waitForCall(c, ids.call, 120_000);
  }
  for (const value of Object.values(ids)) owners.set(value, owner.accountId);
  return {
    accountId: owner.accountId,
    email: owner.email,
    ownerToken: owner.token,
    managerToken,
    ids,
    sourceToken: source.body.token,
  };
}

beforeAll(async () => {
  app = await startTestApp("postgres");
  const dir = mkdtempSync(join(tmpdir(), "tyndau-fuzz-"));
  execFileSync("ffmpeg", [
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:duration=2",
    "-ac",
    "2",
    join(dir, "t.wav"),
  ]);
  wav = readFileSync(join(dir, "t.wav"));
  rmSync(dir, { recursive: true, force: true });

  doc = (await apiClient(app.baseUrl).get<OpenApiDocument>("/api/v1/openapi.json")).body;
  [victim, attacker] = await Promise.all([
    provisionTenant("Victim LLP", true),
    provisionTenant("Attacker LLP", true),
  ]);
  await createStaffUser(app.database.db, { email: staffEmail, password: staffPassword });
  staffToken = await login(staffEmail, staffPassword);
  const spare = await login(attacker.email, "correct horse battery");
  await apiClient(app.baseUrl, spare).post("/api/v1/auth/logout");
  revokedToken = spare;
  const library = await apiClient(app.baseUrl, attacker.ownerToken).get<{ items: { id: string }[] }>(
    "/api/v1/templates/library",
  );
  libraryTemplateId = library.body.items[0]?.id ?? "";

  const tables = (
    await app.database.executeSql(
      "select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1",
    )
  ).rows
    .map((r) => String(r.table_name))
    .filter((t) => !MAY_CHANGE_WHEN_REFUSED.has(t));
  expect(tables).toEqual(
    expect.arrayContaining(["ledger_entries", "calls", "users", "templates", "sources"]),
  );
  digestSql = tables
    .map(
      (t) =>
        `select '${t}' as t, count(*)::int as n, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from "${t}" x`,
    )
    .join(" union all ");
}, 300_000);

afterAll(async () => {
  await app?.close();
});

async function login(email: string, password: string): Promise<string> {
  const res = await apiClient(app.baseUrl).post<{ token: string }>("/api/v1/auth/login", { email, password });
  if (res.status !== 200) throw new Error(`login ${email} → ${res.status}`);
  return res.body.token;
}

async function digest(): Promise<Map<string, string>> {
  const { rows } = await app.database.executeSql(digestSql);
  return new Map(rows.map((r) => [String(r.t), `${r.n} rows ${r.h}`]));
}

/** Waits until no pipeline job is due or running and no call is being processed (a 2xx may start work). */
async function settle(): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { rows } = await app.database.executeSql(
      `select (select count(*)::int from pgboss.job
                where state in ('retry', 'active') or (state = 'created' and start_after <= now())) as jobs,
              (select count(*)::int from calls where status in ('received', 'processing')) as calls`,
    );
    if (rows[0]?.jobs === 0 && rows[0]?.calls === 0) return;
    if (Date.now() > deadline) throw new Error(`background work did not finish: ${JSON.stringify(rows[0])}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A valid request may log the attacker out, demote, delete or close them (they own the account): then
 * a fresh attacker account is made, so the following cases still reach past authentication.
 */
async function ensureWorld(): Promise<void> {
  const role = async (token: string) =>
    (await apiClient(app.baseUrl, token).get<{ user?: { role: string } }>("/api/v1/me")).body.user?.role;
  const { rows } = await app.database.executeSql(
    "select status, deletion_requested_at, processing_blocked_at from accounts where id = $1",
    [attacker.accountId],
  );
  const account = rows[0];
  const healthy =
    account?.status === "active" &&
    account.deletion_requested_at === null &&
    account.processing_blocked_at === null &&
    (await role(attacker.ownerToken)) === "owner" &&
    (await role(attacker.managerToken)) === "manager";
  if (!healthy) attacker = await provisionTenant("Attacker LLP", false);
  if ((await role(staffToken)) !== "staff") staffToken = await login(staffEmail, staffPassword);
}

// ---- Cases ----------------------------------------------------------------------------------------

type Actor =
  | { kind: "anonymous" }
  | { kind: "role"; role: "owner" | "manager" | "staff" }
  | { kind: "header"; header: string }
  | {
      kind: "forged";
      how: "revoked" | "appended" | "truncated" | "lowercase-scheme" | "victim-source-token";
    };

type Body =
  | { kind: "none" }
  | { kind: "json"; value: unknown }
  | { kind: "raw"; contentType: string; text: string }
  | { kind: "multipart"; parts: { name: string; text?: string; bytes?: Uint8Array; fileName?: string }[] };

interface Case {
  actor: Actor;
  path: Record<string, IdChoice>;
  query: [string, string][];
  body: Body;
  idempotencyKey?: string;
}

/** A path value: one of the known objects (resolved when the case runs: the attacker may be remade). */
type IdChoice =
  | { kind: "known"; owner: "attacker" | "victim"; key: string }
  | { kind: "library" }
  | { kind: "token"; owner: "attacker" | "victim" }
  | { kind: "literal"; value: string };

interface Operation {
  label: string;
  method: string;
  path: string;
  op: OpenApiOperation;
  documented: Set<number>;
}

const headerText = fc.stringMatching(/^[\x21-\x7e]{1,300}$/);

const actorArb = (op: OpenApiOperation): fc.Arbitrary<Actor> => {
  const allRoles = ["owner", "manager", "staff"] as const;
  const allowed = allRoles.filter((r) => op["x-roles"]?.includes(r));
  const others = allRoles.filter((r) => !allowed.includes(r));
  const role = (roles: readonly ("owner" | "manager" | "staff")[]) =>
    fc.constantFrom(...roles).map((r) => ({ kind: "role", role: r }) as Actor);
  return fc.oneof(
    // Mostly a role the operation lets in, so the cases get past authentication to the handler.
    ...(allowed.length ? [{ weight: 10, arbitrary: role(allowed) }] : []),
    { weight: allowed.length ? 2 : 4, arbitrary: role(others.length ? others : allRoles) },
    { weight: 1, arbitrary: fc.constant({ kind: "anonymous" } as Actor) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          headerText.map((t) => `Bearer ${t}`),
          headerText,
          fc.constantFrom(
            "Bearer",
            "Bearer ",
            "Basic dXNlcjpwYXNzd29yZA==",
            `Bearer ${"A".repeat(3000)}`,
            "Bearer tyn_",
          ),
        )
        .map((header) => ({ kind: "header", header }) as Actor),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom("revoked", "appended", "truncated", "lowercase-scheme", "victim-source-token")
        .map((how) => ({ kind: "forged", how }) as Actor),
    },
  );
};

/** A path segment: not empty and not a dot segment (the client would resolve those away). */
const safeSegment = hostileString
  .map((s) => s.slice(0, 2_000))
  .filter((s) => s.length > 0 && s !== "." && s !== "..");

/** Which of a tenant's objects a path's {id} names, from the path segment before it. */
const kindOfPath: Record<string, string[]> = {
  users: ["owner", "manager"],
  invitations: ["invitation"],
  sources: ["source"],
  calls: ["call"],
  templates: ["template"],
  invoices: ["invoice"],
  payments: ["payment"],
  pay: ["payment"],
  accounts: ["account"],
};
const tenantKeys = [
  "account",
  "owner",
  "manager",
  "source",
  "template",
  "invitation",
  "invoice",
  "payment",
  "call",
];

const idChoiceArb = (name: string, path: string): fc.Arbitrary<IdChoice> => {
  const literal = (a: fc.Arbitrary<string>) => a.map((value) => ({ kind: "literal", value }) as IdChoice);
  if (name === "token") {
    return fc.oneof(
      fc.constantFrom("attacker", "victim").map((owner) => ({ kind: "token", owner }) as IdChoice),
      literal(safeSegment),
    );
  }
  if (name === "gateway")
    return literal(fc.oneof(fc.constantFrom("sandbox", "cloudpayments", "stripe"), safeSegment));
  const segment = path.split("/").at(path.split("/").indexOf(`{${name}}`) - 1) ?? "";
  const known = (owner: "attacker" | "victim", keys: string[]) =>
    fc.constantFrom(...keys).map((key) => ({ kind: "known", owner, key }) as IdChoice);
  const own = segment === "library" ? [] : (kindOfPath[segment] ?? []);
  return fc.oneof(
    // The right kind of object: the attacker's own (the valid case) or the victim's (must be refused).
    ...(own.length
      ? [
          { weight: 5, arbitrary: known("attacker", own) },
          { weight: 4, arbitrary: known("victim", own) },
        ]
      : []),
    { weight: segment === "library" ? 6 : 1, arbitrary: fc.constant({ kind: "library" } as IdChoice) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom("attacker", "victim")
        .chain((owner) => known(owner as "attacker", tenantKeys)),
    },
    { weight: 1, arbitrary: literal(fc.uuid()) },
    {
      weight: 2,
      arbitrary: literal(
        fc.oneof(
          safeSegment,
          fc.constantFrom("00000000-0000-0000-0000-000000000000", "-1", "0", "1e999", "null"),
        ),
      ),
    },
  );
};

/** Call metadata as ingest reads it (the multipart part is not described by the OpenAPI document). */
const metadataSchema: JsonSchema = {
  type: "object",
  properties: {
    externalId: { type: "string", minLength: 1, maxLength: 200 },
    startedAt: { type: "string", format: "date-time" },
    direction: { type: "string", enum: ["inbound", "outbound"] },
    operator: { type: "object", properties: { externalId: { type: "string" }, name: { type: "string" } } },
    client: { type: "object", properties: { phone: { type: "string", maxLength: 40 } } },
  },
  required: ["externalId"],
};
const recordingUrls = fc.constantFrom(
  "http://127.0.0.1:1/call.wav",
  "http://169.254.169.254/latest/meta-data/",
  "http://[::1]/x.wav",
  "http://10.0.0.1/x.wav",
  "file:///etc/passwd",
  "ftp://127.0.0.1/x.wav",
  "gopher://127.0.0.1:6379/_INFO",
  "http://0x7f000001/x.wav",
);

const contentTypeNoise = fc.constantFrom(
  "text/plain",
  "application/x-www-form-urlencoded",
  "application/json; charset=utf-16",
  "application/json; charset=koi8-r",
  "multipart/form-data",
  "application/xml",
);

const brokenJson = fc.oneof(
  fc.constantFrom("{", '{"a":', "[1,]", "nul", "", "\u0000", '{"a":1}{"b":2}', "'single'"),
  fc.string({ maxLength: 40, unit: "binary" }),
);

const hugeJson = fc.constant(`{"a":"${"x".repeat(1_100_000)}"}`);

function bodyArb(method: string, op: OpenApiOperation): fc.Arbitrary<Body> {
  if (method === "get") return fc.constant({ kind: "none" } as Body);
  const content = op.requestBody?.content ?? {};
  const json = content["application/json"];
  const jsonLike = (schema: JsonSchema | undefined) =>
    hostileBody(schema).map((value) => ({ kind: "json", value }) as Body);
  const noise = fc.oneof(
    {
      weight: 2,
      arbitrary: brokenJson.map((text) => ({ kind: "raw", contentType: "application/json", text }) as Body),
    },
    { weight: 2, arbitrary: fc.constant({ kind: "none" } as Body) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(contentTypeNoise, fc.jsonValue({ maxDepth: 2 }))
        .map(([contentType, v]) => ({ kind: "raw", contentType, text: JSON.stringify(v) ?? "" }) as Body),
    },
    {
      weight: 1,
      arbitrary: hugeJson.map((text) => ({ kind: "raw", contentType: "application/json", text }) as Body),
    },
  );
  if (content["multipart/form-data"]) {
    const part = fc.oneof(
      fc.record({
        name: fc.constant("metadata"),
        text: fc.oneof(
          hostileBody(metadataSchema).map((v) => JSON.stringify(v)),
          hostileString,
        ),
      }),
      fc.record({
        name: fc.constant("recording"),
        bytes: fc.uint8Array({ maxLength: 4096 }),
        fileName: fc.oneof(fc.constantFrom("call.wav", "../../etc/passwd", "a.m3u8", "x.concat"), headerText),
      }),
      fc.record({ name: fc.string({ maxLength: 20 }), text: fc.string({ maxLength: 100 }) }),
    );
    const metadataWithUrl: JsonSchema = {
      ...metadataSchema,
      properties: { ...metadataSchema.properties, recordingUrl: { type: "string" } },
      required: ["externalId", "recordingUrl"],
    };
    return fc.oneof(
      {
        weight: 6,
        arbitrary: fc.array(part, { maxLength: 4 }).map((parts) => ({ kind: "multipart", parts }) as Body),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(hostileBody(metadataWithUrl), fc.option(recordingUrls))
          .map(([value, url]) =>
            url && value && typeof value === "object" && !Array.isArray(value)
              ? ({ kind: "json", value: { ...value, recordingUrl: url } } as Body)
              : ({ kind: "json", value } as Body),
          ),
      },
      { weight: 2, arbitrary: noise },
    );
  }
  if (content["application/x-www-form-urlencoded"]) {
    const pairs = fc.array(
      fc.tuple(
        fc.oneof(fc.constantFrom("outcome", "amount", "paymentId"), fc.string({ maxLength: 12 })),
        fc.oneof(
          fc.constantFrom("succeeded", "failed", "cancelled"),
          hostileString.filter((s) => s.length < 3000),
        ),
      ),
      { maxLength: 4 },
    );
    return fc.oneof(
      {
        weight: 6,
        arbitrary: pairs.map(
          (p) =>
            ({
              kind: "raw",
              contentType: "application/x-www-form-urlencoded",
              text: new URLSearchParams(p).toString(),
            }) as Body,
        ),
      },
      { weight: 2, arbitrary: noise },
    );
  }
  return fc.oneof({ weight: 8, arbitrary: jsonLike(json?.schema) }, { weight: 3, arbitrary: noise });
}

function caseArb(o: Operation): fc.Arbitrary<Case> {
  const params = o.op.parameters ?? [];
  const path: Record<string, fc.Arbitrary<IdChoice>> = {};
  for (const p of params.filter((p) => p.in === "path")) path[p.name] = idChoiceArb(p.name, o.path);
  const queryParams = params.filter((p) => p.in === "query");
  const query = fc
    .tuple(
      ...queryParams.map((p) =>
        fc
          .option(queryValues(p.schema), { freq: 2 })
          .map((vs) => (vs ?? []).map((v) => [p.name, v] as [string, string])),
      ),
      fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 30 })), {
        maxLength: 2,
      }),
    )
    .map((lists) => lists.flat() as [string, string][]);
  const idempotent = params.some((p) => p.in === "header" && p.name === "Idempotency-Key");
  // Node answers 431 by itself, before the app, to a request line and headers over 16 KiB.
  const urlLength = (c: Case) =>
    new URLSearchParams(c.query).toString().length +
    Object.values(c.path).reduce(
      (n, v) => n + (v.kind === "literal" ? encodeSegment(v.value).length : 40),
      0,
    );
  const arb = fc.record({
    actor: actorArb(o.op),
    path: fc.record(path),
    query,
    body: bodyArb(o.method, o.op),
    ...(idempotent
      ? {
          idempotencyKey: fc.option(
            fc.oneof(fc.stringMatching(/^[\w.:-]{8,40}$/), fc.stringMatching(/^[\x20-\x7e]{0,300}$/)),
            { nil: undefined },
          ),
        }
      : {}),
  }) as fc.Arbitrary<Case>;
  return arb.filter((c) => urlLength(c) < 10_000);
}

// ---- Running a case ---------------------------------------------------------------------------------

const tenantOf = (owner: "attacker" | "victim") => (owner === "attacker" ? attacker : victim);

function resolveId(choice: IdChoice): string {
  switch (choice.kind) {
    case "known":
      return tenantOf(choice.owner).ids[choice.key] ?? tenantOf(choice.owner).ids.account!;
    case "library":
      return libraryTemplateId;
    case "token":
      return tenantOf(choice.owner).sourceToken;
    case "literal":
      return choice.value;
  }
}

function authorization(actor: Actor): string | undefined {
  switch (actor.kind) {
    case "anonymous":
      return undefined;
    case "role":
      return `Bearer ${actor.role === "owner" ? attacker.ownerToken : actor.role === "manager" ? attacker.managerToken : staffToken}`;
    case "header":
      return actor.header;
    case "forged": {
      const t = attacker.ownerToken;
      if (actor.how === "revoked") return `Bearer ${revokedToken}`;
      if (actor.how === "appended") return `Bearer ${t}x`;
      if (actor.how === "truncated") return `Bearer ${t.slice(0, -1)}`;
      if (actor.how === "lowercase-scheme") return `bearer ${t.toUpperCase()}`;
      return `Bearer ${victim.sourceToken}`;
    }
  }
}

/** Lone surrogates cannot be percent-encoded; the bytes a client would really send replace them. */
const encodeSegment = (s: string) => encodeURIComponent(Buffer.from(s, "utf8").toString("utf8"));

interface Sent {
  url: string;
  status: number;
  contentType: string;
  text: string;
}

async function send(o: Operation, c: Case): Promise<Sent> {
  const pathValues = Object.fromEntries(Object.entries(c.path).map(([k, v]) => [k, resolveId(v)]));
  const search = new URLSearchParams(
    c.query.map(([k, v]): [string, string] => [k, Buffer.from(v, "utf8").toString("utf8")]),
  );
  const path = o.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeSegment(pathValues[name] ?? ""));
  const url = `${app.baseUrl}${path}${search.size ? `?${search}` : ""}`;
  const headers: Record<string, string> = {};
  const auth = authorization(c.actor);
  if (auth !== undefined) headers.authorization = auth;
  if (c.idempotencyKey !== undefined) headers["idempotency-key"] = c.idempotencyKey;
  let body: string | FormData | undefined;
  switch (c.body.kind) {
    case "json":
      headers["content-type"] = "application/json";
      body = JSON.stringify(c.body.value);
      break;
    case "raw":
      headers["content-type"] = c.body.contentType;
      body = c.body.text;
      break;
    case "multipart": {
      const form = new FormData();
      for (const part of c.body.parts) {
        if (part.bytes) form.append(part.name, new Blob([part.bytes]), part.fileName ?? "call.wav");
        else form.append(part.name, part.text ?? "");
      }
      body = form;
      break;
    }
  }
  const res = await fetch(url, {
    method: o.method.toUpperCase(),
    headers,
    body,
    redirect: "manual",
    signal: AbortSignal.timeout(60_000),
  });
  return {
    url,
    status: res.status,
    contentType: res.headers.get("content-type") ?? "",
    text: await res.text(),
  };
}

const clip = (s: string, n = 400) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

function describeCase(c: Case): string {
  const body =
    c.body.kind === "json"
      ? `json ${clip(JSON.stringify(c.body.value) ?? "undefined")}`
      : c.body.kind === "raw"
        ? `${c.body.contentType} ${clip(JSON.stringify(c.body.text))}`
        : c.body.kind === "multipart"
          ? `multipart ${clip(JSON.stringify(c.body.parts.map((p) => ({ name: p.name, text: p.text, bytes: p.bytes?.length, fileName: p.fileName }))))}`
          : "no body";
  return `actor=${clip(JSON.stringify(c.actor), 120)} path=${clip(JSON.stringify(c.path), 200)} body=${body}${c.idempotencyKey === undefined ? "" : ` idempotency-key=${clip(JSON.stringify(c.idempotencyKey), 60)}`}`;
}

const statusCounts = new Map<string, Map<number, number>>();

async function runCase(o: Operation, c: Case): Promise<void> {
  const before = await digest();
  let sent: Sent;
  try {
    sent = await send(o, c);
  } catch (error) {
    throw new Error(`no answer: ${String(error)}\n  ${describeCase(c)}`);
  }
  const counts = statusCounts.get(o.label) ?? new Map<number, number>();
  counts.set(sent.status, (counts.get(sent.status) ?? 0) + 1);
  statusCounts.set(o.label, counts);
  const problems: string[] = [];
  if (sent.status >= 500) problems.push(`server error ${sent.status}`);
  if (!o.documented.has(sent.status)) {
    problems.push(`undocumented status ${sent.status} (documented: ${[...o.documented].join(", ")})`);
  }
  if (sent.status >= 400) {
    let code: unknown;
    try {
      const parsed = JSON.parse(sent.text) as { error?: { code?: unknown; requestId?: unknown } };
      code = parsed.error?.code;
      if (typeof parsed.error?.requestId !== "string") problems.push("error without requestId");
    } catch {
      problems.push("error answer is not JSON");
    }
    if (typeof code !== "string" || errorCodes[code as keyof typeof errorCodes] !== sent.status) {
      problems.push(`error code ${String(code)} does not map to ${sent.status}`);
    }
  }
  // Another account's object reached by this account's owner or manager (staff may act on any account).
  if (sent.status < 400 && o.op["x-roles"] && c.actor.kind === "role" && c.actor.role !== "staff") {
    for (const choice of Object.values(c.path)) {
      const id = resolveId(choice);
      const owner = owners.get(id);
      if (owner && owner !== attacker.accountId) problems.push(`reached another account's object ${id}`);
    }
  }
  if (sent.status >= 400) {
    const after = await digest();
    const recorded = RECORDED_REFUSALS[o.label] ?? [];
    const changed = [...before.keys()].filter((t) => before.get(t) !== after.get(t) && !recorded.includes(t));
    if (changed.length) problems.push(`refused, but changed table(s): ${changed.join(", ")}`);
  } else if (o.method !== "get") {
    await settle();
    await ensureWorld();
  }
  if (problems.length) {
    throw new Error(
      `${problems.join("; ")}\n  ${o.method.toUpperCase()} ${clip(sent.url, 300)}\n  ${describeCase(c)}\n  → ${sent.status} ${clip(sent.text, 600)}`,
    );
  }
}

// ---- The test -------------------------------------------------------------------------------------

function operations(): Operation[] {
  const list: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const documented = new Set(
        Object.keys(op.responses)
          .filter((s) => s !== "default")
          .map(Number),
      );
      list.push({ label: `${method.toUpperCase()} ${path}`, method, path, op, documented });
    }
  }
  return list;
}

/** Every string (and key) in a value with a NUL put in its middle. */
function withNul(value: unknown): unknown {
  if (typeof value === "string") return `${value.slice(0, 1)}\u0000${value.slice(1)}`;
  if (Array.isArray(value)) return value.map(withNul);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withNul(v)]));
  }
  return value;
}

describe("hostile-API fuzz", () => {
  it("refuses a NUL in any string of a body, query or call metadata with 400 (PostgreSQL cannot store it)", async () => {
    await ensureWorld();
    const problems: string[] = [];
    let probes = 0;
    for (const o of operations()) {
      const json = o.op.requestBody?.content["application/json"]?.schema;
      const queryParams = (o.op.parameters ?? []).filter(
        (p) => p.in === "query" && p.schema.type === "string",
      );
      if (!json && !queryParams.length) continue;
      const roles = (o.op["x-roles"] ?? []) as ("owner" | "manager" | "staff")[];
      const actor: Actor = roles.length ? { kind: "role", role: roles[0]! } : { kind: "anonymous" };
      const path: Record<string, IdChoice> = {};
      for (const p of (o.op.parameters ?? []).filter((p) => p.in === "path")) {
        const own = kindOfPath[o.path.split("/").at(o.path.split("/").indexOf(`{${p.name}}`) - 1) ?? ""];
        path[p.name] = own ? { kind: "known", owner: "attacker", key: own[0]! } : { kind: "library" };
      }
      const [base] = fc.sample(schemaValue(json), { seed: 1, numRuns: 1 });
      const tainted = withNul(base ?? {});
      if (json && JSON.stringify(tainted) === JSON.stringify(base)) continue;
      const c: Case = {
        actor,
        path,
        query: json ? [] : queryParams.map((p) => [p.name, "a\u0000b"] as [string, string]),
        body: json ? { kind: "json", value: tainted } : { kind: "none" },
      };
      const sent = await send(o, c);
      probes++;
      if (sent.status !== 400 || !sent.text.includes("NUL")) {
        problems.push(`${o.label} → ${sent.status} ${clip(sent.text, 200)}`);
      }
    }
    const pushed = await pushRecording(`${app.baseUrl}/api/v1/ingest/${attacker.sourceToken}/calls`, wav, {
      externalId: "call\u0000one",
    });
    if (pushed.status !== 400)
      problems.push(`ingest metadata → ${pushed.status} ${JSON.stringify(pushed.body)}`);
    expect(probes).toBeGreaterThan(20);
    expect(problems).toEqual([]);
  });

  it(
    "answers every operation's hostile requests with a documented status, never a 5xx, and refusals change nothing",
    async () => {
      const all = operations();
      expect(all.length).toBeGreaterThan(50);
      const chosen = ONLY ? all.filter((o) => o.label === ONLY) : all;
      expect(chosen.length, `FUZZ_ROUTE=${ONLY} names no operation`).toBeGreaterThan(0);
      const perOperation = Math.max(1, Math.ceil(RUNS / chosen.length));
      console.log(
        `hostile-API fuzz: seed ${BASE_SEED}, ${perOperation} case(s) × ${chosen.length} operation(s)`,
      );
      const failures: string[] = [];
      for (const o of chosen) {
        const seed = BASE_SEED + all.indexOf(o);
        await ensureWorld();
        const result = await fc.check(
          fc.asyncProperty(caseArb(o), (c) => runCase(o, c)),
          { numRuns: perOperation, seed, endOnFailure: !SHRINK },
        );
        if (result.failed) {
          const error =
            result.errorInstance instanceof Error
              ? result.errorInstance.message
              : String(result.errorInstance);
          failures.push(
            `${o.label} — after ${result.numRuns} case(s); replay: FUZZ_SEED=${BASE_SEED} FUZZ_ROUTE="${o.label}" (fast-check seed ${seed}, path ${result.counterexamplePath})\n  ${error}`,
          );
        }
      }
      const summary = [...statusCounts]
        .map(([label, counts]) => `${label}: ${[...counts].map(([s, n]) => `${s}×${n}`).join(" ")}`)
        .join("\n");
      console.log(`hostile-API fuzz answers (seed ${BASE_SEED}):\n${summary}`);
      expect(failures, `seed ${BASE_SEED}:\n${failures.join("\n\n")}`).toEqual([]);
    },
    Math.max(180_000, RUNS * 200),
  );
});
