import { z } from "zod";
import { acceptInvitation } from "../../../../shared/accounts/accept-invitation.ts";
import { inviteUser } from "../../../../shared/accounts/invite-user.ts";
import { removeUser } from "../../../../shared/accounts/remove-user.ts";
import { revokeInvitation } from "../../../../shared/accounts/revoke-invitation.ts";
import { updateUser } from "../../../../shared/accounts/update-user.ts";
import {
  type InvitationRow,
  listAccountUsers,
  listOpenInvitations,
} from "../../../../shared/db/repositories/users.repository.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { callerOf, clientAddress } from "../../http/caller.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import {
  acceptInvitationBody,
  createdInvitationDto,
  invitationDto,
  inviteBody,
  sessionDto,
  toSessionDto,
  toUserDto,
  updateUserBody,
  userDto,
  userIdParams,
  userListDto,
} from "../auth/auth.dto.ts";

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
  const ops = { db, clock: deps.clock, security: deps.config.security };

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
      handler: async ({ params, body, auth, req }) => ({
        status: 200,
        body: toUserDto(await updateUser(ops, callerOf(auth, req), { userId: params.id, role: body.role })),
      }),
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
        await removeUser(ops, callerOf(auth, req), params.id);
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
        const { invitation, token, acceptUrl } = await inviteUser(
          { ...ops, mailer: deps.mailer, log, publicUrl: deps.config.publicUrl },
          callerOf(auth, req),
          body,
        );
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
        await revokeInvitation(ops, callerOf(auth, req), params.id);
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
      handler: async ({ body, req }) => ({
        status: 201,
        body: toSessionDto(await acceptInvitation(ops, { ...body, ip: clientAddress(req) })),
      }),
    }),
  ];
}
