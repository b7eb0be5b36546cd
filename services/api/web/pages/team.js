// @ts-check
// The team (owners): users, roles, invitations; the audit log (owners); accepting an invitation
// (public); changing one's own password.
import { ApiError, api } from "../lib/api.js";
import { errorBox, field, h, select, table } from "../lib/dom.js";
import { formatDateTime, t } from "../lib/i18n.js";

/** @import { PageContext } from "../app.js" */
/** @import { Body, Query } from "../lib/api.js" */
/** @import { MessageKey } from "../lib/messages.js" */
/** @typedef {Body<"/api/v1/users">["role"]} AssignableRole */

/** @returns {[AssignableRole, string][]} */
const roleChoices = () => [
  ["manager", t("role.manager")],
  ["owner", t("role.owner")],
];

/** @param {unknown} error */
function problem(error) {
  if (error instanceof ApiError) {
    if (error.code === "CONFLICT") return t("team.conflict");
    if (error.code === "VALIDATION_FAILED") return t("team.badPassword");
    if (error.code === "NOT_FOUND") return t("team.notFound");
    if (error.code === "FORBIDDEN") return t("team.wrongPassword");
  }
  return error instanceof Error ? error.message : String(error);
}

/** @param {PageContext} ctx */
export async function teamPage(ctx) {
  const [users, invitations] = await Promise.all([api.get("/api/v1/users"), api.get("/api/v1/invitations")]);
  const errors = errorBox();
  const status = h("p", { class: "muted", role: "status", id: "team-status" });
  /**
   * @param {() => Promise<unknown>} fn
   * @param {string} message
   */
  const act = async (fn, message) => {
    errors.textContent = "";
    try {
      await fn();
      sessionStorage.setItem("tyndau.teamStatus", message);
      ctx.rerender();
    } catch (error) {
      errors.textContent = problem(error);
    }
  };
  const saved = sessionStorage.getItem("tyndau.teamStatus");
  sessionStorage.removeItem("tyndau.teamStatus");
  if (saved) status.textContent = saved;

  const userRows = users.items.map((u) => {
    const role = select(
      { name: `role-${u.id}`, "aria-label": t("team.roleOf", { email: u.email }) },
      roleChoices(),
    );
    role.value = u.role;
    role.addEventListener("change", () =>
      act(
        () =>
          api.patch("/api/v1/users/{id}", {
            path: { id: u.id },
            body: { role: /** @type {AssignableRole} */ (role.value) },
          }),
        t("team.roleChanged", { email: u.email }),
      ),
    );
    const remove = h(
      "button",
      {
        type: "button",
        class: "danger",
        "data-remove": u.email,
        onClick: () => {
          if (confirm(t("team.confirmRemove", { email: u.email })))
            act(
              () => api.delete("/api/v1/users/{id}", { path: { id: u.id } }),
              t("team.removed", { email: u.email }),
            );
        },
      },
      t("team.remove"),
    );
    return [u.email + (u.id === ctx.me?.user.id ? ` (${t("team.you")})` : ""), role, remove];
  });

  const inviteRows = invitations.items.map((i) => [
    i.email,
    t(`role.${i.role}`),
    formatDateTime(i.expiresAt),
    h(
      "button",
      {
        type: "button",
        "data-revoke": i.email,
        onClick: () =>
          act(
            () => api.delete("/api/v1/invitations/{id}", { path: { id: i.id } }),
            t("team.revoked", { email: i.email }),
          ),
      },
      t("team.revoke"),
    ),
  ]);

  const email = h("input", { type: "email", name: "inviteEmail", required: true, autocomplete: "off" });
  const role = select({ name: "inviteRole" }, roleChoices());
  const link = h("p", { class: "notice", id: "invite-link" });
  const inviteErrors = errorBox();
  const form = h(
    "form",
    {
      class: "card",
      "aria-labelledby": "invite-title",
      onSubmit: async (event) => {
        event.preventDefault();
        inviteErrors.textContent = "";
        try {
          const created = await api.post("/api/v1/invitations", {
            body: { email: email.value.trim(), role: /** @type {AssignableRole} */ (role.value) },
          });
          sessionStorage.setItem("tyndau.teamStatus", t("team.invited", { email: created.email }));
          ctx.rerender();
        } catch (error) {
          inviteErrors.textContent = problem(error);
        }
      },
    },
    h("h2", { id: "invite-title" }, t("team.invite")),
    h("p", { class: "hint" }, t("team.inviteHint")),
    h(
      "div",
      { class: "row" },
      h("div", { class: "grow" }, field(t("acc.email"), email)),
      field(t("acc.role"), role),
    ),
    inviteErrors,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("team.sendInvite"))),
    link,
  );

  return h(
    "section",
    { class: "page" },
    h("h1", {}, t("team.title")),
    status,
    errors,
    h(
      "section",
      { class: "card", "aria-labelledby": "users-list-title" },
      h("h2", { id: "users-list-title" }, t("team.users")),
      table({
        caption: t("team.users"),
        head: [t("acc.email"), t("acc.role"), ""],
        rows: userRows,
        className: "users",
      }),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "invitations-title" },
      h("h2", { id: "invitations-title" }, t("team.invitations")),
      inviteRows.length
        ? table({
            caption: t("team.invitations"),
            head: [t("acc.email"), t("acc.role"), t("team.expires"), ""],
            rows: inviteRows,
            className: "invitations",
          })
        : h("p", { class: "muted" }, t("team.noInvitations")),
    ),
    form,
  );
}

