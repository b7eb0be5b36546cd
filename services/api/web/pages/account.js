// @ts-check
// The account: who is signed in, the account's settings (owners change them) and adding users.
import { ApiError, api, errorMessage } from "../lib/api.js";
import { checkField, errorBox, field, h, saveBlob, select } from "../lib/dom.js";
import { formatDate, formatDateTime, formatMoney, t } from "../lib/i18n.js";
import { passwordForm } from "./team.js";

/** @import { Me, PageContext } from "../app.js" */
/** @import { AnswerOf, Body } from "../lib/api.js" */
/** @typedef {AnswerOf<"/api/v1/account">} Account */

/** @param {Me} me */
function profile(me) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "profile-title" },
    h("h2", { id: "profile-title" }, t("acc.profile")),
    h(
      "dl",
      { class: "meta" },
      h("dt", {}, t("acc.company")),
      h("dd", { id: "account-company" }, me.account.company),
      h("dt", {}, t("acc.email")),
      h("dd", {}, me.user.email),
      h("dt", {}, t("acc.role")),
      h("dd", { id: "account-role" }, t(`role.${me.user.role}`)),
      h("dt", {}, t("acc.currency")),
      h("dd", {}, t(`currency.${me.account.currency}`)),
    ),
    h("p", { class: "hint" }, me.user.role === "owner" ? t("acc.ownerCan") : t("acc.managerCan")),
  );
}

/**
 * GET/PATCH /api/v1/account: retention, masking, low-balance e-mails, the language calls are in.
 * @param {PageContext} ctx
 * @param {Account} account
 */
function settings(ctx, account) {
  const readOnly = !ctx.owner;
  const company = h("input", { name: "company", required: true, maxlength: "200", value: account.company });
  const retention = h("input", {
    type: "number",
    name: "retentionDays",
    min: "1",
    max: "3650",
    step: "1",
    value: account.retentionDays === null ? "" : String(account.retentionDays),
  });
  const masking = h("input", {
    type: "checkbox",
    name: "maskPersonalData",
    checked: account.maskPersonalData,
  });
  const threshold = h("input", {
    type: "number",
    name: "lowBalanceThreshold",
    min: "0",
    step: "0.01",
    value: account.lowBalanceThreshold ?? "",
  });
  const language = select(
    { name: "speechLanguage", value: account.speechLanguage },
    /** @type {const} */ (["auto", "ru", "kk", "en"]).map((l) => [l, t(`acc.speech.${l}`)]),
  );
  const errors = errorBox();
  const saved = h("p", { class: "muted", role: "status" });
  const form = h(
    "form",
    {
      class: "card",
      "aria-labelledby": "settings-title",
      onSubmit: async (event) => {
        event.preventDefault();
        errors.textContent = "";
        saved.textContent = "";
        try {
          await api.patch("/api/v1/account", {
            body: {
              company: company.value.trim(),
              retentionDays: retention.value === "" ? null : Number(retention.value),
              maskPersonalData: masking.checked,
              lowBalanceThreshold: threshold.value === "" ? null : Number(threshold.value).toFixed(2),
              speechLanguage: /** @type {Body<"/api/v1/account", "patch">["speechLanguage"]} */ (
                language.value
              ),
            },
          });
          saved.textContent = t("acc.saved");
        } catch (error) {
          errors.textContent = errorMessage(error);
        }
      },
    },
    h("h2", { id: "settings-title" }, t("acc.settings")),
    h(
      "fieldset",
      { class: "plain", disabled: readOnly },
      h("legend", { class: "visually-hidden" }, t("acc.settings")),
      h(
        "div",
        { class: "row" },
        h("div", { class: "grow" }, field(t("acc.company"), company)),
        field(t("acc.speechLanguage"), language, t("acc.speechLanguageHint")),
      ),
      h(
        "div",
        { class: "row" },
        field(t("acc.retention"), retention, t("acc.retentionHint")),
        field(
          t("acc.threshold", { currency: account.currency }),
          threshold,
          account.lowBalanceThreshold
            ? t("acc.thresholdNow", { amount: formatMoney(account.lowBalanceThreshold, account.currency) })
            : t("acc.thresholdHint"),
        ),
      ),
      checkField(t("acc.masking"), masking),
      h("p", { class: "hint" }, t("acc.maskingHint")),
    ),
    errors,
    readOnly
      ? null
      : h(
          "div",
          { class: "actions" },
          h("button", { type: "submit", class: "primary" }, t("action.save")),
          saved,
        ),
  );
  return form;
}

