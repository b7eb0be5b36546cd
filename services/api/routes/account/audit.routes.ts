import { z } from "zod";
import { auditActions } from "../../../../shared/audit/audit-log.ts";
import { type AuditRow, listAuditEntries } from "../../../../shared/db/repositories/audit.repository.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { fetchPage, pageOf, pageQuery } from "../../http/cursor.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";

const auditEntryDto = z.object({
  id: z.uuid(),
  at: z.string(),
  action: z.string(),
  actorUserId: z.string().nullable(),
  actorRole: z.string(),
  objectType: z.string(),
  objectId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  ip: z.string().nullable(),
});

const auditQuery = pageQuery.extend({
  action: z.enum(auditActions).optional(),
  userId: z.uuid().optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

const toDto = (r: AuditRow): z.infer<typeof auditEntryDto> => ({
  id: r.id,
  at: r.createdAt.toISOString(),
  action: r.action,
  actorUserId: r.actorUserId,
  actorRole: r.actorRole,
  objectType: r.objectType,
  objectId: r.objectId,
  details: r.details,
  ip: r.ip,
});

export function auditRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/account/audit",
      summary:
        "The account's audit log, newest first; filter by action, acting user and time (from ≤ at < to).",
      tag: "account",
      access: ["owner"],
      query: auditQuery,
      responses: { 200: { description: "Audit entries", schema: pageOf(auditEntryDto) } },
      handler: async ({ query, auth }) => {
        const filter = {
          action: query.action,
          userId: query.userId,
          from: query.from ? new Date(query.from) : undefined,
          to: query.to ? new Date(query.to) : undefined,
        };
        const page = await fetchPage(
          query,
          (window) => listAuditEntries(db, auth.account.id, filter, window),
          (r) => ({ at: r.createdAt, id: r.id }),
        );
        return { status: 200, body: { items: page.rows.map(toDto), nextCursor: page.nextCursor } };
      },
    }),
  ];
}
