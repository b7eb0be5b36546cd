// @ts-check
// Tiny DOM helpers: elements are built with h(), never from HTML strings, so no text is ever parsed
// as markup (transcripts and names come from outside).

/**
 * What h() takes as children: nodes, text (numbers too), nothing (null, undefined, false), or lists of them.
 * @typedef {Node | string | number | boolean | null | undefined | Child[]} Child
 */
/**
 * Attributes: `class`, `text`, `value`, `dataset`, `on<Event>` listeners, booleans as properties, the rest as
 * attributes; undefined, null and false leave one out.
 * @typedef {{
 *   [name: string]: unknown,
 *   onClick?: (event: MouseEvent) => unknown,
 *   onSubmit?: (event: SubmitEvent) => unknown,
 *   onChange?: (event: Event) => unknown,
 *   onInput?: (event: Event) => unknown,
 *   dataset?: Record<string, string>,
 * }} Attrs
 */

const SVG_NS = "http://www.w3.org/2000/svg";
let nextId = 0;

/**
 * A unique id for label/aria wiring.
 * @param {string} [prefix]
 */
export const uid = (prefix = "f") => `${prefix}-${++nextId}`;

/**
 * @param {HTMLElement | SVGElement} el
 * @param {Attrs | undefined} attrs
 * @param {boolean} isSvg
 * @returns {unknown} the `value` attribute, which is set after the children
 */
function apply(el, attrs, isSvg) {
  /** @type {unknown} */
  let value;
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.setAttribute("class", String(v));
    else if (k === "text") el.textContent = String(v);
    else if (k === "value") value = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function")
      el.addEventListener(k.slice(2).toLowerCase(), /** @type {EventListener} */ (v));
    // Boolean attributes as properties (hidden, disabled, checked, open, required…).
    else if (!isSvg && typeof v === "boolean")
      /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (el))[k] = v;
    else el.setAttribute(k, String(v));
  }
  return value;
}

/**
 * @param {Element} el
 * @param {Child[]} children
 */
function append(el, children) {
  for (const c of /** @type {Child[]} */ (/** @type {unknown[]} */ (children).flat(Infinity))) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/**
 * h("button", { class: "primary", onClick }, "Save")
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  const value = apply(el, attrs, false);
  append(el, children);
  // After the children: a <select>'s value needs its options.
  if (value !== undefined)
    /** @type {HTMLInputElement} */ (/** @type {unknown} */ (el)).value = String(value);
  return el;
}

/**
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {SVGElementTagNameMap[K]}
 */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs, true);
  append(el, children);
  return el;
}

/**
 * A labelled form control: <div class="field"><label>…</label><control><p class="hint"></p></div>.
 * The control gets an id, and aria-describedby when there is a hint.
 * @param {string} label
 * @param {HTMLElement} control
 * @param {string} [hint]
 */
export function field(label, control, hint) {
  control.id ||= uid();
  const parts = [h("label", { for: control.id }, label), control];
  if (hint) {
    const hintId = uid("hint");
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("p", { class: "hint", id: hintId }, hint));
  }
  return h("div", { class: "field" }, parts);
}

/**
 * A checkbox with its label after it.
 * @param {string} label
 * @param {HTMLInputElement} control
 */
export function checkField(label, control) {
  control.id ||= uid();
  return h("div", { class: "field check" }, control, h("label", { for: control.id }, label));
}

/**
 * <select> from [[value, label], …].
 * @param {Attrs} attrs
 * @param {ReadonlyArray<readonly [string, string]>} options
 */
export function select(attrs, options) {
  return h(
    "select",
    attrs,
    options.map(([value, label]) => h("option", { value }, label)),
  );
}

/** An alert paragraph for a form's errors (announced when filled). */
export function errorBox() {
  return h("p", { class: "error", role: "alert" });
}

/**
 * A table; `rows` are arrays of cells (nodes or text), `labels` repeat as data-label for phone layouts.
 * @param {{ caption?: string, head: Child[], rows: Child[][], className?: string }} spec
 */
export function table({ caption, head, rows, className = "" }) {
  return h(
    "table",
    { class: className },
    caption ? h("caption", { class: "visually-hidden" }, caption) : null,
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
      rows.map((r) =>
        h(
          "tr",
          {},
          r.map((c, i) => h("td", { "data-label": typeof head[i] === "string" ? head[i] : "" }, c)),
        ),
      ),
    ),
  );
}

/**
 * Saves a Blob as a file through a temporary link.
 * @param {Blob} blob
 * @param {string} fileName
 */
export function saveBlob(blob, fileName) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: fileName, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Copies text, answering whether it worked (the clipboard needs a secure context or a user gesture).
 * @param {string} text
 */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
