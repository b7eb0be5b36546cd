import { z } from "zod";
import { recordAudit } from "../../../../shared/audit/audit-log.ts";
import {
  createSession,
  createUser,
  findUserByEmail,
  getAccount,
} from "../../../../shared/db/repositories/accounts.repository.ts";
import {
  claimInvitation,
  createInvitation,
  deleteAccountUser,
  findOpenInvitation,
  getAccountUser,
  type InvitationRow,
  listAccountUsers,
  listOpenInvitations,
  lockAndCountOwners,
  revokeInvitation,
  setUserRole,
} from "../../../../shared/db/repositories/users.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import { passwordProblem } from "../../../../shared/security/password-policy.ts";
import { hashPassword } from "../../../../shared/security/passwords.ts";
import { hashToken, newToken } from "../../../../shared/security/tokens.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, type AuthContext, defineRoute } from "../../http/route.ts";
import {
  acceptInvitationBody,
  createdInvitationDto,
  invitationDto,
  inviteBody,
  sessionDto,
  toAccountDto,
  toUserDto,
  updateUserBody,
  userDto,
  userIdParams,
  userListDto,
} from "../auth/auth.dto.ts";
import { clientAddress } from "../auth/auth.routes.ts";

const toInvitationDto = (i: InvitationRow): z.infer<typeof invitationDto> => ({
  id: i.id,
  email: i.email,
  role: i.role,
  expiresAt: i.expiresAt.toISOString(),
  createdAt: i.createdAt.toISOString(),
});

