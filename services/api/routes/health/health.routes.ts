import { z } from "zod";
import { migrationsCurrent } from "../../../../shared/db/client.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import { metricsAccess } from "../../../../shared/observability/metrics-access.ts";
import { runChecks } from "../../../../shared/runtime/infrastructure.ts";
import { isShuttingDown } from "../../../../shared/runtime/process.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";

export function healthRoutes(deps: ApiDeps): AnyRoute[] {
  return [
    defineRoute({
      method: "get",
      path: "/healthz",
      summary: "Liveness: the process is up.",
      tag: "health",
      access: "public",
      responses: { 200: { description: "Up", schema: z.object({ status: z.literal("ok") }) } },
      handler: async () => ({ status: 200, body: { status: "ok" } }),
    }),
    defineRoute({
      method: "get",
      path: "/readyz",
      summary:
        "Readiness: the database and object storage answer, migrations are current, not shutting down.",
      tag: "health",
      access: "public",
      responses: {
        200: {
          description: "Ready",
          schema: z.object({ status: z.literal("ready"), checks: z.record(z.string(), z.string()) }),
        },
        503: { description: "A dependency is down" },
      },
      handler: async () => {
        const checks = await runChecks({
          database: () => deps.database.ping(),
          storage: () => deps.storage.ping(),
          migrations: async () => {
            if (!(await migrationsCurrent(deps.database))) throw new Error("pending");
          },
        });
        // Draining after SIGTERM: the load balancer should stop sending requests here.
        if (isShuttingDown()) checks.process = "shutting_down";
        if (Object.values(checks).some((v) => v !== "ok")) {
          throw new AppError("UNAVAILABLE", `Not ready: ${JSON.stringify(checks)}`, { details: checks });
        }
        return { status: 200, body: { status: "ready", checks } };
      },
    }),
    defineRoute({
      method: "get",
      path: "/metrics",
      summary:
        "Prometheus metrics: with METRICS_TOKEN set, only for `Authorization: Bearer <METRICS_TOKEN>`; without it, not served in production.",
      tag: "health",
      access: "token",
      responses: {
        200: { description: "Prometheus text format" },
        401: { description: "METRICS_TOKEN is set and the request does not carry it" },
        404: { description: "Production without METRICS_TOKEN: not served" },
      },
      handler: async ({ req, res }) => {
        const access = metricsAccess(
          { env: deps.config.env, metricsToken: deps.config.security.metricsToken },
          req.headers.authorization,
        );
        if (access === "not_served") throw new AppError("NOT_FOUND", "Not found.");
        if (access === "unauthenticated") {
          throw new AppError("UNAUTHENTICATED", "/metrics needs the metrics token.", {
            headers: { "WWW-Authenticate": "Bearer" },
          });
        }
        res.setHeader("Content-Type", deps.metrics.registry.contentType);
        res.status(200).send(await deps.metrics.registry.metrics());
        return undefined;
      },
    }),
  ];
}
