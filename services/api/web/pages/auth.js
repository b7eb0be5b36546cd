// @ts-check
// The welcome screens: sign in and sign up (Kazakh, Russian, English).
import { ApiError, api } from "../lib/api.js";
import { errorBox, field, h, select } from "../lib/dom.js";
import { t } from "../lib/i18n.js";

/** @import { PageContext } from "../app.js" */
/** @import { Body } from "../lib/api.js" */
/** @import { MessageKey } from "../lib/messages.js" */

function welcome() {
  return h(
    "div",
    { class: "welcome" },
    h("p", { class: "welcome-brand", "aria-hidden": "true" }, "Tyndau"),
    h("p", { class: "welcome-title" }, t("auth.welcome")),
    h("p", { class: "welcome-lead" }, t("auth.tagline")),
    h(
      "ul",
      { class: "welcome-points" },
      h("li", {}, t("auth.point1")),
      h("li", {}, t("auth.point2")),
      h("li", {}, t("auth.point3")),
    ),
  );
}

/** @param {unknown} error */
function authMessage(error) {
  if (error instanceof ApiError) {
    if (error.code === "UNAUTHENTICATED") return t("auth.wrong");
    if (error.code === "CONFLICT") return t("auth.taken");
    if (error.code === "VALIDATION_FAILED") return t("auth.invalid");
    if (error.code === "RATE_LIMITED") return t("auth.rateLimited");
    if (error.code === "NETWORK") return t("error.network");
  }
  return t("error.generic");
}

/**
 * @param {HTMLFormElement} form
 * @param {HTMLElement} errors
 * @param {() => Promise<void>} action
 */
async function submitting(form, errors, action) {
  const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
  errors.textContent = "";
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    await action();
  } catch (error) {
    errors.textContent = authMessage(error);
  } finally {
    button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

/** @param {PageContext} ctx */
export async function signInPage(ctx) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
  });
  const errors = errorBox();
  const notice = sessionStorage.getItem("tyndau.notice");
  sessionStorage.removeItem("tyndau.notice");
  const form = h(
    "form",
    {
      class: "card auth-card",
      "aria-labelledby": "signin-title",
      onSubmit: (event) => {
        event.preventDefault();
        submitting(form, errors, async () => {
          ctx.signedIn(
            await api.post("/api/v1/auth/login", { body: { email: email.value, password: password.value } }),
          );
        });
      },
    },
    h("h1", { id: "signin-title" }, t("auth.signIn")),
    // The notice is a message key the app left (app.js, when a session ends).
    notice ? h("p", { class: "notice", role: "status" }, t(/** @type {MessageKey} */ (notice))) : null,
    field(t("auth.email"), email),
    field(t("auth.password"), password),
    errors,
    h("button", { type: "submit", class: "primary wide" }, t("auth.signInAction")),
    h(
      "p",
      { class: "switch" },
      t("auth.noAccount"),
      " ",
      h("a", { href: "#/signup" }, t("auth.createAccount")),
    ),
  );
  return h("section", { class: "auth" }, welcome(), form);
}

/** @param {PageContext} ctx */
export async function signUpPage(ctx) {
  const company = h("input", {
    name: "company",
    autocomplete: "organization",
    required: true,
    maxlength: "200",
  });
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: "new-password",
    required: true,
    minlength: "10",
  });
  const currency = select({ name: "currency" }, [
    ["KZT", t("currency.KZT")],
    ["RUB", t("currency.RUB")],
    ["USD", t("currency.USD")],
  ]);
  const errors = errorBox();
  const form = h(
    "form",
    {
      class: "card auth-card",
      "aria-labelledby": "signup-title",
      onSubmit: (event) => {
        event.preventDefault();
        submitting(form, errors, async () => {
          ctx.signedIn(
            await api.post("/api/v1/auth/register", {
              body: {
                company: company.value,
                email: email.value,
                password: password.value,
                currency: /** @type {Body<"/api/v1/auth/register">["currency"]} */ (currency.value),
              },
            }),
          );
        });
      },
    },
    h("h1", { id: "signup-title" }, t("auth.signUp")),
    field(t("auth.company"), company),
    field(t("auth.email"), email),
    field(t("auth.password"), password, t("auth.passwordHint")),
    field(t("auth.currency"), currency, t("auth.currencyHint")),
    h("p", { class: "hint" }, t("auth.bonusNote")),
    errors,
    h("button", { type: "submit", class: "primary wide" }, t("auth.signUpAction")),
    h(
      "p",
      { class: "switch" },
      t("auth.haveAccount"),
      " ",
      h("a", { href: "#/signin" }, t("auth.signInAction")),
    ),
  );
  return h("section", { class: "auth" }, welcome(), form);
}