/** @param {PageContext} ctx */
export async function auditPage(ctx) {
  const action = ctx.query.get("action") ?? "";
  const cursor = ctx.query.get("cursor") ?? "";
  // The action typed into the filter goes to the server as it is: it validates it (an unknown one → 400).
  const query = /** @type {Query<"/api/v1/account/audit">} */ ({ limit: 50, action, cursor });
  const page = await api.get("/api/v1/account/audit", { query });
  const filter = h("input", { name: "action", value: action, placeholder: "call.read" });
  const form = h(
    "form",
    {
      class: "row",
      onSubmit: (event) => {
        event.preventDefault();
        const v = filter.value.trim();
        ctx.navigate(v ? `/audit?action=${encodeURIComponent(v)}` : "/audit");
      },
    },
    field(t("audit.action"), filter),
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("audit.filter"))),
  );
  return h(
    "section",
    { class: "page" },
    h("h1", {}, t("audit.title")),
    h("p", { class: "hint" }, t("audit.hint")),
    form,
    page.items.length
      ? table({
          caption: t("audit.title"),
          head: [t("audit.at"), t("audit.action"), t("audit.actor"), t("audit.object")],
          rows: page.items.map((e) => [
            formatDateTime(e.at),
            e.action,
            // actorRole is a role or "system" (role.system), typed as plain text by the API.
            `${t(/** @type {MessageKey} */ (`role.${e.actorRole}`))}${e.actorUserId ? ` ${e.actorUserId.slice(0, 8)}` : ""}`,
            `${e.objectType}${e.objectId ? ` ${e.objectId.slice(0, 8)}` : ""}`,
          ]),
          className: "audit",
        })
      : h("p", { class: "muted" }, t("audit.empty")),
    page.nextCursor
      ? h(
          "p",
          {},
          h(
            "a",
            {
              href: `#/audit?${new URLSearchParams({ ...(action ? { action } : {}), cursor: page.nextCursor })}`,
            },
            t("audit.older"),
          ),
        )
      : null,
  );
}

/** @param {PageContext} ctx */
export async function invitePage(ctx) {
  const token = ctx.query.get("token") ?? "";
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: "new-password",
    required: true,
    minlength: "10",
  });
  const errors = errorBox();
  const form = h(
    "form",
    {
      class: "card auth-card",
      "aria-labelledby": "invite-accept-title",
      onSubmit: async (event) => {
        event.preventDefault();
        errors.textContent = "";
        try {
          ctx.signedIn(
            await api.post("/api/v1/invitations/accept", { body: { token, password: password.value } }),
          );
        } catch (error) {
          errors.textContent = problem(error);
        }
      },
    },
    h("h1", { id: "invite-accept-title" }, t("invite.title")),
    h("p", {}, t("invite.lead")),
    field(t("auth.password"), password, t("auth.passwordHint")),
    errors,
    h("button", { type: "submit", class: "primary wide" }, t("invite.accept")),
  );
  return h("section", { class: "auth" }, form);
}

/** The signed-in user's password change (all other sessions are signed out). */
export function passwordForm() {
  const current = h("input", {
    type: "password",
    name: "currentPassword",
    autocomplete: "current-password",
    required: true,
  });
  const next = h("input", {
    type: "password",
    name: "newPassword",
    autocomplete: "new-password",
    required: true,
    minlength: "10",
  });
  const errors = errorBox();
  const done = h("p", { class: "muted", role: "status", id: "password-status" });
  const form = h(
    "form",
    {
      class: "card",
      "aria-labelledby": "password-title",
      onSubmit: async (event) => {
        event.preventDefault();
        errors.textContent = "";
        done.textContent = "";
        try {
          await api.post("/api/v1/me/password", {
            body: { currentPassword: current.value, newPassword: next.value },
          });
          form.reset();
          done.textContent = t("password.changed");
        } catch (error) {
          errors.textContent = problem(error);
        }
      },
    },
    h("h2", { id: "password-title" }, t("password.title")),
    h("p", { class: "hint" }, t("password.hint")),
    h(
      "div",
      { class: "row" },
      field(t("password.current"), current),
      field(t("password.new"), next, t("auth.passwordHint")),
    ),
    errors,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("password.change"))),
    done,
  );
  return form;
}
