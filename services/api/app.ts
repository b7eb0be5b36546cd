import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Request } from "express";
import helmet from "helmet";
import { findActiveSession } from "../../shared/db/repositories/accounts.repository.ts";
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
} from "../../shared/db/repositories/idempotency.repository.ts";
import { AppError } from "../../shared/errors/app-error.ts";
import { hashToken } from "../../shared/security/tokens.ts";
import type { ApiDeps } from "./api-deps.ts";
import { errorHandler, notFoundHandler } from "./http/errors.ts";
import { buildOpenApiDocument } from "./http/openapi.ts";
import { requestContext } from "./http/request-context.ts";
import { type AnyRoute, type AuthContext, defineRoute, mountRoutes } from "./http/route.ts";
import { accountRoutes } from "./routes/account/account.routes.ts";
import { auditRoutes } from "./routes/account/audit.routes.ts";
import { privacyRoutes } from "./routes/account/privacy.routes.ts";
import { adminAccountsRoutes } from "./routes/admin/admin-accounts.routes.ts";
import { adminInvoicesRoutes } from "./routes/admin/admin-invoices.routes.ts";
import { adminPaymentsRoutes } from "./routes/admin/admin-payments.routes.ts";
import { authRoutes } from "./routes/auth/auth.routes.ts";
import { billingRoutes } from "./routes/billing/billing.routes.ts";
import { invoicesRoutes } from "./routes/billing/invoices.routes.ts";
import { paymentsRoutes } from "./routes/billing/payments.routes.ts";
import { sandboxCheckoutRoutes } from "./routes/billing/sandbox-checkout.routes.ts";
import { callsRoutes } from "./routes/calls/calls.routes.ts";
import { filesRoutes } from "./routes/files/files.routes.ts";
import { healthRoutes } from "./routes/health/health.routes.ts";
import { ingestRoutes } from "./routes/ingest/ingest.routes.ts";
import { reportsRoutes } from "./routes/reports/reports.routes.ts";
import { sourcesRoutes } from "./routes/sources/sources.routes.ts";
import { templateLibraryRoutes } from "./routes/templates/template-library.routes.ts";
import { templatesRoutes } from "./routes/templates/templates.routes.ts";
import { usersRoutes } from "./routes/users/users.routes.ts";

const webDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "web");
export const API_VERSION = "1.0.0";

/** Every route of the API, in one list: the router, the OpenAPI document and the role table come from it. */
export function allRoutes(deps: ApiDeps): AnyRoute[] {
  const routes: AnyRoute[] = [
    ...healthRoutes(deps),
    ...authRoutes(deps),
    ...usersRoutes(deps),
    ...accountRoutes(deps),
    ...privacyRoutes(deps),
    ...auditRoutes(deps),
    ...sourcesRoutes(deps),
    ...ingestRoutes(deps),
    // Before callsRoutes: /calls/export.csv must not be taken for /calls/{id}.
    ...reportsRoutes(deps),
    ...callsRoutes(deps),
    // Before templatesRoutes: /templates/library must not be taken for /templates/{id}.
    ...templateLibraryRoutes(deps),
    ...templatesRoutes(deps),
    ...billingRoutes(deps),
    ...filesRoutes(deps),
    ...paymentsRoutes(deps),
    ...invoicesRoutes(deps),
    ...sandboxCheckoutRoutes(deps),
    ...adminAccountsRoutes(deps),
    ...adminPaymentsRoutes(deps),
    ...adminInvoicesRoutes(deps),
  ];
  routes.push(
    defineRoute({
      method: "get",
      path: "/api/v1/openapi.json",
      summary: "This document.",
      tag: "meta",
      access: "public",
      responses: { 200: { description: "OpenAPI 3.0 document" } },
      handler: async () => ({
        status: 200,
        body: buildOpenApiDocument(routes, { version: API_VERSION, serverUrl: deps.config.publicUrl }),
      }),
    }),
  );
  return routes;
}

/** The HTTP app without listening (tests mount it on port 0). */
export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  // TRUST_PROXY: which hops may set X-Forwarded-For, so req.ip is the client behind a load balancer.
  app.set("trust proxy", deps.config.security.trustProxy);
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: { "media-src": ["'self'", "blob:", "https:", "http:"], "connect-src": ["'self'"] },
      },
    }),
  );
  app.use(requestContext(deps.logger, deps.metrics));
  app.use(corsPolicy(deps.config.security.corsOrigins));

  const authenticate = async (req: Request): Promise<AuthContext | undefined> => {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+([\w-]{10,200})$/i.exec(header);
    if (!match?.[1]) return undefined;
    const found = await findActiveSession(deps.database.db, hashToken(match[1]), deps.clock());
    if (!found) return undefined;
    // A staff block stops tokens already issued, not only new sign-ins (PRODUCT.md "A blocked account").
    if (found.account.status === "blocked") {
      throw new AppError("ACCOUNT_BLOCKED", "The account is blocked by the service's staff.");
    }
    return { sessionId: found.sessionId, user: found.user, account: found.account };
  };

  const router = express.Router();
  const db = deps.database.db;
  mountRoutes(router, allRoutes(deps), {
    authenticate,
    idempotency: {
      claim: (input) => claimIdempotencyKey(db, input),
      complete: (input, tx) => completeIdempotencyKey(tx ?? db, input),
      release: (accountId, key) => releaseIdempotencyKey(db, accountId, key),
    },
    jsonParser: express.json({ limit: "1mb", strict: true, type: "application/json" }),
  });
  app.use(router);
  app.use(express.static(webDir, { index: "index.html", maxAge: "1h" }));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}

/**
 * Strict CORS: no cross-origin access unless the request's Origin is listed in CORS_ORIGINS. Listed
 * origins get the CORS headers (bearer tokens only, no credentials mode); preflights from them get 204,
 * preflights from anywhere else 403 without CORS headers, so the browser blocks the request.
 */
export function corsPolicy(allowed: readonly string[]): express.RequestHandler {
  const origins = new Set(allowed);
  return (req, res, next) => {
    const origin = req.headers.origin;
    const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    if (!origin || !origins.has(origin)) {
      if (preflight && origin) {
        res.status(403).end();
        return;
      }
      next();
      return;
    }
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Vary", "Origin");
    res.setHeader("Access-Control-Expose-Headers", "Retry-After, Content-Disposition");
    if (preflight) {
      res.setHeader("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE");
      res.setHeader("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key");
      res.setHeader("Access-Control-Max-Age", "600");
      res.status(204).end();
      return;
    }
    next();
  };
}
