// @ts-check
// Tyndau's web app: plain ES modules, hash routes (#/calls, #/calls/<id>, …), no build step.
import { ApiError, api, session } from "./lib/api.js";
import { h, select } from "./lib/dom.js";
import { lang, languageChoices, preferredLang, setLang, setScope, t } from "./lib/i18n.js";

/** @import { AnswerOf } from "./lib/api.js" */
/** @import { MessageKey } from "./lib/messages.js" */

/**
 * The signed-in user and account (GET /api/v1/me).
 * @typedef {AnswerOf<"/api/v1/me">} Me
 */
/**
 * What every page gets: the route's captures, the query, who is signed in, and the app's services.
 * @typedef {{
 *   params: string[],
 *   query: URLSearchParams,
 *   me: Me | null,
 *   owner: boolean,
 *   path: string,
 *   navigate: (path: string) => void,
 *   announce: (text: string) => void,
 *   onDispose: (fn: () => void) => void,
 *   isCurrent: () => boolean,
 *   rerender: () => void,
 *   signedIn: (result: AnswerOf<"/api/v1/auth/login", "post">) => void,
 * }} PageContext
 */
/** @typedef {(ctx: PageContext) => Promise<Node>} Page */
/** @typedef {"calls" | "dashboard" | "templates" | "sources" | "billing" | "account" | "team" | "audit"} NavId */
/** @typedef {{ re: RegExp, page: Page, public?: boolean, nav?: NavId }} Route */

/** @param {string} id */
function element(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el;
}

const main = element("main");
const topbar = element("topbar");
const announcer = element("announcer");

/** @type {{ me: Me | null, afterSignIn: string | null, renderId: number, disposers: (() => void)[] }} */
const state = { me: null, afterSignIn: null, renderId: 0, disposers: [] };

/**
 * A page loaded when first opened.
 * @param {string} file
 * @param {string} name the page function the module exports
 * @returns {Page}
 */
const lazy = (file, name) => async (ctx) => (await import(file))[name](ctx);

/**
 * Routes: pattern on the path after "#", the page, who may open it (the API decides in the end).
 * @type {Route[]}
 */
const routes = [
  { re: /^\/signin$/, page: lazy("./pages/auth.js", "signInPage"), public: true },
  { re: /^\/signup$/, page: lazy("./pages/auth.js", "signUpPage"), public: true },
  { re: /^\/invite$/, page: lazy("./pages/team.js", "invitePage"), public: true },
  { re: /^\/calls$/, page: lazy("./pages/calls.js", "callsPage"), nav: "calls" },
  { re: /^\/calls\/([0-9a-f-]{36})$/, page: lazy("./pages/call.js", "callPage"), nav: "calls" },
  { re: /^\/dashboard$/, page: lazy("./pages/dashboard.js", "dashboardPage"), nav: "dashboard" },
  { re: /^\/templates$/, page: lazy("./pages/templates.js", "templatesPage"), nav: "templates" },
  {
    re: /^\/templates\/(new|[0-9a-f-]{36})$/,
    page: lazy("./pages/templates.js", "templateEditorPage"),
    nav: "templates",
  },
  { re: /^\/sources$/, page: lazy("./pages/sources.js", "sourcesPage"), nav: "sources" },
  { re: /^\/billing$/, page: lazy("./pages/billing.js", "billingPage"), nav: "billing" },
  { re: /^\/account$/, page: lazy("./pages/account.js", "accountPage"), nav: "account" },
  { re: /^\/team$/, page: lazy("./pages/team.js", "teamPage"), nav: "team" },
  { re: /^\/audit$/, page: lazy("./pages/team.js", "auditPage"), nav: "audit" },
];

/**
 * Navigation; `owner: true` items are hidden from managers (the API refuses them anyway).
 * @type {{ id: NavId, href: string, owner?: boolean }[]}
 */
const navItems = [
  { id: "calls", href: "#/calls" },
  { id: "dashboard", href: "#/dashboard" },
  { id: "templates", href: "#/templates" },
  { id: "sources", href: "#/sources", owner: true },
  { id: "billing", href: "#/billing", owner: true },
  { id: "team", href: "#/team", owner: true },
  { id: "audit", href: "#/audit", owner: true },
  { id: "account", href: "#/account" },
];

/** @param {Me | null} me */
const isOwner = (me) => me?.user.role === "owner";

