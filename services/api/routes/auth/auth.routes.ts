import { z } from "zod";
import { addUser } from "../../../../shared/accounts/add-user.ts";
import { changeEmail } from "../../../../shared/accounts/change-email.ts";
import { changePassword } from "../../../../shared/accounts/change-password.ts";
import { signIn } from "../../../../shared/accounts/sign-in.ts";
import { signOut } from "../../../../shared/accounts/sign-out.ts";
import { signUp } from "../../../../shared/accounts/sign-up.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { callerOf, clientAddress } from "../../http/caller.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import {
  accountDto,
  changePasswordBody,
  createUserBody,
  loginBody,
  patchMeBody,
  registerBody,
  sessionDto,
  toAccountDto,
  toSessionDto,
  toUserDto,
  userDto,
} from "./auth.dto.ts";

export function authRoutes(deps: ApiDeps): AnyRoute[] {
  const ops = { db: deps.database.db, clock: deps.clock, security: deps.config.security };
  return [
    defineRoute({
      method: "post",
      path: "/api/v1/auth/register",
      summary: "Create an account with its owner; credits the welcome bonus.",
      tag: "auth",
      access: "public",
      body: registerBody,
      responses: {
        201: { description: "Registered", schema: sessionDto },
        409: { description: "E-mail taken" },
        429: { description: "Too many registrations from this address (Retry-After)" },
      },
      handler: async ({ body, req }) => ({
        status: 201,
        body: toSessionDto(await signUp(ops, { ...body, ip: clientAddress(req) })),
      }),
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/auth/login",
      summary: "Sign in with e-mail and password.",
      tag: "auth",
      access: "public",
      body: loginBody,
      responses: {
        200: { description: "Signed in", schema: sessionDto },
        401: { description: "Wrong credentials" },
        403: { description: "The account is blocked by staff (ACCOUNT_BLOCKED)" },
        429: { description: "Too many failed attempts for this e-mail or address (Retry-After)" },
      },
      handler: async ({ body, req }) => ({
        status: 200,
        body: toSessionDto(await signIn(ops, { ...body, ip: clientAddress(req) })),
      }),
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/auth/logout",
      summary: "Revoke the current token.",
      tag: "auth",
      access: ["owner", "manager", "staff"],
      responses: { 204: { description: "Revoked" } },
      handler: async ({ auth }) => {
        await signOut(ops, auth.sessionId);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: "patch",
      path: "/api/v1/me",
      summary: "Correct your own sign-in e-mail; your current password confirms the change.",
      tag: "auth",
      access: ["owner", "manager", "staff"],
      body: patchMeBody,
      responses: {
        200: { description: "Updated", schema: z.object({ user: userDto }) },
        403: { description: "The current password is wrong" },
        409: { description: "Another user has this e-mail" },
      },
      handler: async ({ body, auth, req }) => ({
        status: 200,
        body: { user: toUserDto(await changeEmail(ops, callerOf(auth, req), body)) },
      }),
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/me/password",
      summary: "Change your password; every other token of yours is revoked, this one stays valid.",
      tag: "auth",
      access: ["owner", "manager", "staff"],
      body: changePasswordBody,
      responses: {
        204: { description: "Changed" },
        400: { description: "The new password breaks the password rules" },
        403: { description: "The current password is wrong" },
      },
      handler: async ({ body, auth, req }) => {
        await changePassword(ops, { ...callerOf(auth, req), sessionId: auth.sessionId }, body);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/me",
      summary: "The signed-in user and their account.",
      tag: "auth",
      access: ["owner", "manager", "staff"],
      responses: { 200: { description: "Me", schema: z.object({ user: userDto, account: accountDto }) } },
      handler: async ({ auth }) => ({
        status: 200,
        body: { user: toUserDto(auth.user), account: toAccountDto(auth.account) },
      }),
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/users",
      summary: "Add a user (manager or owner) to the account.",
      tag: "auth",
      access: ["owner"],
      body: createUserBody,
      responses: { 201: { description: "Created", schema: userDto }, 409: { description: "E-mail taken" } },
      handler: async ({ body, auth, req }) => ({
        status: 201,
        body: toUserDto(await addUser(ops, callerOf(auth, req), body)),
      }),
    }),
  ];
}
