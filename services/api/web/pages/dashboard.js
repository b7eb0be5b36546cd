// @ts-check
// The operators dashboard: KPIs per operator for a period, and per-day trends as charts.
import { api, queryString } from "../lib/api.js";
import { barChart, ratioLineChart } from "../lib/chart.js";
import { errorBox, field, h, select } from "../lib/dom.js";
import { astanaDay, formatDay, formatNumber, formatPercent, t } from "../lib/i18n.js";

/** @import { PageContext } from "../app.js" */
/** @import { AnswerOf } from "../lib/api.js" */
/** @typedef {AnswerOf<"/api/v1/reports/operators">["items"][number]} OperatorKpi */
/** @typedef {AnswerOf<"/api/v1/reports/trends">["items"][number]} TrendDay */
/** @typedef {{ from: string, to: string }} Period */

const DEFAULT_DAYS = 30;

/**
 * @param {OperatorKpi[]} items
 * @param {Period} period
 */
function kpiTable(items, period) {
  if (items.length === 0) return h("p", { class: "empty" }, t("dash.noCalls"));
  const head = [
    t("dash.col.operator"),
    t("dash.col.calls"),
    t("dash.col.minutes"),
    t("dash.col.score"),
    t("dash.col.talkRatio"),
    t("dash.col.interruptions"),
    t("dash.col.silence"),
  ];
  return h(
    "table",
    { class: "kpi-table responsive", id: "operators-table" },
    h("caption", { class: "visually-hidden" }, t("dash.tableCaption")),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        head.map((c, i) => h("th", { scope: "col", class: i ? "num" : "" }, c)),
      ),
    ),
    h(
      "tbody",
      {},
      items.map((o) => {
        const label = o.name ?? o.externalId ?? t("calls.noOperator");
        /** @type {(i: number, text: string) => HTMLTableCellElement} */
        const cell = (i, text) => h("td", { "data-label": head[i], class: "num" }, text);
        return h(
          "tr",
          { "data-operator": o.operator ?? "" },
          h(
            "th",
            { scope: "row", "data-label": head[0] },
            o.operator
              ? h(
                  "a",
                  {
                    href: `#/calls${queryString({ operator: o.name ?? o.externalId, from: period.from, to: period.to })}`,
                  },
                  label,
                )
              : label,
            o.externalId && o.name ? h("span", { class: "muted small block" }, o.externalId) : null,
          ),
          cell(1, formatNumber(o.calls)),
          cell(2, formatNumber(o.minutes, 1)),
          cell(3, formatPercent(o.averageScore)),
          cell(4, formatPercent(o.averageTalkRatio)),
          cell(5, formatNumber(o.interruptionsPerCall, 1)),
          cell(6, formatPercent(o.silenceShare)),
        );
      }),
    ),
  );
}

/**
 * @param {OperatorKpi[]} items
 * @param {TrendDay[]} trends
 */
function summary(items, trends) {
  const calls = trends.reduce((a, d) => a + d.calls, 0);
  const minutes = trends.reduce((a, d) => a + d.minutes, 0);
  const answers = items.reduce((a, o) => a + o.scoreAnswers, 0);
  const score = answers
    ? items.reduce((a, o) => a + (o.averageScore ?? 0) * o.scoreAnswers, 0) / answers
    : null;
  /** @type {(label: string, value: string, id: string) => HTMLDivElement} */
  const tile = (label, value, id) => h("div", { class: "tile" }, h("dt", {}, label), h("dd", { id }, value));
  return h(
    "dl",
    { class: "tiles" },
    tile(t("dash.totalCalls"), formatNumber(calls), "total-calls"),
    tile(t("dash.totalMinutes"), formatNumber(minutes, 1), "total-minutes"),
    tile(t("dash.averageScore"), formatPercent(score), "average-score"),
    tile(t("dash.operators"), formatNumber(items.filter((o) => o.operator).length), "operator-count"),
  );
}