/** Owner-managed users of an account: list, change role, remove, invite by e-mail. */
export function usersRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  const actorOf = (auth: AuthContext, req: Parameters<typeof clientAddress>[0]) => ({
    userId: auth.user.id,
    role: auth.user.role,
    ip: clientAddress(req),
  });

  return [
    defineRoute({
      method: "get",
      path: "/api/v1/users",
      summary: "The account's users.",
      tag: "auth",
      access: ["owner"],
      responses: { 200: { description: "Users", schema: userListDto } },
      handler: async ({ auth }) => {
        const rows = await listAccountUsers(db, auth.account.id);
        return {
          status: 200,
          body: { items: rows.map((u) => ({ ...toUserDto(u), createdAt: u.createdAt.toISOString() })) },
        };
      },
    }),
    defineRoute({
      method: "patch",
      path: "/api/v1/users/{id}",
      summary: "Change a user's role (owner ↔ manager); the last owner cannot be demoted.",
      tag: "auth",
      access: ["owner"],
      params: userIdParams,
      body: updateUserBody,
      responses: {
        200: { description: "Updated", schema: userDto },
        404: { description: "No such user in this account" },
        409: { description: "It would leave the account without an owner" },
      },
      handler: async ({ params, body, auth, req }) => {
        const user = await db.transaction(async (tx) => {
          const owners = await lockAndCountOwners(tx, auth.account.id);
          const target = await getAccountUser(tx, auth.account.id, params.id);
          if (!target) throw new AppError("NOT_FOUND", "No such user.");
          if (target.role === "owner" && body.role !== "owner" && owners <= 1) {
            throw new AppError("CONFLICT", "The account must keep at least one owner.");
          }
          const updated = await setUserRole(tx, auth.account.id, params.id, body.role);
          await recordAudit(tx, {
            accountId: auth.account.id,
            actor: actorOf(auth, req),
            action: "user.update",
            objectType: "user",
            objectId: params.id,
            details: { from: target.role, to: body.role },
          });
          return updated!;
        });
        return { status: 200, body: toUserDto(user) };
      },
    }),
    defineRoute({
      method: "delete",
      path: "/api/v1/users/{id}",
      summary: "Remove a user; their tokens stop working at once. The last owner cannot be removed.",
      tag: "auth",
      access: ["owner"],
      params: userIdParams,
      responses: {
        204: { description: "Removed" },
        404: { description: "No such user in this account" },
        409: { description: "It would leave the account without an owner" },
      },
      handler: async ({ params, auth, req }) => {
        await db.transaction(async (tx) => {
          const owners = await lockAndCountOwners(tx, auth.account.id);
          const target = await getAccountUser(tx, auth.account.id, params.id);
          if (!target) throw new AppError("NOT_FOUND", "No such user.");
          if (target.role === "owner" && owners <= 1) {
            throw new AppError("CONFLICT", "The account must keep at least one owner.");
          }
          // Sessions go with the user (foreign key, on delete cascade).
          await deleteAccountUser(tx, auth.account.id, params.id);
          await recordAudit(tx, {
            accountId: auth.account.id,
            actor: actorOf(auth, req),
            action: "user.delete",
            objectType: "user",
            objectId: params.id,
            details: { role: target.role },
          });
        });
        return { status: 204 };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/invitations",
      summary: "Open invitations of the account (not accepted, revoked or expired).",
      tag: "auth",
      access: ["owner"],
      responses: { 200: { description: "Invitations", schema: z.object({ items: z.array(invitationDto) }) } },
      handler: async ({ auth }) => ({
        status: 200,
        body: { items: (await listOpenInvitations(db, auth.account.id, deps.clock())).map(toInvitationDto) },
      }),
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/invitations",
      summary:
        "Invite a user by e-mail: a single-use link valid INVITATION_TTL_HOURS is e-mailed (and returned once).",
      tag: "auth",
      access: ["owner"],
      body: inviteBody,
      responses: {
        201: { description: "Invited", schema: createdInvitationDto },
        409: { description: "The e-mail already has a user" },
      },
      handler: async ({ body, auth, req, log }) => {
        if (await findUserByEmail(db, body.email)) {
          throw new AppError("CONFLICT", "A user with this e-mail already exists.");
        }
        const token = newToken("inv");
        const now = deps.clock();
        const invitation = await db.transaction(async (tx) => {
          const row = await createInvitation(tx, {
            accountId: auth.account.id,
            email: body.email,
            role: body.role,
            tokenHash: hashToken(token),
            invitedBy: auth.user.id,
            expiresAt: new Date(now.getTime() + deps.config.security.invitationTtlHours * 3600_000),
          });
          await recordAudit(tx, {
            accountId: auth.account.id,
            actor: actorOf(auth, req),
            action: "user.invite",
            objectType: "invitation",
            objectId: row.id,
            details: { role: body.role },
          });
          return row;
        });
        // The token travels in the fragment, which browsers never send to a server (nor to its logs).
        const acceptUrl = `${deps.config.publicUrl}/#/invite?token=${token}`;
        try {
          await deps.mailer.send({
            to: [body.email],
            subject: `Tyndau: invitation to ${auth.account.company}`,
            text: `You are invited to ${auth.account.company} on Tyndau as ${body.role}.\n\nSet your password here (valid until ${invitation.expiresAt.toISOString()}):\n${acceptUrl}\n`,
          });
        } catch (error) {
          log.warn({ err: error, invitationId: invitation.id }, "invitation e-mail not sent");
        }
        return { status: 201, body: { ...toInvitationDto(invitation), token, acceptUrl } };
      },
    }),
    defineRoute({
      method: "delete",
      path: "/api/v1/invitations/{id}",
      summary: "Revoke an open invitation.",
      tag: "auth",
      access: ["owner"],
      params: userIdParams,
      responses: { 204: { description: "Revoked" }, 404: { description: "No open invitation with this id" } },
      handler: async ({ params, auth, req }) => {
        await db.transaction(async (tx) => {
          if (!(await revokeInvitation(tx, auth.account.id, params.id, deps.clock()))) {
            throw new AppError("NOT_FOUND", "No open invitation with this id.");
          }
          await recordAudit(tx, {
            accountId: auth.account.id,
            actor: actorOf(auth, req),
            action: "user.invitation_revoke",
            objectType: "invitation",
            objectId: params.id,
          });
        });
        return { status: 204 };
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/invitations/accept",
      summary: "Accept an invitation: sets the password, creates the user and signs them in.",
      tag: "auth",
      access: "public",
      body: acceptInvitationBody,
      responses: {
        201: { description: "Joined", schema: sessionDto },
        404: { description: "Unknown, used, revoked or expired invitation" },
        409: { description: "The e-mail already has a user" },
      },
      handler: async ({ body, req }) => {
        const now = deps.clock();
        // Cheap checks first (an anonymous caller must not make us hash for nothing): the invitation is
        // open and the password acceptable for its e-mail; then the hash; then the single-use claim.
        const open = await findOpenInvitation(db, hashToken(body.token), now);
        if (!open) throw new AppError("NOT_FOUND", "This invitation is unknown, used, revoked or expired.");
        const problem = passwordProblem(body.password, open.email);
        if (problem)
          throw new AppError("VALIDATION_FAILED", problem, {
            details: [{ path: "body.password", message: problem }],
          });
        const passwordHash = await hashPassword(body.password);
        const { user, account } = await db.transaction(async (tx) => {
          const invitation = await claimInvitation(tx, hashToken(body.token), now);
          if (!invitation)
            throw new AppError("NOT_FOUND", "This invitation is unknown, used, revoked or expired.");
          const user = await createUser(tx, {
            accountId: invitation.accountId,
            email: invitation.email,
            passwordHash,
            role: invitation.role,
          });
          if (!user) throw new AppError("CONFLICT", "A user with this e-mail already exists.");
          const account = await getAccount(tx, invitation.accountId);
          await recordAudit(tx, {
            accountId: invitation.accountId,
            actor: { userId: user.id, role: user.role, ip: clientAddress(req) },
            action: "user.invitation_accept",
            objectType: "invitation",
            objectId: invitation.id,
            details: { userId: user.id, role: user.role },
          });
          return { user, account: account! };
        });
        const token = newToken("tyn");
        await createSession(db, {
          userId: user.id,
          tokenHash: hashToken(token),
          expiresAt: new Date(now.getTime() + deps.config.security.sessionTtlHours * 3600_000),
        });
        return { status: 201, body: { token, user: toUserDto(user), account: toAccountDto(account) } };
      },
    }),
  ];
}
