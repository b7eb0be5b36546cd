import { z } from "zod";
import { AppError } from "../../../../shared/errors/app-error.ts";
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
      summary: "Readiness: the database and object storage answer.",
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
        const checks: Record<string, string> = {};
        const probe = async (name: string, fn: () => Promise<void>) => {
          try {
            await withTimeout(fn(), 3000);
            checks[name] = "ok";
          } catch {
            checks[name] = "unavailable";
          }
        };
        await Promise.all([
          probe("database", () => deps.database.ping()),
          probe("storage", () => deps.storage.ping()),
        ]);
        if (Object.values(checks).some((v) => v !== "ok")) {
          throw new AppError("UNAVAILABLE", `Not ready: ${JSON.stringify(checks)}`, { details: checks });
        }
        return { status: 200, body: { status: "ready", checks } };
      },
    }),
    defineRoute({
      method: "get",
      path: "/metrics",
      summary: "Prometheus metrics.",
      tag: "health",
      access: "public",
      responses: { 200: { description: "Prometheus text format" } },
      handler: async ({ res }) => {
        res.setHeader("Content-Type", deps.metrics.registry.contentType);
        res.status(200).send(await deps.metrics.registry.metrics());
        return undefined;
      },
    }),
  ];
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
