import type { Request, RequestHandler, Response, Router } from "express";
import type { z } from "zod";
import type { AccountRow, Role, UserRow } from "../../../shared/db/repositories/accounts.repository.ts";
import { AppError } from "../../../shared/errors/app-error.ts";
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
      const result = await route.handler({
        req,
        res,
        body,
        query,
        params,
        auth: auth as AuthContext,
        log: auth ? log.child({ accountId: auth.account.id, userId: auth.user.id }) : log,
      });
      if (!result || res.headersSent) return;
      for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
      if (result.body === undefined) res.status(result.status).end();
      else res.status(result.status).json(result.body);
    });
  }
}

function parse(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (!schema) return value;
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new AppError("VALIDATION_FAILED", `The request ${where} is invalid.`, {
    details: result.error.issues.map((i) => ({ path: [where, ...i.path].join("."), message: i.message })),
  });
}
