// @ts-check
// Inline SVG charts of per-day series: bars for counts, a line for ratios. Each chart is a <figure>
// with a text summary for screen readers and its numbers in a table under "Data".
import { h, svg, uid } from "./dom.js";
import { formatDay, t } from "./i18n.js";

const W = 480;
const H = 220;
const PAD = { left: 46, right: 10, top: 12, bottom: 30 };

/**
 * A chart: its title, one point per day, how a value reads, the head of the value column under "Data".
 * @template {number | null} V
 * @typedef {{ title: string, points: { day: string, value: V }[], format: (value: number) => string, valueHead?: string }} ChartSpec
 */

/**
 * A round upper bound for the axis whose half is round too: 1, 2, 4 × 10^k (counts: at least 2).
 * @param {number} max
 * @param {boolean} integer
 */
function niceMax(max, integer) {
  if (!(max > 0)) return integer ? 2 : 1;
  const exp = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 4, 10]) {
    const top = m * exp;
    if (top >= max && (!integer || Number.isInteger(top / 2))) return top;
  }
  return 10 * exp;
}

/**
 * @param {string} title
 * @param {string} summary
 */
function frame(title, summary) {
  const titleId = uid("chart");
  const descId = uid("chart-desc");
  const root = svg(
    "svg",
    {
      viewBox: `0 0 ${W} ${H}`,
      role: "img",
      "aria-labelledby": `${titleId} ${descId}`,
      class: "chart-svg",
      preserveAspectRatio: "xMidYMid meet",
    },
    svg("title", { id: titleId }, title),
    svg("desc", { id: descId }, summary),
  );
  return root;
}

/**
 * @param {SVGSVGElement} root
 * @param {string[]} days
 * @param {number} yMax
 * @param {(value: number) => string} formatY
 */
function axes(root, days, yMax, formatY) {
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  for (const f of [0, 0.5, 1]) {
    const y = PAD.top + innerH * (1 - f);
    root.append(
      svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: f === 0 ? "axis" : "grid" }),
      svg("text", { x: PAD.left - 6, y: y + 4, "text-anchor": "end", class: "tick" }, formatY(yMax * f)),
    );
  }
  const step = Math.max(1, Math.ceil(days.length / 5));
  days.forEach((day, i) => {
    if (i % step !== 0) return;
    const x = PAD.left + (innerW * (i + 0.5)) / days.length;
    root.append(svg("text", { x, y: H - 8, "text-anchor": "middle", class: "tick" }, formatDay(day)));
  });
  return { innerW, innerH };
}

/**
 * @param {string} caption
 * @param {[string, string][]} rows day, value as text
 * @param {string} valueHead
 */
function dataTable(caption, rows, valueHead) {
  return h(
    "details",
    { class: "chart-data" },
    h("summary", {}, t("chart.data")),
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, caption),
      h(
        "thead",
        {},
        h("tr", {}, h("th", { scope: "col" }, t("chart.day")), h("th", { scope: "col" }, valueHead)),
      ),
      h(
        "tbody",
        {},
        rows.map(([day, text]) => h("tr", {}, h("td", {}, formatDay(day, "long")), h("td", {}, text))),
      ),
    ),
  );
}

/**
 * Bars per day. `points`: [{ day: "YYYY-MM-DD", value: number }]; `format` renders a value.
 * @param {ChartSpec<number> & { integer?: boolean }} spec
 */
export function barChart({ title, points, format, valueHead, integer = false }) {
  const values = points.map((p) => p.value);
  const total = values.reduce((a, b) => a + b, 0);
  const peak = points.reduce(
    (/** @type {{ day: string, value: number } | undefined} */ best, p) =>
      p.value > (best?.value ?? -1) ? p : best,
    undefined,
  );
  const summary =
    total > 0 && peak
      ? t("chart.barSummary", {
          total: format(total),
          peak: format(peak.value),
          day: formatDay(peak.day, "long"),
        })
      : t("chart.empty");
  const yMax = niceMax(Math.max(...values, 0), integer);
  const root = frame(title, summary);
  const { innerW, innerH } = axes(
    root,
    points.map((p) => p.day),
    yMax,
    format,
  );
  const slot = innerW / Math.max(points.length, 1);
  points.forEach((p, i) => {
    if (p.value <= 0) return;
    const height = (innerH * p.value) / yMax;
    root.append(
      svg(
        "rect",
        {
          x: PAD.left + slot * i + slot * 0.15,
          y: PAD.top + innerH - height,
          width: Math.max(1, slot * 0.7),
          height,
          class: "bar",
        },
        svg("title", {}, `${formatDay(p.day, "long")}: ${format(p.value)}`),
      ),
    );
  });
  return h(
    "figure",
    { class: "chart" },
    h("figcaption", {}, title),
    root,
    dataTable(
      title,
      points.map((p) => [p.day, format(p.value)]),
      valueHead ?? title,
    ),
  );
}

/**
 * A line of 0..1 values per day; days without a value break the line.
 * @param {ChartSpec<number | null>} spec
 */
export function ratioLineChart({ title, points, format, valueHead }) {
  const known = points.flatMap((p) =>
    p.value !== null && p.value !== undefined ? [{ ...p, value: p.value }] : [],
  );
  const summary =
    known.length > 0
      ? t("chart.lineSummary", {
          min: format(Math.min(...known.map((p) => p.value))),
          max: format(Math.max(...known.map((p) => p.value))),
          days: known.length,
        })
      : t("chart.empty");
  const root = frame(title, summary);
  const { innerW, innerH } = axes(
    root,
    points.map((p) => p.day),
    1,
    format,
  );
  const slot = innerW / Math.max(points.length, 1);
  /** @type {(i: number, v: number) => [number, number]} */
  const xy = (i, v) => [PAD.left + slot * (i + 0.5), PAD.top + innerH * (1 - v)];
  let d = "";
  let pen = false;
  points.forEach((p, i) => {
    if (p.value === null || p.value === undefined) {
      pen = false;
      return;
    }
    const [x, y] = xy(i, p.value);
    d += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)} `;
    pen = true;
  });
  if (d) root.append(svg("path", { d: d.trim(), class: "line" }));
  points.forEach((p, i) => {
    if (p.value === null || p.value === undefined) return;
    const [x, y] = xy(i, p.value);
    root.append(
      svg(
        "circle",
        { cx: x, cy: y, r: 3.5, class: "dot" },
        svg("title", {}, `${formatDay(p.day, "long")}: ${format(p.value)}`),
      ),
    );
  });
  return h(
    "figure",
    { class: "chart" },
    h("figcaption", {}, title),
    root,
    dataTable(
      title,
      points.map((p) => [p.day, p.value === null ? "—" : format(p.value)]),
      valueHead ?? title,
    ),
  );
}
