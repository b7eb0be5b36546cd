import { z } from "zod";
import { setAccountStatus } from "../../../../shared/db/repositories/accounts.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";

const statusDto = z.object({ id: z.uuid(), status: z.enum(["active", "blocked", "closed"]) });

/** Staff block abusive accounts (PRODUCT.md "Who uses it"): a blocked account's recordings are refused. */
export function adminAccountsRoutes(deps: ApiDeps): AnyRoute[] {
  const route = (action: "block" | "unblock") =>
    defineRoute({
      method: "post",
      path: `/api/v1/admin/accounts/{id}/${action}`,
      summary: action === "block" ? "Block an account: new recordings are refused." : "Unblock an account.",
      tag: "admin",
      access: ["staff"],
      params: z.object({ id: z.uuid() }),
      responses: {
        200: { description: "The account's status", schema: statusDto },
        404: { description: "No such account" },
      },
      handler: async ({ params, log }) => {
        const account = await setAccountStatus(
          deps.database.db,
          params.id,
          action === "block" ? "blocked" : "active",
        );
        if (!account) throw new AppError("NOT_FOUND", "Account not found (or closed).");
        log.info(
          { targetAccountId: account.id, action: `account.${action}` },
          "staff changed an account's status",
        );
        return { status: 200, body: { id: account.id, status: account.status } };
      },
    });
  return [route("block"), route("unblock")];
}
