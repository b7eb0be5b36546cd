import { z } from "zod";
import { grantWelcomeBonus } from "../../../../shared/billing/balance.ts";
import {
  createAccount,
  createSession,
  createUser,
  findUserByEmail,
  getAccount,
  revokeSession,
} from "../../../../shared/db/repositories/accounts.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import { burnPasswordCheck, hashPassword, verifyPassword } from "../../../../shared/security/passwords.ts";
import { hashToken, newToken } from "../../../../shared/security/tokens.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import {
  accountDto,
  createUserBody,
  loginBody,
  registerBody,
  sessionDto,
  toAccountDto,
  toUserDto,
  userDto,
} from "./auth.dto.ts";

export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

export function authRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  const issueToken = async (userId: string) => {
    const token = newToken("tyn");
    await createSession(db, {
      userId,
      tokenHash: hashToken(token),
      expiresAt: new Date(deps.clock().getTime() + SESSION_TTL_MS),
    });
    return token;
  };

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
      },
      handler: async ({ body }) => {
        const passwordHash = await hashPassword(body.password);
        const now = deps.clock();
        const { user, account } = await db.transaction(async (tx) => {
          const account = await createAccount(tx, { company: body.company, currency: body.currency });
          const user = await createUser(tx, {
            accountId: account.id,
            email: body.email,
            passwordHash,
            role: "owner",
          });
          if (!user) throw new AppError("CONFLICT", "An account with this e-mail already exists.");
          await grantWelcomeBonus(tx, account, now);
          return { user, account };
        });
        const token = await issueToken(user.id);
        return { status: 201, body: { token, user: toUserDto(user), account: toAccountDto(account) } };
      },
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
      },
      handler: async ({ body }) => {
        const user = await findUserByEmail(db, body.email);
        if (!user) {
          await burnPasswordCheck(body.password);
          throw new AppError("UNAUTHENTICATED", "Wrong e-mail or password.");
        }
        if (!(await verifyPassword(body.password, user.passwordHash))) {
          throw new AppError("UNAUTHENTICATED", "Wrong e-mail or password.");
        }
        const account = await getAccount(db, user.accountId);
        if (!account) throw new AppError("UNAUTHENTICATED", "Wrong e-mail or password.");
        const token = await issueToken(user.id);
        return { status: 200, body: { token, user: toUserDto(user), account: toAccountDto(account) } };
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/auth/logout",
      summary: "Revoke the current token.",
      tag: "auth",
      access: ["owner", "manager", "staff"],
      responses: { 204: { description: "Revoked" } },
      handler: async ({ auth }) => {
        await revokeSession(db, auth.sessionId, deps.clock());
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
      handler: async ({ body, auth }) => {
        const user = await createUser(db, {
          accountId: auth.account.id,
          email: body.email,
          passwordHash: await hashPassword(body.password),
          role: body.role,
        });
        if (!user) throw new AppError("CONFLICT", "A user with this e-mail already exists.");
        return { status: 201, body: toUserDto(user) };
      },
    }),
  ];
}
