import { updateAccount } from "../../../../shared/accounts/update-account.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { callerOf } from "../../http/caller.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import { accountPatchBody, accountSettingsDto, toAccountSettingsDto } from "./account.dto.ts";

export function accountRoutes(deps: ApiDeps): AnyRoute[] {
  const ops = {
    db: deps.database.db,
    speechProviders: deps.speechProviders,
    analysisProviders: deps.analysisProviders,
  };
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/account",
      summary: "The account's settings.",
      tag: "account",
      access: ["owner", "manager"],
      responses: { 200: { description: "Account", schema: accountSettingsDto } },
      handler: async ({ auth }) => ({ status: 200, body: toAccountSettingsDto(auth.account) }),
    }),
    defineRoute({
      method: "patch",
      path: "/api/v1/account",
      summary: "Change the company name, retention, personal-data masking or the low-balance threshold.",
      tag: "account",
      access: ["owner"],
      body: accountPatchBody,
      responses: { 200: { description: "Updated", schema: accountSettingsDto } },
      handler: async ({ body, auth, req }) => ({
        status: 200,
        body: toAccountSettingsDto(await updateAccount(ops, callerOf(auth, req), body)),
      }),
    }),
  ];
}
