import { z } from "zod";
import { recordAudit } from "../../../../shared/audit/audit-log.ts";
import { grantWelcomeBonus } from "../../../../shared/billing/balance.ts";
import {
  createAccount,
  createSession,
  createUser,
  findUserByEmail,
  getAccount,
  revokeSession,
} from "../../../../shared/db/repositories/accounts.repository.ts";
import {
  clearLoginFailures,
  deleteLoginFailure,
  deleteRegistrationAttempt,
  loginFailureCounts,
  pruneLoginFailures,
  recordLoginFailure,
  recordRegistrationAttempt,
  revokeUserSessions,
  setUserEmail,
  setUserPassword,
} from "../../../../shared/db/repositories/users.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import { passwordProblem } from "../../../../shared/security/password-policy.ts";
import {
  burnPasswordCheck,
  hashPassword,
  needsRehash,
  verifyPassword,
} from "../../../../shared/security/passwords.ts";
import { hashToken, newToken } from "../../../../shared/security/tokens.ts";
import type { ApiDeps } from "../../api-deps.ts";
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
  toUserDto,
  userDto,
} from "./auth.dto.ts";

/** Express resolves `req.ip` through TRUST_PROXY, so behind a load balancer this is the client's address. */
export const clientAddress = (req: {
  ip?: string | undefined;
  socket: { remoteAddress?: string | undefined };
}) => req.ip ?? req.socket.remoteAddress ?? "unknown";

