// @ts-check
// The calls list: filters (period, operator, direction, status, an answer value, transcript search),
// keyset pagination and the CSV export of the same filters.
import { ApiError, api, queryString } from "../lib/api.js";
import { errorBox, field, h, saveBlob, select } from "../lib/dom.js";
import { astanaDay, formatClock, formatDateTime, lang, t } from "../lib/i18n.js";

/** @import { PageContext } from "../app.js" */
/** @import { AnswerOf, Query } from "../lib/api.js" */
/** @import { Question, Template } from "./templates.js" */
/** @typedef {AnswerOf<"/api/v1/reports/calls">["items"][number]} CallRow */
/** @typedef {CallRow["status"]} CallStatus */

/** The list with every filter (GET /api/v1/calls has period, status and operator only). */
const LIST_PATH = "/api/v1/reports/calls";
const EXPORT_PATH = "/api/v1/calls/export.csv";
const PAGE_SIZES = [10, 25, 50, 100];
const DEFAULT_PAGE_SIZE = 25;
/** @type {Set<CallStatus>} */
const WORKING = new Set(["received", "processing", "awaiting_funds"]);
const FILTERS = /** @type {const} */ (["from", "to", "operator", "direction", "status", "q", "answer"]);

/** @param {CallStatus} status */
export const statusBadge = (status) => h("span", { class: `badge status-${status}` }, t(`status.${status}`));

/** @param {{ name: string | null, externalId: string | null } | null | undefined} operator */
export const operatorLabel = (operator) => operator?.name ?? operator?.externalId ?? t("calls.noOperator");

/**
 * `<templateId>.<key>:<value>` → parts.
 * @param {string} text
 */
function parseAnswer(text) {
  const m = /^([0-9a-f-]{36})\.([a-z][a-z0-9_]*):(.+)$/i.exec(text ?? "");
  return m ? { templateId: m[1], key: m[2], value: m[3] } : null;
}

/**
 * @param {Template[]} templates
 * @param {{ templateId: string, key: string, value: string } | null} initial
 */
function answerFilter(templates, initial) {
  const templateSelect = select({ name: "answer-template" }, [
    ["", t("calls.anyAnswer")],
    ...templates.map((tpl) => /** @type {const} */ ([tpl.id, tpl.name])),
  ]);
  const questionSelect = select({ name: "answer-question" }, []);
  const valueSlot = h("div", { class: "answer-value" });
  /** @type {HTMLSelectElement | HTMLInputElement | null} */
  let valueControl = null;

  // The template answer leaves its questions untyped (unknown[]); they are the questions it was saved with.
  const questionsOf = () =>
    /** @type {Question[]} */ (templates.find((tpl) => tpl.id === templateSelect.value)?.questions ?? []);
  const fillQuestions = () => {
    const questions = questionsOf();
    questionSelect.replaceChildren(...questions.map((q) => h("option", { value: q.key }, q.text)));
    questionSelect.disabled = questions.length === 0;
  };
  /** @param {string} [value] */
  const fillValue = (value) => {
    const q = questionsOf().find((x) => x.key === questionSelect.value);
    if (!q) {
      valueControl = null;
      valueSlot.replaceChildren();
      return;
    }
    if (q.type === "boolean") {
      valueControl = select({ name: "answer-value" }, [
        ["true", t("answer.yes")],
        ["false", t("answer.no")],
        ["null", t("answer.none")],
      ]);
    } else if (q.type === "choice") {
      valueControl = select(
        { name: "answer-value" },
        (q.options ?? []).map((o) => [o, o]),
      );
    } else if (q.type === "score") {
      valueControl = h("input", {
        type: "number",
        name: "answer-value",
        min: q.scale?.min,
        max: q.scale?.max,
        step: "1",
      });
    } else {
      valueControl = h("input", { type: "text", name: "answer-value" });
    }
    if (value !== undefined) valueControl.value = value;
    valueSlot.replaceChildren(field(t("calls.answerValue"), valueControl));
  };
  templateSelect.addEventListener("change", () => {
    fillQuestions();
    fillValue();
  });
  questionSelect.addEventListener("change", () => fillValue());

  if (initial) templateSelect.value = initial.templateId;
  fillQuestions();
  if (initial) questionSelect.value = initial.key;
  fillValue(initial?.value);

  const node = h(
    "fieldset",
    { class: "answer-filter" },
    h("legend", {}, t("calls.answerFilter")),
    h(
      "div",
      { class: "row" },
      field(t("calls.answerTemplate"), templateSelect),
      field(t("calls.answerQuestion"), questionSelect),
      valueSlot,
    ),
  );
  const value = () => {
    if (!templateSelect.value || !questionSelect.value || !valueControl || valueControl.value === "")
      return "";
    return `${templateSelect.value}.${questionSelect.value}:${valueControl.value}`;
  };
  return { node, value };
}

