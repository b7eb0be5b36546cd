import { z } from "zod";
import { recordAuditThrottled } from "../../../../shared/audit/audit-log.ts";
import { getCall } from "../../../../shared/calls/get-call.ts";
import { requestReanalysis } from "../../../../shared/calls/request-reanalysis.ts";
import { findAnalyses, findCalls } from "../../../../shared/db/repositories/calls.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { clientAddress } from "../../http/caller.ts";
import { fetchPage, pageOf, pageQuery } from "../../http/cursor.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import { callDetailDto, callSummaryDto, toCallDetail, toCallSummary } from "./calls.dto.ts";

/** Repeated reads/listens of one call by one user within this window make one audit entry. */
export const AUDIT_READ_THROTTLE_MS = 5 * 60_000;

/** Signed audio links live 5 minutes (API.md: at most 15). */
export const AUDIO_URL_TTL_SEC = 300;

const listQuery = z
  .object({
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    status: z.enum(["received", "awaiting_funds", "processing", "done", "failed"]).optional(),
    operator: z.string().max(200).optional(),
  })
  .extend(pageQuery.shape);
const idParams = z.object({ id: z.uuid() });

export function callsRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/calls",
      summary: "Calls of the account, newest first.",
      tag: "calls",
      access: ["owner", "manager"],
      query: listQuery,
      responses: { 200: { description: "A page", schema: pageOf(callSummaryDto) } },
      handler: async ({ query, auth }) => {
        const { rows, nextCursor } = await fetchPage(
          query,
          ({ limit, after }) =>
            findCalls(db, auth.account.id, {
              from: query.from ? new Date(query.from) : undefined,
              to: query.to ? new Date(query.to) : undefined,
              status: query.status,
              operator: query.operator,
              limit,
              cursor: after ? { createdAt: after.at, id: after.id } : undefined,
            }),
          (call) => ({ at: call.createdAt, id: call.id }),
        );
        return { status: 200, body: { items: rows.map(toCallSummary), nextCursor } };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/calls/{id}",
      summary: "One call's report: dialogue, measurements, answers, cost.",
      tag: "calls",
      access: ["owner", "manager"],
      params: idParams,
      responses: {
        200: { description: "The call", schema: callDetailDto },
        404: { description: "Not found" },
        410: { description: "Deleted when its retention ended (CALL_PURGED)" },
      },
      handler: async ({ params, auth, req }) => {
        const call = await getCall(db, auth.account.id, params.id);
        await recordAuditThrottled(
          db,
          {
            accountId: auth.account.id,
            actor: { userId: auth.user.id, role: auth.user.role, ip: clientAddress(req) },
            action: "call.read",
            objectType: "call",
            objectId: call.id,
          },
          deps.clock(),
          AUDIT_READ_THROTTLE_MS,
        );
        return { status: 200, body: toCallDetail(call, await findAnalyses(db, auth.account.id, call.id)) };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/calls/{id}/audio",
      summary: "Redirect to a short-lived signed URL of the recording (?redirect=false: the URL as JSON).",
      tag: "calls",
      access: ["owner", "manager"],
      params: idParams,
      query: z.object({ redirect: z.enum(["true", "false"]).default("true") }),
      responses: {
        302: { description: "Redirect to the signed URL" },
        200: { description: "The signed URL", schema: z.object({ url: z.string(), expiresAt: z.string() }) },
        404: { description: "Not found" },
        410: { description: "Deleted when its retention ended (CALL_PURGED)" },
      },
      handler: async ({ params, query, auth, log, req }) => {
        const call = await getCall(db, auth.account.id, params.id);
        if (!call.recordingKey) throw new AppError("NOT_FOUND", "Call not found.");
        await recordAuditThrottled(
          db,
          {
            accountId: auth.account.id,
            actor: { userId: auth.user.id, role: auth.user.role, ip: clientAddress(req) },
            action: "call.listen",
            objectType: "call",
            objectId: call.id,
          },
          deps.clock(),
          AUDIT_READ_THROTTLE_MS,
        );
        const url = await deps.storage.signedUrl(call.recordingKey, AUDIO_URL_TTL_SEC);
        log.info({ callId: call.id, action: "audio.listen" }, "audio link issued");
        const headers: Record<string, string> = { "Cache-Control": "no-store" };
        if (query.redirect === "false") {
          const expiresAt = new Date(deps.clock().getTime() + AUDIO_URL_TTL_SEC * 1000).toISOString();
          return { status: 200, body: { url, expiresAt }, headers };
        }
        return { status: 302, headers: { ...headers, Location: url } };
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/calls/{id}/reanalyze",
      summary: "Answer the active templates again for a processed call; billed like a new analysis of it.",
      tag: "calls",
      access: ["owner"],
      idempotent: true,
      params: idParams,
      responses: {
        202: {
          description: "Queued; its cost is held",
          schema: z.object({
            callId: z.uuid(),
            runId: z.uuid(),
            minutes: z.number().int(),
            amount: z.string(),
            currency: z.string(),
          }),
        },
        402: { description: "The balance does not cover it" },
        404: { description: "Not found" },
        409: {
          description:
            "The call is not processed, there is no active template, or the account is closed, blocked or up for deletion",
        },
        410: { description: "Deleted when its retention ended (CALL_PURGED)" },
      },
      handler: async ({ params, auth, keepAnswer }) =>
        // The hold and the Idempotency-Key's answer commit together: a retry after a failure past the
        // commit replays this answer instead of holding a second time.
        requestReanalysis(deps, { account: auth.account, callId: params.id }, async (tx, result) => {
          const answer = {
            status: 202,
            body: {
              callId: params.id,
              runId: result.runId,
              minutes: result.minutes,
              amount: result.amount.toFixed(2),
              currency: result.amount.currency,
            },
          };
          await keepAnswer(tx, answer);
          return answer;
        }),
    }),
  ];
}
