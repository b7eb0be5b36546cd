import { z } from "zod";
import { recordAudit } from "../../../../shared/audit/audit-log.ts";
import { setAccountStatus } from "../../../../shared/db/repositories/accounts.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import { clientAddress } from "../auth/auth.routes.ts";

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
      handler: async ({ params, log, auth, req }) => {
        const account = await deps.database.db.transaction(async (tx) => {
          const account = await setAccountStatus(tx, params.id, action === "block" ? "blocked" : "active");
          if (!account) throw new AppError("NOT_FOUND", "Account not found (or closed).");
          await recordAudit(tx, {
            accountId: account.id,
            actor: { userId: auth.user.id, role: "staff", ip: clientAddress(req) },
            action: action === "block" ? "staff.account_block" : "staff.account_unblock",
            objectType: "account",
            objectId: account.id,
          });
          return account;
        });
        log.info(
          { targetAccountId: account.id, action: `account.${action}` },
          "staff changed an account's status",
        );
        return { status: 200, body: { id: account.id, status: account.status } };
      },
    });
  return [route("block"), route("unblock")];
}
