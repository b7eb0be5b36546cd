import type { Request } from "express";
import { z } from "zod";
import type { Caller } from "../../../../shared/accounts/caller.ts";
import { blockProcessing } from "../../../../shared/privacy/block-processing.ts";
import { cancelAccountDeletion } from "../../../../shared/privacy/cancel-account-deletion.ts";
import { closeAccount } from "../../../../shared/privacy/close-account.ts";
import { exportAccountData } from "../../../../shared/privacy/export-account-data.ts";
import { requestAccountDeletion } from "../../../../shared/privacy/request-account-deletion.ts";
import { unblockProcessing } from "../../../../shared/privacy/unblock-processing.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, type AuthContext, defineRoute } from "../../http/route.ts";
import { AUDIO_URL_TTL_SEC } from "../calls/calls.routes.ts";
import { accountSettingsDto, toAccountSettingsDto } from "./account.dto.ts";
import { writeAccountExport } from "./account-export.writer.ts";

const deletionDto = z.object({ requestedAt: z.string(), deleteBy: z.string() });

/** These entries have always recorded Express' `req.ip` alone (no socket fallback). */
const callerWithReqIp = (auth: AuthContext, req: Request): Caller => ({
  user: auth.user,
  account: auth.account,
  ip: req.ip ?? null,
});

/**
 * PRODUCT.md "Data lifecycle and privacy": closing the agreement, the data subject's rights (export,
 * blocking, deletion). Each action is audited in its own transaction.
 */
export function privacyRoutes(deps: ApiDeps): AnyRoute[] {
  const ops = { db: deps.database.db, queue: deps.queue, clock: deps.clock, storage: deps.storage };
  return [
    defineRoute({
      method: "post",
      path: "/api/v1/account/close",
      summary:
        "End the agreement: no new calls are accepted or processed; data is kept until retention ends (at most 3 years).",
      tag: "account",
      access: ["owner"],
      responses: { 200: { description: "Closed (also when it already was)", schema: accountSettingsDto } },
      handler: async ({ auth, req }) => ({
        status: 200,
        body: toAccountSettingsDto(await closeAccount(ops, callerWithReqIp(auth, req))),
      }),
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/account/deletion-request",
      summary: `Ask to delete the account and all its data: deleted after a cancellable grace period (within 30 days).`,
      tag: "account",
      access: ["owner"],
      responses: {
        202: {
          description: "Deletion scheduled (the same answer when already pending)",
          schema: deletionDto,
        },
      },
      handler: async ({ auth, req }) => {
        const { requestedAt, deleteBy } = await requestAccountDeletion(ops, callerWithReqIp(auth, req));
        return {
          status: 202,
          body: { requestedAt: requestedAt.toISOString(), deleteBy: deleteBy.toISOString() },
        };
      },
    }),
    defineRoute({
      method: "delete",
      path: "/api/v1/account/deletion-request",
      summary: "Cancel a pending deletion request (during the grace period).",
      tag: "account",
      access: ["owner"],
      responses: {
        200: { description: "Cancelled", schema: accountSettingsDto },
        409: { description: "No deletion pending (CONFLICT)" },
      },
      handler: async ({ auth, req }) => ({
        status: 200,
        body: toAccountSettingsDto(await cancelAccountDeletion(ops, callerWithReqIp(auth, req))),
      }),
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/account/processing/block",
      summary:
        "Block processing of the account's data: new calls are refused (409 PROCESSING_BLOCKED), queued ones wait; data is kept.",
      tag: "account",
      access: ["owner"],
      responses: { 200: { description: "Blocked (also when it already was)", schema: accountSettingsDto } },
      handler: async ({ auth, req }) => ({
        status: 200,
        body: toAccountSettingsDto(await blockProcessing(ops, callerWithReqIp(auth, req))),
      }),
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/account/processing/unblock",
      summary: "Resume processing: calls that waited are queued again.",
      tag: "account",
      access: ["owner"],
      responses: {
        200: { description: "Unblocked (also when it was not blocked)", schema: accountSettingsDto },
      },
      handler: async ({ auth, req }) => ({
        status: 200,
        body: toAccountSettingsDto(await unblockProcessing(ops, callerWithReqIp(auth, req))),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/account/export",
      summary:
        "Everything the account holds, streamed as one JSON document: account, users and sources (no secrets), calls with transcripts, analyses and signed audio links, ledger, invoices.",
      tag: "account",
      access: ["owner"],
      responses: { 200: { description: "The export (application/json attachment)" } },
      handler: async ({ auth, req, res }) => {
        const data = await exportAccountData(ops, callerWithReqIp(auth, req), {
          audioUrlTtlSec: AUDIO_URL_TTL_SEC,
        });
        await writeAccountExport(res, data);
        return undefined;
      },
    }),
  ];
}