/**
 * @param {CallRow[]} items
 * @param {boolean} owner
 */
function callsTable(items, owner) {
  if (items.length === 0) return null;
  const head = [
    t("calls.col.when"),
    t("calls.col.operator"),
    t("calls.col.client"),
    t("calls.col.direction"),
    t("calls.col.duration"),
    t("calls.col.status"),
  ];
  return h(
    "table",
    { class: "calls-table responsive", "data-owner": String(owner) },
    h("caption", { class: "visually-hidden" }, t("calls.title")),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        head.map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h(
      "tbody",
      {},
      items.map((c) =>
        h(
          "tr",
          { "data-call-id": c.id },
          h(
            "td",
            { "data-label": head[0] },
            h(
              "a",
              { href: `#/calls/${c.id}`, class: "call-link" },
              formatDateTime(c.startedAt ?? c.createdAt),
            ),
            c.externalId ? h("span", { class: "muted small block" }, c.externalId) : null,
          ),
          h("td", { "data-label": head[1] }, operatorLabel(c.operator)),
          h("td", { "data-label": head[2] }, c.client.phone ?? "—"),
          h("td", { "data-label": head[3] }, c.direction ? t(`direction.${c.direction}`) : "—"),
          h("td", { "data-label": head[4] }, formatClock(c.durationSec)),
          h("td", { "data-label": head[5] }, statusBadge(c.status)),
        ),
      ),
    ),
  );
}

/**
 * @param {boolean | string} filtered
 * @param {boolean} owner
 */
function emptyState(filtered, owner) {
  if (filtered) return h("p", { class: "empty" }, t("calls.noMatches"));
  return h(
    "div",
    { class: "empty card" },
    h("h2", {}, t("calls.emptyTitle")),
    h(
      "ol",
      {},
      h("li", {}, h("a", { href: "#/templates" }, t("calls.step1"))),
      h("li", {}, owner ? h("a", { href: "#/sources" }, t("calls.step2")) : t("calls.step2")),
      h("li", {}, t("calls.step3")),
    ),
  );
}

