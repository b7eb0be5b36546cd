import { createHash } from "node:crypto";
import type { Request, RequestHandler, Response, Router } from "express";
import type { z } from "zod";
import type { Db } from "../../../shared/db/client.ts";
import type { AccountRow, Role, UserRow } from "../../../shared/db/repositories/accounts.repository.ts";
import { AppError, httpStatusOf } from "../../../shared/errors/app-error.ts";
import type { Logger } from "../../../shared/logging/logger.ts";

export interface AuthContext {
  sessionId: string;
  user: UserRow;
  account: AccountRow;
}

export interface HandlerContext<B, Q, P> {
  req: Request;
  res: Response;
  body: B;
  query: Q;
  params: P;
  /** Present on every route whose `access` is not "public" or "token". */
  auth: AuthContext;
  log: Logger;
  /**
   * Stores `result` as the answer to this request's Idempotency-Key inside the caller's transaction (a
   * no-op without a key): a money action passes it the transaction that moves the money, so once the effect
   * commits, its key can only replay this answer and is never released for a second run — whatever fails
   * or crashes after the commit. Return the same result from the handler.
   */
  keepAnswer: (tx: Db, result: { status: number; body?: unknown }) => Promise<void>;
}

export type HandlerResult = { status: number; body?: unknown; headers?: Record<string, string> } | undefined;

/**
 * One route: its access rule declared next to it, its schemas (which validate and also make the OpenAPI
 * document) and a thin handler. `access`: "public" (no auth), "token" (the handler authenticates itself,
 * e.g. ingest tokens or signed URLs), or the roles allowed.
 */
export interface RouteSpec<
  B extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  P extends z.ZodType = z.ZodType,
> {
  method: "get" | "post" | "patch" | "delete";
  path: string;
  summary: string;
  tag: string;
  access: "public" | "token" | readonly Role[];
  body?: B;
  query?: Q;
  params?: P;
  /**
   * Honour an `Idempotency-Key` header: the first request with a key runs, a repeat of the same request
   * gets the same answer, a different request with that key gets 409 (per account). For money actions.
   */
  idempotent?: boolean;
  /** Set for multipart/binary endpoints whose handler reads the stream itself. */
  rawBody?: { contentType: string; description: string };
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  handler: (ctx: HandlerContext<z.output<B>, z.output<Q>, z.output<P>>) => Promise<HandlerResult>;
}

// biome-ignore lint/suspicious/noExplicitAny: heterogeneous route list; each spec is checked where it is defined.
export type AnyRoute = RouteSpec<any, any, any>;

export function defineRoute<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType>(
  spec: RouteSpec<B, Q, P>,
): RouteSpec<B, Q, P> {
  return spec;
}

export interface RouteMountDeps {
  authenticate: (req: Request) => Promise<AuthContext | undefined>;
  /** Storage of Idempotency-Key outcomes (routes marked `idempotent`). */
  idempotency?: IdempotencyStore;
  /** Body parser for JSON routes; routes with `rawBody` read their stream themselves. */
  jsonParser: RequestHandler;
}

/** Express path from an OpenAPI-style one: /calls/{id} → /calls/:id. */
export const expressPath = (path: string) => path.replace(/\{(\w+)\}/g, ":$1");

export function mountRoutes(router: Router, routes: readonly AnyRoute[], deps: RouteMountDeps): void {
  for (const route of routes) {
    const parsers = route.rawBody || route.method === "get" ? [] : [deps.jsonParser];
    router[route.method](expressPath(route.path), ...parsers, async (req: Request, res: Response) => {
      const log: Logger = res.locals.log;
      let auth: AuthContext | undefined;
      if (route.access !== "public" && route.access !== "token") {
        auth = await deps.authenticate(req);
        if (!auth) throw new AppError("UNAUTHENTICATED", "Sign in first: a valid bearer token is required.");
        if (!route.access.includes(auth.user.role)) {
          throw new AppError("FORBIDDEN", "Your role does not allow this action.");
        }
        res.locals.accountId = auth.account.id;
      }
      if (route.body && !route.rawBody && !req.is("application/json")) {
        throw new AppError("UNSUPPORTED_MEDIA", "Send the body as application/json.");
      }
      const params = parse(route.params, req.params, "path");
      const query = parse(route.query, req.query, "query");
      const body = route.rawBody ? undefined : parse(route.body, req.body, "body");
      const run = (keepAnswer: HandlerContext<unknown, unknown, unknown>["keepAnswer"]) =>
        route.handler({
          req,
          res,
          body,
          query,
          params,
          auth: auth as AuthContext,
          log: auth ? log.child({ accountId: auth.account.id, userId: auth.user.id }) : log,
          keepAnswer,
        });
      const idempotencyKey = req.headers["idempotency-key"];
      const result =
        route.idempotent && auth && deps.idempotency && typeof idempotencyKey === "string"
          ? await runIdempotently(
              deps.idempotency,
              auth.account.id,
              idempotencyKey,
              route,
              req,
              body,
              res,
              run,
            )
          : await run(async () => {});
      if (!result || res.headersSent) return;
      for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
      if (result.body === undefined) res.status(result.status).end();
      else res.status(result.status).json(result.body);
    });
  }
}