function parseHash() {
  const raw = location.hash.replace(/^#/, "");
  const [path, qs = ""] = raw.split("?");
  return { path: path || "/", query: new URLSearchParams(qs) };
}

/** @param {string} path */
function navigate(path) {
  if (location.hash === `#${path}`) render();
  else location.hash = `#${path}`;
}

/** @param {string} text */
function announce(text) {
  announcer.textContent = "";
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

async function loadMe() {
  if (!session.token) return null;
  try {
    return await api.get("/api/v1/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

/** @param {Route | undefined} route */
function renderTopbar(route) {
  const langSelect = select(
    { id: "lang-select", class: "compact", onChange: () => changeLang(langSelect.value) },
    languageChoices(),
  );
  langSelect.value = route?.public ? preferredLang() : lang();
  const langField = h(
    "div",
    { class: "lang" },
    h("label", { for: "lang-select", class: "visually-hidden" }, t("nav.language")),
    langSelect,
  );
  const me = state.me;
  if (!me || route?.public) {
    topbar.replaceChildren(
      h(
        "div",
        { class: "topbar-inner" },
        h("span", { class: "brand" }, "Tyndau"),
        h("div", { class: "tools" }, langField),
      ),
    );
    return;
  }
  const items = navItems.filter((item) => !item.owner || isOwner(me));
  const nav = h(
    "nav",
    { id: "main-nav", "aria-label": t("nav.label") },
    h(
      "ul",
      {},
      items.map((item) =>
        h(
          "li",
          {},
          h(
            "a",
            {
              href: item.href,
              "aria-current": route?.nav === item.id ? "page" : undefined,
              "data-nav": item.id,
            },
            t(`nav.${item.id}`),
          ),
        ),
      ),
    ),
  );
  const toggle = h(
    "button",
    {
      type: "button",
      class: "menu-toggle",
      "aria-expanded": "false",
      "aria-controls": "main-nav",
      onClick: () => {
        const open = toggle.getAttribute("aria-expanded") !== "true";
        toggle.setAttribute("aria-expanded", String(open));
        topbar.classList.toggle("nav-open", open);
      },
    },
    t("nav.menu"),
  );
  topbar.classList.remove("nav-open");
  topbar.replaceChildren(
    h(
      "div",
      { class: "topbar-inner" },
      h("a", { class: "brand", href: "#/calls" }, "Tyndau"),
      toggle,
      nav,
      h(
        "div",
        { class: "tools" },
        langField,
        h(
          "span",
          { class: "who" },
          h("span", { class: "who-email" }, me.user.email),
          " · ",
          t(`role.${me.user.role}`),
        ),
        h("button", { type: "button", class: "link-button", onClick: signOut }, t("nav.signOut")),
      ),
    ),
  );
}

/** @param {string} value */
function changeLang(value) {
  setLang(value);
  render();
}

async function signOut() {
  try {
    await api.post("/api/v1/auth/logout");
  } catch {
    // The token may already be gone; signing out locally is what matters.
  }
  session.token = null;
  state.me = null;
  navigate("/signin");
}

/**
 * After sign-in or sign-up: keep the session and go where the user was heading.
 * @param {AnswerOf<"/api/v1/auth/login", "post">} result
 */
function signedIn(result) {
  session.token = result.token;
  state.me = { user: result.user, account: result.account };
  const target = state.afterSignIn && state.afterSignIn !== "/signin" ? state.afterSignIn : "/calls";
  state.afterSignIn = null;
  navigate(target);
}

session.onUnauthenticated = () => {
  state.me = null;
  state.afterSignIn = parseHash().path;
  sessionStorage.setItem("tyndau.notice", "auth.sessionEnded");
  navigate("/signin");
};

/** @param {unknown} error */
function errorView(error) {
  if (error instanceof ApiError && error.status === 403) {
    return h(
      "section",
      { class: "page narrow", "data-error": "403" },
      h("h1", { tabindex: "-1" }, t("error.forbiddenTitle")),
      h("p", {}, t("error.forbidden")),
      h("p", { class: "muted" }, `${error.status} ${error.code}: ${error.message}`),
      h("p", {}, h("a", { href: "#/calls" }, t("error.backToCalls"))),
    );
  }
  if (error instanceof ApiError && error.status === 404) {
    return h(
      "section",
      { class: "page narrow", "data-error": "404" },
      h("h1", { tabindex: "-1" }, t("error.notFoundTitle")),
      h("p", {}, t("error.notFound")),
      h("p", {}, h("a", { href: "#/calls" }, t("error.backToCalls"))),
    );
  }
  console.error(error);
  return h(
    "section",
    { class: "page narrow", "data-error": "other" },
    h("h1", { tabindex: "-1" }, t("error.title")),
    h("p", {}, t("error.generic")),
    h("p", { class: "muted" }, error instanceof Error ? error.message : String(error)),
    h("p", {}, h("button", { type: "button", onClick: () => render() }, t("action.retry"))),
  );
}

async function render() {
  const id = ++state.renderId;
  const hash = location.hash;
  for (const dispose of state.disposers.splice(0)) {
    try {
      dispose();
    } catch (error) {
      console.error(error);
    }
  }
  const { path, query } = parseHash();
  if (path === "/") {
    navigate(session.token ? "/calls" : "/signin");
    return;
  }
  const route = routes.find((r) => r.re.test(path));
  if (!route) {
    setScope("app");
    renderTopbar(undefined);
    show(id, hash, errorView(new ApiError(404, "NOT_FOUND", "No such page.")));
    return;
  }
  if (!route.public && !state.me) {
    try {
      state.me = await loadMe();
    } catch (error) {
      if (id !== state.renderId) return;
      setScope("app");
      show(id, hash, errorView(error));
      return;
    }
    if (id !== state.renderId) return;
    if (!state.me) {
      state.afterSignIn = path;
      navigate("/signin");
      return;
    }
  }
  if (route.public && session.token && state.me) {
    navigate("/calls");
    return;
  }
  setScope(route.public ? "auth" : "app");
  element("skip-link").textContent = t("nav.skip");
  renderTopbar(route);
  main.setAttribute("aria-busy", "true");
  const params = route.re.exec(path)?.slice(1) ?? [];
  /** @type {PageContext} */
  const ctx = {
    params,
    query,
    me: state.me,
    owner: isOwner(state.me),
    path,
    navigate,
    announce,
    onDispose: (fn) => state.disposers.push(fn),
    isCurrent: () => id === state.renderId,
    rerender: () => render(),
    signedIn,
  };
  /** @type {Node} */
  let view;
  try {
    view = await route.page(ctx);
  } catch (error) {
    view = errorView(error);
  }
  show(id, hash, view);
}

/**
 * Puts a rendered page in place unless another navigation overtook it; `data-rendered` names its route.
 * @param {number} id
 * @param {string} hash
 * @param {Node} view
 */
function show(id, hash, view) {
  if (id !== state.renderId) return;
  main.replaceChildren(view);
  main.removeAttribute("aria-busy");
  main.dataset.rendered = hash;
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} — Tyndau` : "Tyndau";
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }
}

element("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener("hashchange", () => render());
setLang(preferredLang());
render();
