import { z } from "zod";
import { blockAccount } from "../../../../shared/accounts/block-account.ts";
import { auditActorOf } from "../../../../shared/accounts/caller.ts";
import { unblockAccount } from "../../../../shared/accounts/unblock-account.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { callerOf } from "../../http/caller.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";

const statusDto = z.object({ id: z.uuid(), status: z.enum(["active", "blocked", "closed"]) });

/**
 * Staff block abusive accounts (PRODUCT.md "A blocked account"): its users cannot sign in (403
 * ACCOUNT_BLOCKED), its tokens and sources are refused, no call is accepted or processed and the holds
 * of calls in flight are released; unblocking resumes the calls that waited, in arrival order.
 */
export function adminAccountsRoutes(deps: ApiDeps): AnyRoute[] {
  const ops = { db: deps.database.db, queue: deps.queue, clock: deps.clock };
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
        const input = { accountId: params.id, actor: auditActorOf(callerOf(auth, req)) };
        const { account, releasedCalls } =
          action === "block"
            ? await blockAccount(ops, input)
            : { account: await unblockAccount(ops, input), releasedCalls: 0 };
        log.info(
          { targetAccountId: account.id, action: `account.${action}`, releasedCalls },
          "staff changed an account's status",
        );
        return { status: 200, body: { id: account.id, status: account.status } };
      },
    });
  return [route("block"), route("unblock")];
}