/** @param {PageContext} ctx */
export async function dashboardPage(ctx) {
  const q = ctx.query;
  const period = {
    from: q.get("from") || astanaDay(-(DEFAULT_DAYS - 1)),
    to: q.get("to") || astanaDay(0),
  };
  const operator = q.get("operator") ?? "";
  const [ops, trends] = await Promise.all([
    api.get("/api/v1/reports/operators", { query: period }),
    api.get("/api/v1/reports/trends", { query: { ...period, operator } }),
  ]);

  const from = h("input", { type: "date", name: "from", value: period.from, required: true });
  const to = h("input", { type: "date", name: "to", value: period.to, required: true });
  const operatorSelect = select({ name: "operator", value: operator }, [
    ["", t("dash.allOperators")],
    ...ops.items.flatMap((o) =>
      o.operator ? [/** @type {[string, string]} */ ([o.operator, o.name ?? o.externalId ?? ""])] : [],
    ),
  ]);
  const errors = errorBox();
  /** @param {Period & { operator: string }} p */
  const go = (p) => ctx.navigate(`/dashboard${queryString(p)}`);
  /** @param {number} days */
  const quick = (days) =>
    h(
      "button",
      {
        type: "button",
        class: "secondary small",
        onClick: () => go({ from: astanaDay(-(days - 1)), to: astanaDay(0), operator: operatorSelect.value }),
      },
      t("dash.lastDays", { n: days }),
    );
  const form = h(
    "form",
    {
      class: "filters card",
      "aria-label": t("dash.period"),
      onSubmit: (event) => {
        event.preventDefault();
        if (from.value > to.value) {
          errors.textContent = t("filter.badPeriod");
          return;
        }
        go({ from: from.value, to: to.value, operator: operatorSelect.value });
      },
    },
    h(
      "div",
      { class: "row" },
      field(t("filter.from"), from),
      field(t("filter.to"), to),
      field(t("dash.trendOperator"), operatorSelect),
      h(
        "div",
        { class: "actions end" },
        h("button", { type: "submit", class: "primary" }, t("filter.apply")),
      ),
    ),
    h(
      "div",
      { class: "quick", role: "group", "aria-label": t("dash.quickPeriods") },
      quick(7),
      quick(30),
      quick(90),
    ),
    errors,
  );

  const points = trends.items;
  const charts = h(
    "div",
    { class: "charts" },
    barChart({
      title: t("dash.chartCalls"),
      points: points.map((d) => ({ day: d.day, value: d.calls })),
      format: (v) => formatNumber(v),
      valueHead: t("dash.col.calls"),
      integer: true,
    }),
    barChart({
      title: t("dash.chartMinutes"),
      points: points.map((d) => ({ day: d.day, value: d.minutes })),
      format: (v) => formatNumber(v, 1),
      valueHead: t("dash.col.minutes"),
    }),
    ratioLineChart({
      title: t("dash.chartScore"),
      points: points.map((d) => ({ day: d.day, value: d.averageScore })),
      format: (v) => formatPercent(v),
      valueHead: t("dash.col.score"),
    }),
  );
  const operatorName = ops.items.find((o) => o.operator === operator);
  return h(
    "section",
    { class: "page" },
    h("h1", {}, t("dash.title")),
    h(
      "p",
      { class: "muted" },
      t("dash.periodText", { from: formatDay(period.from, "long"), to: formatDay(period.to, "long") }),
    ),
    form,
    summary(ops.items, points),
    h(
      "section",
      { class: "card", "aria-labelledby": "kpi-title" },
      h("h2", { id: "kpi-title" }, t("dash.byOperator")),
      kpiTable(ops.items, period),
      h("p", { class: "hint" }, t("dash.explain")),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "trends-title" },
      h(
        "h2",
        { id: "trends-title" },
        operator ? t("dash.trendsFor", { name: operatorName?.name ?? operator }) : t("dash.trends"),
      ),
      charts,
    ),
  );
}