function parse(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (!schema) return value;
  assertNoNul(value, where);
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new AppError("VALIDATION_FAILED", `The request ${where} is invalid.`, {
    details: result.error.issues.map((i) => ({ path: [where, ...i.path].join("."), message: i.message })),
  });
}

export interface IdempotencyStore {
  claim(input: {
    accountId: string;
    key: string;
    requestHash: string;
  }): Promise<
    | { kind: "claimed" }
    | { kind: "replay"; status: number; response: unknown }
    | { kind: "in_progress" }
    | { kind: "mismatch" }
  >;
  /** Stores the answer of a claimed key; through `tx` when given, so it commits with the request's effect. */
  complete(
    input: { accountId: string; key: string; status: number; response: unknown },
    tx?: Db,
  ): Promise<void>;
  /** Frees a claimed key that has no answer yet (one kept in a committed transaction stays). */
  release(accountId: string, key: string): Promise<void>;
}

async function runIdempotently(
  store: IdempotencyStore,
  accountId: string,
  key: string,
  route: AnyRoute,
  req: Request,
  body: unknown,
  res: Response,
  run: (keepAnswer: HandlerContext<unknown, unknown, unknown>["keepAnswer"]) => Promise<HandlerResult>,
): Promise<HandlerResult> {
  if (!/^[\w.:-]{8,200}$/.test(key)) {
    throw new AppError(
      "VALIDATION_FAILED",
      "Idempotency-Key must be 8–200 letters, digits, '-', '_', '.' or ':'.",
    );
  }
  const requestHash = createHash("sha256")
    .update(`${route.method} ${req.path}\n${JSON.stringify(body ?? null)}`)
    .digest("hex");
  const claim = await store.claim({ accountId, key, requestHash });
  if (claim.kind === "mismatch") {
    throw new AppError("CONFLICT", "This Idempotency-Key was already used for a different request.");
  }
  if (claim.kind === "in_progress") {
    throw new AppError("CONFLICT", "A request with this Idempotency-Key is still being processed.", {
      headers: { "Retry-After": "1" },
    });
  }
  if (claim.kind === "replay") {
    res.setHeader("Idempotent-Replayed", "true");
    return { status: claim.status, body: claim.response ?? undefined };
  }
  try {
    const result = await run((tx, answer) =>
      store.complete({ accountId, key, status: answer.status, response: answer.body ?? null }, tx),
    );
    // A no-op when the handler kept its answer in its transaction (only a key without an answer is updated).
    await store.complete({ accountId, key, status: result?.status ?? 200, response: result?.body ?? null });
    return result;
  } catch (error) {
    // A refusal (4xx) is the answer to this request and is kept; our own failure frees the key for a retry
    // — unless the effect committed with its answer (keepAnswer): then the release finds no key to free.
    if (error instanceof AppError && httpStatusOf(error.code) < 500) {
      await store.complete({
        accountId,
        key,
        status: httpStatusOf(error.code),
        response: { error: { code: error.code, message: error.message } },
      });
    } else {
      await store.release(accountId, key);
    }
    throw error;
  }
}

/**
 * PostgreSQL text and jsonb cannot hold U+0000: a NUL anywhere in a request's strings (keys included)
 * is refused here as 400, before it can reach a query and fail there as a 500.
 */
export function assertNoNul(value: unknown, where: string): void {
  const found = findNul(value, where);
  if (found) {
    throw new AppError("VALIDATION_FAILED", `The request ${where} is invalid.`, {
      details: [{ path: found.join("."), message: "must not contain the NUL character (U+0000)" }],
    });
  }
}

interface Trail {
  key: string;
  up: Trail | undefined;
}

function findNul(value: unknown, root: string): string[] | undefined {
  // Iterative, each node pointing to its parent: a body may nest far deeper than the call stack, and
  // copying paths along the way would cost the square of the depth.
  const stack: [unknown, Trail][] = [[value, { key: root, up: undefined }]];
  const pathOf = (t: Trail): string[] => {
    const keys: string[] = [];
    for (let at: Trail | undefined = t; at; at = at.up) keys.push(at.key);
    return keys.reverse();
  };
  while (stack.length) {
    const [node, trail] = stack.pop()!;
    if (typeof node === "string") {
      if (node.includes("\u0000")) return pathOf(trail);
    } else if (node !== null && typeof node === "object") {
      for (const [key, child] of Object.entries(node)) {
        const next = { key, up: trail };
        if (key.includes("\u0000")) return pathOf(next);
        stack.push([child, next]);
      }
    }
  }
  return undefined;
}
