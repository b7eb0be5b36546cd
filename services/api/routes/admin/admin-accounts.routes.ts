import { z } from "zod";
import {
  blockAccount,
  resumeWaitingCalls,
  unblockAccount,
} from "../../../../shared/accounts/block-account.ts";
import { recordAudit } from "../../../../shared/audit/audit-log.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import { clientAddress } from "../auth/auth.routes.ts";

const statusDto = z.object({ id: z.uuid(), status: z.enum(["active", "blocked", "closed"]) });

/**
 * Staff block abusive accounts (PRODUCT.md "A blocked account"): its users cannot sign in (403
 * ACCOUNT_BLOCKED), its tokens and sources are refused, no call is accepted or processed and the holds
 * of calls in flight are released; unblocking resumes the calls that waited, in arrival order.
 */
export function adminAccountsRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  const route = (action: "block" | "unblock") =>
    defineRoute({
      method: "post",
      path: `/api/v1/admin/accounts/{id}/${action}`,
      summary:
        action === "block"
          ? "Block an account: sign-in, tokens and new calls refused (403 ACCOUNT_BLOCKED), holds of calls in flight released."
          : "Unblock an account: the calls that waited are processed in arrival order.",
      tag: "admin",
      access: ["staff"],
      params: z.object({ id: z.uuid() }),
      responses: {
        200: { description: "The account's status", schema: statusDto },
        404: { description: "No such customer account (or it is closed)" },
      },
      handler: async ({ params, log, auth, req }) => {
        const now = deps.clock();
        const { account, releasedCalls } = await db.transaction(async (tx) => {
          const changed =
            action === "block"
              ? await blockAccount(tx, params.id, now)
              : await unblockAccount(tx, params.id).then((account) =>
                  account ? { account, releasedCalls: 0 } : undefined,
                );
          if (!changed) throw new AppError("NOT_FOUND", "Account not found (or closed).");
          await recordAudit(tx, {
            accountId: changed.account.id,
            actor: { userId: auth.user.id, role: "staff", ip: clientAddress(req) },
            action: action === "block" ? "staff.account_block" : "staff.account_unblock",
            objectType: "account",
            objectId: changed.account.id,
            ...(action === "block" ? { details: { releasedCalls: changed.releasedCalls } } : {}),
          });
          return changed;
        });
        if (action === "unblock") {
          await resumeWaitingCalls({ db, queue: deps.queue, clock: deps.clock }, account.id);
        }
        log.info(
          { targetAccountId: account.id, action: `account.${action}`, releasedCalls },
          "staff changed an account's status",
        );
        return { status: 200, body: { id: account.id, status: account.status } };
      },
    });
  return [route("block"), route("unblock")];
}