function addUser() {
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "off" });
  const password = h("input", {
    type: "password",
    name: "password",
    required: true,
    minlength: "10",
    autocomplete: "new-password",
  });
  const role = select({ name: "role" }, [
    ["manager", t("role.manager")],
    ["owner", t("role.owner")],
  ]);
  const errors = errorBox();
  const done = h("ul", { class: "added", id: "added-users", "aria-live": "polite" });
  const form = h(
    "form",
    {
      class: "card",
      "aria-labelledby": "users-title",
      onSubmit: async (event) => {
        event.preventDefault();
        errors.textContent = "";
        try {
          const user = await api.post("/api/v1/users", {
            body: {
              email: email.value.trim(),
              password: password.value,
              role: /** @type {Body<"/api/v1/users">["role"]} */ (role.value),
            },
          });
          done.append(h("li", {}, t("acc.added", { email: user.email, role: t(`role.${user.role}`) })));
          form.reset();
        } catch (error) {
          errors.textContent =
            error instanceof ApiError && error.code === "CONFLICT" ? t("auth.taken") : errorMessage(error);
        }
      },
    },
    h("h2", { id: "users-title" }, t("acc.users")),
    h("p", { class: "hint" }, t("acc.usersHint")),
    h(
      "div",
      { class: "row" },
      h("div", { class: "grow" }, field(t("acc.email"), email)),
      field(t("acc.password"), password, t("auth.passwordHint")),
      field(t("acc.role"), role),
    ),
    errors,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("acc.addUser"))),
    done,
  );
  return form;
}

/**
 * "Your data" (owners): export everything, block processing, close the agreement, ask for deletion
 * (cancellable). Each action that stops something asks for confirmation first.
 * @param {PageContext} ctx
 * @param {Account} account
 * @returns {HTMLElement}
 */
function yourData(ctx, account) {
  const errors = errorBox();
  const status = h("p", { class: "muted", role: "status", id: "privacy-status" });
  const section = h("section", { class: "card", "aria-labelledby": "privacy-title", id: "your-data" });
  /** @param {() => Promise<void>} fn */
  const act = (fn) => async () => {
    errors.textContent = "";
    status.textContent = "";
    try {
      await fn();
    } catch (error) {
      errors.textContent = errorMessage(error);
    }
  };
  /** @param {Account} next */
  const rerender = (next) => section.replaceWith(yourData(ctx, next));
  /** @type {(label: string, onClick: () => Promise<void>, cls?: string) => HTMLButtonElement} */
  const button = (label, onClick, cls = "") =>
    h("button", { type: "button", class: cls, onClick: act(onClick) }, label);

  const state = [];
  if (account.closedAt)
    state.push(h("p", { class: "notice" }, t("privacy.closedOn", { date: formatDate(account.closedAt) })));
  if (account.deleteBy)
    state.push(
      h(
        "p",
        { class: "notice warning" },
        t("privacy.deletionPending", { date: formatDateTime(account.deleteBy) }),
      ),
    );
  if (account.processingBlocked) state.push(h("p", { class: "notice" }, t("privacy.blockedNow")));

  const actions = h(
    "div",
    { class: "actions" },
    button(t("privacy.export"), async () => {
      const { blob, fileName } = await api.blob("/api/v1/account/export");
      saveBlob(blob, fileName ?? "tyndau-export.json");
      status.textContent = t("privacy.exported");
    }),
    account.closedAt
      ? null
      : account.processingBlocked
        ? button(t("privacy.unblock"), async () =>
            rerender(await api.post("/api/v1/account/processing/unblock")),
          )
        : button(t("privacy.block"), async () => {
            if (!confirm(t("privacy.blockConfirm"))) return;
            rerender(await api.post("/api/v1/account/processing/block"));
          }),
    account.closedAt
      ? null
      : button(
          t("privacy.close"),
          async () => {
            if (!confirm(t("privacy.closeConfirm"))) return;
            rerender(await api.post("/api/v1/account/close"));
          },
          "danger",
        ),
    account.deleteBy
      ? button(t("privacy.cancelDeletion"), async () =>
          rerender(await api.delete("/api/v1/account/deletion-request")),
        )
      : button(
          t("privacy.requestDeletion"),
          async () => {
            if (!confirm(t("privacy.deletionConfirm"))) return;
            await api.post("/api/v1/account/deletion-request");
            rerender(await api.get("/api/v1/account"));
          },
          "danger",
        ),
  );
  section.append(
    h("h2", { id: "privacy-title" }, t("privacy.title")),
    h("p", { class: "hint" }, t("privacy.hint")),
    ...state,
    actions,
    errors,
    status,
  );
  return section;
}

/** @param {PageContext} ctx */
export async function accountPage(ctx) {
  const [me, account] = await Promise.all([
    api.get("/api/v1/me"),
    api.get("/api/v1/account").catch(() => null),
  ]);
  return h(
    "section",
    { class: "page" },
    h("h1", {}, t("acc.title")),
    profile(me),
    account ? settings(ctx, account) : null,
    passwordForm(),
    ctx.owner ? addUser() : null,
    ctx.owner && account ? yourData(ctx, account) : null,
  );
}