export function authRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  const issueToken = async (userId: string) => {
    const token = newToken("tyn");
    await createSession(db, {
      userId,
      tokenHash: hashToken(token),
      expiresAt: new Date(deps.clock().getTime() + deps.config.security.sessionTtlHours * 3600_000),
    });
    return token;
  };

  /**
   * 429 with Retry-After when the e-mail or the address has used up its failed attempts in the window.
   * The counts include this attempt (recorded as a failure before the check), so of N guesses sent at
   * once no more than the limit get their password checked.
   */
  const refuseWhenThrottled = async (email: string, ip: string, now: Date) => {
    const { loginMaxFailuresPerEmail, loginMaxFailuresPerAddress, loginFailureWindowSec } =
      deps.config.security;
    const windowMs = loginFailureWindowSec * 1000;
    const counts = await loginFailureCounts(db, { email, ip, since: new Date(now.getTime() - windowMs) });
    const blockedBy = [
      counts.email.count > loginMaxFailuresPerEmail ? counts.email.oldest : null,
      counts.ip.count > loginMaxFailuresPerAddress ? counts.ip.oldest : null,
    ].filter((d): d is Date => d !== null);
    if (blockedBy.length === 0) return;
    const until = Math.max(...blockedBy.map((d) => new Date(d).getTime() + windowMs));
    const retryAfter = Math.max(1, Math.ceil((until - now.getTime()) / 1000));
    throw new AppError("RATE_LIMITED", "Too many failed sign-in attempts; try again later.", {
      headers: { "Retry-After": String(retryAfter) },
    });
  };

  /** The register throttle: at most REGISTER_MAX_PER_ADDRESS registrations per address per window. */
  const refuseRegistrationFlood = async (ip: string, now: Date) => {
    const { registerMaxPerAddress, registerWindowSec } = deps.config.security;
    const windowMs = registerWindowSec * 1000;
    const attempt = await recordRegistrationAttempt(db, {
      ip,
      at: now,
      since: new Date(now.getTime() - windowMs),
    });
    if (attempt.count <= registerMaxPerAddress) return;
    // A refused attempt does not count: the window ends as if it had not been made.
    await deleteRegistrationAttempt(db, attempt.id);
    const retryAfter = Math.max(1, Math.ceil((attempt.oldest.getTime() + windowMs - now.getTime()) / 1000));
    throw new AppError("RATE_LIMITED", "Too many registrations from this address; try again later.", {
      headers: { "Retry-After": String(retryAfter) },
    });
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
        429: { description: "Too many registrations from this address (Retry-After)" },
      },
      handler: async ({ body, req }) => {
        // Cheap checks first (the body's rules were checked on parsing): the throttle, then whether the
        // e-mail is free; only then the deliberately expensive hash. API.md answers a taken e-mail 409.
        const now = deps.clock();
        await refuseRegistrationFlood(clientAddress(req), now);
        if (await findUserByEmail(db, body.email)) {
          throw new AppError("CONFLICT", "An account with this e-mail already exists.");
        }
        const passwordHash = await hashPassword(body.password);
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
        403: { description: "The account is blocked by staff (ACCOUNT_BLOCKED)" },
        429: { description: "Too many failed attempts for this e-mail or address (Retry-After)" },
      },
      handler: async ({ body, req }) => {
        const ip = clientAddress(req);
        const now = deps.clock();
        const windowMs = deps.config.security.loginFailureWindowSec * 1000;
        // Counted as a failure until proven otherwise: recorded before the throttle's count.
        const attemptId = await recordLoginFailure(db, { email: body.email, ip, at: now });
        try {
          await refuseWhenThrottled(body.email, ip, now);
        } catch (error) {
          await deleteLoginFailure(db, attemptId);
          throw error;
        }
        const fail = async () => {
          await pruneLoginFailures(db, { email: body.email, ip, before: new Date(now.getTime() - windowMs) });
          return new AppError("UNAUTHENTICATED", "Wrong e-mail or password.");
        };
        const user = await findUserByEmail(db, body.email);
        if (!user) {
          await burnPasswordCheck(body.password);
          throw await fail();
        }
        if (!(await verifyPassword(body.password, user.passwordHash))) throw await fail();
        const account = await getAccount(db, user.accountId);
        if (!account) throw await fail();
        // The right password: this attempt was no failure (and, below, neither were the earlier ones).
        await deleteLoginFailure(db, attemptId);
        // Said only after the right password, so the block is no oracle for guessers.
        if (account.status === "blocked") {
          throw new AppError("ACCOUNT_BLOCKED", "This account is blocked by the service's staff.");
        }
        await clearLoginFailures(db, body.email);
        // A hash made with weaker parameters than today's is replaced while the password is at hand.
        if (needsRehash(user.passwordHash)) {
          await setUserPassword(db, user.id, await hashPassword(body.password));
        }
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
      handler: async ({ body, auth, req }) => {
        if (!(await verifyPassword(body.currentPassword, auth.user.passwordHash))) {
          throw new AppError("FORBIDDEN", "The current password is wrong.");
        }
        const user = await db.transaction(async (tx) => {
          const user = await setUserEmail(tx, auth.user.id, body.email);
          if (!user) throw new AppError("CONFLICT", "A user with this e-mail already exists.");
          await recordAudit(tx, {
            accountId: auth.user.role === "staff" ? null : auth.account.id,
            actor: { userId: auth.user.id, role: auth.user.role, ip: clientAddress(req) },
            action: "user.update",
            objectType: "user",
            objectId: auth.user.id,
            details: { fields: ["email"] },
          });
          return user;
        });
        return { status: 200, body: { user: toUserDto(user) } };
      },
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
        if (!(await verifyPassword(body.currentPassword, auth.user.passwordHash))) {
          throw new AppError("FORBIDDEN", "The current password is wrong.");
        }
        const problem = passwordProblem(body.newPassword, auth.user.email);
        if (problem)
          throw new AppError("VALIDATION_FAILED", problem, {
            details: [{ path: "body.newPassword", message: problem }],
          });
        const passwordHash = await hashPassword(body.newPassword);
        const now = deps.clock();
        await db.transaction(async (tx) => {
          await setUserPassword(tx, auth.user.id, passwordHash);
          const revoked = await revokeUserSessions(tx, auth.user.id, now, auth.sessionId);
          await recordAudit(tx, {
            accountId: auth.user.role === "staff" ? null : auth.account.id,
            actor: { userId: auth.user.id, role: auth.user.role, ip: clientAddress(req) },
            action: "user.password_change",
            objectType: "user",
            objectId: auth.user.id,
            details: { revokedSessions: revoked },
          });
        });
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
      handler: async ({ body, auth, req }) => {
        const passwordHash = await hashPassword(body.password);
        const user = await db.transaction(async (tx) => {
          const user = await createUser(tx, {
            accountId: auth.account.id,
            email: body.email,
            passwordHash,
            role: body.role,
          });
          if (!user) throw new AppError("CONFLICT", "A user with this e-mail already exists.");
          await recordAudit(tx, {
            accountId: auth.account.id,
            actor: { userId: auth.user.id, role: auth.user.role, ip: clientAddress(req) },
            action: "user.create",
            objectType: "user",
            objectId: user.id,
            details: { role: user.role },
          });
          return user;
        });
        return { status: 201, body: toUserDto(user) };
      },
    }),
  ];
}