/** @param {PageContext} ctx */
export async function callsPage(ctx) {
  const q = ctx.query;
  const filters = /** @type {Record<(typeof FILTERS)[number], string>} */ (
    Object.fromEntries(FILTERS.map((k) => [k, q.get(k) ?? ""]))
  );
  const cursor = q.get("cursor") ?? "";
  const back = (q.get("back") ?? "").split(",").filter(Boolean);
  const sizeParam = Number(q.get("size"));
  const size = PAGE_SIZES.includes(sizeParam) ? sizeParam : DEFAULT_PAGE_SIZE;
  /** Filters plus the page size: what every link of this list keeps. */
  const keep = { ...filters, size: size === DEFAULT_PAGE_SIZE ? "" : size };
  // The filters from the page's URL go to the server as they are: it validates them (a bad one → 400).
  const listQuery = /** @type {Query<typeof LIST_PATH>} */ ({ ...filters, cursor, limit: size });

  const [page, templates, operators] = await Promise.all([
    api.get(LIST_PATH, { query: listQuery }),
    api.get("/api/v1/templates").catch(() => ({ items: [] })),
    api
      .get("/api/v1/reports/operators", { query: { from: astanaDay(-365), to: astanaDay(0) } })
      .catch(() => ({ items: [] })),
  ]);

  // ---- filters form ----
  const from = h("input", { type: "date", name: "from", value: filters.from });
  const to = h("input", { type: "date", name: "to", value: filters.to });
  const operatorList = h(
    "datalist",
    { id: "operator-options" },
    operators.items.filter((o) => o.operator).map((o) => h("option", { value: o.name ?? o.externalId })),
  );
  const operator = h("input", {
    type: "text",
    name: "operator",
    list: "operator-options",
    value: filters.operator,
    autocomplete: "off",
  });
  const direction = select({ name: "direction", value: filters.direction }, [
    ["", t("filter.any")],
    ["inbound", t("direction.inbound")],
    ["outbound", t("direction.outbound")],
  ]);
  const status = select({ name: "status", value: filters.status }, [
    ["", t("filter.any")],
    .../** @type {const} */ (["done", "processing", "received", "awaiting_funds", "failed"]).map(
      (s) => /** @type {const} */ ([s, t(`status.${s}`)]),
    ),
  ]);
  const search = h("input", { type: "search", name: "q", value: filters.q, maxlength: "200" });
  const answer = answerFilter(
    templates.items.filter((tpl) => tpl.questions.length > 0),
    parseAnswer(filters.answer),
  );
  const formError = errorBox();

  const current = () => ({
    from: from.value,
    to: to.value,
    operator: operator.value.trim(),
    direction: direction.value,
    status: status.value,
    q: search.value.trim(),
    answer: answer.value(),
  });
  const form = h(
    "form",
    {
      class: "filters",
      role: "search",
      "aria-label": t("calls.filters"),
      onSubmit: (event) => {
        event.preventDefault();
        const f = current();
        if (f.from && f.to && f.from > f.to) {
          formError.textContent = t("filter.badPeriod");
          return;
        }
        ctx.navigate(`/calls${queryString({ ...f, size: keep.size })}`);
      },
    },
    h(
      "div",
      { class: "row" },
      field(t("filter.from"), from),
      field(t("filter.to"), to),
      field(t("calls.operator"), operator),
      operatorList,
      field(t("calls.direction"), direction),
      field(t("calls.status"), status),
    ),
    h(
      "div",
      { class: "row" },
      h("div", { class: "grow" }, field(t("calls.search"), search, t("calls.searchHint"))),
    ),
    answer.node,
    formError,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary" }, t("filter.apply")),
      h("a", { href: "#/calls", class: "button secondary" }, t("filter.reset")),
    ),
  );

  // ---- export ----
  const exportStatus = h("span", { class: "muted", role: "status" });
  const exportButton = h(
    "button",
    {
      type: "button",
      class: "secondary",
      id: "export-csv",
      onClick: async () => {
        exportButton.disabled = true;
        exportStatus.textContent = t("calls.exporting");
        try {
          const delimiter = lang() === "ru" ? "semicolon" : "comma";
          const { blob, fileName } = await api.blob(EXPORT_PATH, {
            query: /** @type {Query<typeof EXPORT_PATH>} */ ({ ...filters, delimiter }),
          });
          saveBlob(blob, fileName ?? "tyndau-calls.csv");
          exportStatus.textContent = t("calls.exported");
        } catch (error) {
          exportStatus.textContent = error instanceof ApiError ? error.message : t("error.generic");
        } finally {
          exportButton.disabled = false;
        }
      },
    },
    t("calls.export"),
  );

  // ---- list + pagination ----
  const filtered = FILTERS.some((k) => filters[k]);
  const listSlot = h("div", { class: "list", "aria-live": "polite" });
  /** @param {CallRow[]} items */
  const renderList = (items) =>
    listSlot.replaceChildren(callsTable(items, ctx.owner) ?? emptyState(filtered || cursor, ctx.owner));
  renderList(page.items);

  const pageNumber = back.length + 1;
  const pager = h(
    "nav",
    { class: "pager", "aria-label": t("pager.label") },
    back.length > 0 || cursor
      ? h(
          "a",
          {
            class: "button secondary",
            href: `#/calls${queryString({ ...keep, cursor: back.at(-1) === "-" ? "" : back.at(-1), back: back.slice(0, -1).join(",") })}`,
          },
          `← ${t("pager.newer")}`,
        )
      : null,
    h("span", { class: "muted" }, t("pager.page", { n: pageNumber })),
    page.nextCursor
      ? h(
          "a",
          {
            class: "button secondary",
            rel: "next",
            href: `#/calls${queryString({ ...keep, cursor: page.nextCursor, back: [...back, cursor || "-"].join(",") })}`,
          },
          `${t("pager.older")} →`,
        )
      : null,
    field(
      t("pager.size"),
      select(
        {
          name: "size",
          class: "compact",
          value: String(size),
          onChange: (event) =>
            ctx.navigate(
              `/calls${queryString({ ...filters, size: /** @type {HTMLSelectElement} */ (event.currentTarget).value })}`,
            ),
        },
        PAGE_SIZES.map((n) => [String(n), String(n)]),
      ),
    ),
  );

  // Calls still being processed: refresh the rows quietly until they settle.
  if (page.items.some((c) => WORKING.has(c.status))) {
    const timer = setInterval(async () => {
      if (!ctx.isCurrent()) return;
      try {
        const fresh = await api.get(LIST_PATH, { query: listQuery });
        if (!ctx.isCurrent()) return;
        renderList(fresh.items);
        if (!fresh.items.some((c) => WORKING.has(c.status))) clearInterval(timer);
      } catch {
        clearInterval(timer);
      }
    }, 4000);
    ctx.onDispose(() => clearInterval(timer));
  }

  return h(
    "section",
    { class: "page" },
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, t("calls.title")),
      h("div", { class: "head-actions" }, exportButton, exportStatus),
    ),
    // On a phone the filters fold away (open when some are set), so the list is what one sees first.
    h(
      "details",
      {
        class: "filters-box card",
        open: filtered || !window.matchMedia("(max-width: 48rem)").matches,
      },
      h("summary", {}, filtered ? t("calls.filtersOn") : t("calls.filters")),
      form,
    ),
    listSlot,
    pager,
  );
}
