import { z } from "zod";
import {
  deleteSource,
  findSourceStats,
  findSources,
  type SourceRow,
} from "../../../../shared/db/repositories/sources.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import { changeSource } from "../../../../shared/ingest/change-source.ts";
import { connectSource, type SourceDeps } from "../../../../shared/ingest/connect-source.ts";
import { isPullKind, publicSourceConfig } from "../../../../shared/ingest/connectors/index.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";

const createSourceBody = z.object({
  name: z.string().trim().min(1).max(200),
  kind: z.enum(["push", "http_pull", "s3_pull", "zadarma"]),
  operatorChannel: z.enum(["left", "right"]).default("left"),
  requireSignature: z.boolean().default(false),
  processingDelaySec: z.number().int().min(0).max(86_400).default(0),
  config: z.record(z.string(), z.unknown()).default({}),
});

const sourceDto = z.object({
  id: z.uuid(),
  name: z.string(),
  kind: z.enum(["push", "http_pull", "s3_pull", "zadarma"]),
  operatorChannel: z.enum(["left", "right"]),
  requireSignature: z.boolean(),
  enabled: z.boolean(),
  processingDelaySec: z.number().int(),
  /** The kind's settings; credentials are never shown. */
  config: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});
const statusDto = z.object({
  received: z.number().int(),
  failed: z.number().int(),
  lastReceivedAt: z.string().nullable(),
  lastError: z.object({ code: z.string(), message: z.string(), at: z.string() }).nullable(),
  /** Pull sources: when the last pull run ended (null for push sources and before the first run). */
  lastPullAt: z.string().nullable(),
});
const patchSourceBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    enabled: z.boolean(),
    operatorChannel: z.enum(["left", "right"]),
    /** Wait this long before processing each call (at most a day). */
    processingDelaySec: z.number().int().min(0).max(86_400),
    requireSignature: z.boolean(),
    /**
     * Pull sources: settings and credentials to change (other keys are kept; null removes an optional
     * one). A new `since` restarts the source from that date (already received calls are not taken twice).
     */
    config: z.record(z.string(), z.unknown()),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, "nothing to change");
const createdSourceDto = sourceDto.extend({
  token: z.string(),
  ingestUrl: z.url(),
  signingSecret: z.string(),
});

const toDto = (s: SourceRow): z.infer<typeof sourceDto> => ({
  id: s.id,
  name: s.name,
  kind: s.kind,
  operatorChannel: s.operatorChannel,
  requireSignature: s.requireSignature,
  enabled: s.enabled,
  processingDelaySec: s.processingDelaySec,
  config: isPullKind(s.kind) ? publicSourceConfig(s.config) : s.config,
  createdAt: s.createdAt.toISOString(),
});

/** The later of the calls' last failure and the source's last pull error. */
function latestError(
  a: { code: string; message: string; at: Date } | null | undefined,
  row: SourceRow,
): { code: string; message: string; at: string } | null {
  const b =
    row.lastPullErrorCode && row.lastPullErrorAt
      ? { code: row.lastPullErrorCode, message: row.lastPullErrorMessage ?? "", at: row.lastPullErrorAt }
      : null;
  const e = a && b ? (a.at > b.at ? a : b) : (a ?? b);
  return e ? { ...e, at: e.at.toISOString() } : null;
}

export function sourcesRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  const sourceDeps: SourceDeps = {
    database: deps.database,
    clock: deps.clock,
    appSecret: deps.config.appSecret,
    requirePublicEndpoints: deps.config.env === "production",
  };
  return [
    defineRoute({
      method: "post",
      path: "/api/v1/sources",
      summary: "Connect a data source; its token and signing secret are shown only in this answer.",
      tag: "sources",
      access: ["owner"],
      body: createSourceBody,
      responses: { 201: { description: "Created", schema: createdSourceDto } },
      handler: async ({ body, auth }) => {
        const { source, token, signingSecret } = await connectSource(sourceDeps, {
          accountId: auth.account.id,
          ...body,
        });
        const ingestUrl = `${deps.config.publicUrl}/api/v1/ingest/${token}/calls`;
        return { status: 201, body: { ...toDto(source), token, signingSecret, ingestUrl } };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/sources",
      summary: "The account's data sources, with what each has delivered.",
      tag: "sources",
      access: ["owner", "manager"],
      responses: {
        200: {
          description: "Sources",
          schema: z.object({ items: z.array(sourceDto.extend({ status: statusDto })) }),
        },
      },
      handler: async ({ auth }) => {
        const [rows, stats] = await Promise.all([
          findSources(db, auth.account.id),
          findSourceStats(db, auth.account.id),
        ]);
        const bySource = new Map(stats.map((st) => [st.sourceId, st]));
        const items = rows.map((row) => {
          const st = bySource.get(row.id);
          return {
            ...toDto(row),
            status: {
              received: st?.received ?? 0,
              failed: (st?.failed ?? 0) + row.pullFailed,
              lastReceivedAt: st?.lastReceivedAt?.toISOString() ?? null,
              lastError: latestError(st?.lastError, row),
              lastPullAt: row.lastPullAt?.toISOString() ?? null,
            },
          };
        });
        return { status: 200, body: { items } };
      },
    }),
    defineRoute({
      method: "patch",
      path: "/api/v1/sources/{id}",
      summary:
        "Change a source's settings: enabled, operator channel, processing delay, signatures, name, and a pull source's config and credentials.",
      tag: "sources",
      access: ["owner"],
      params: z.object({ id: z.uuid() }),
      body: patchSourceBody,
      responses: {
        200: { description: "Updated", schema: sourceDto },
        404: { description: "No such source" },
      },
      handler: async ({ params, body, auth }) => {
        const row = await changeSource(sourceDeps, {
          accountId: auth.account.id,
          sourceId: params.id,
          change: body,
        });
        return { status: 200, body: toDto(row) };
      },
    }),
    defineRoute({
      method: "delete",
      path: "/api/v1/sources/{id}",
      summary: "Delete a source and revoke its token.",
      tag: "sources",
      access: ["owner"],
      params: z.object({ id: z.uuid() }),
      responses: { 204: { description: "Deleted" }, 404: { description: "No such source" } },
      handler: async ({ params, auth }) => {
        if (!(await deleteSource(db, auth.account.id, params.id, deps.clock()))) {
          throw new AppError("NOT_FOUND", "Source not found.");
        }
        return { status: 204 };
      },
    }),
  ];
}
