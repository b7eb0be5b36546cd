// @ts-check
// Interface language and locale formatting. Russian and English everywhere; Kazakh on the welcome
// (sign-in and sign-up) screens, where the rest of the app falls back to Russian.
import { messages } from "./messages.js";

/** @import { MessageKey } from "./messages.js" */

const LANG_KEY = "tyndau.lang";
export const LANGS = { ru: "Русский", en: "English", kk: "Қазақша" };
const LOCALES = { ru: "ru-RU", en: "en-GB", kk: "kk-KZ" };
/** @typedef {keyof typeof LANGS} Lang */

/**
 * @param {unknown} value
 * @returns {value is Lang}
 */
const isLang = (value) => typeof value === "string" && Object.hasOwn(LANGS, value);

/** @returns {Lang} */
function initialLang() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && isLang(saved)) return saved;
  for (const l of navigator.languages ?? [navigator.language]) {
    const base = String(l).slice(0, 2).toLowerCase();
    if (isLang(base)) return base;
  }
  return "ru";
}

let preferred = initialLang();
/** Kazakh texts exist for the welcome screens; inside the app a Kazakh preference reads Russian. */
let scope = "app";

/**
 * The language texts are shown in now (what <html lang> says).
 * @returns {Lang}
 */
export const lang = () => (preferred === "kk" && scope === "app" ? "ru" : preferred);
export const preferredLang = () => preferred;
export const locale = () => LOCALES[lang()];

/** @param {string} value */
export function setLang(value) {
  if (!isLang(value)) return;
  preferred = value;
  localStorage.setItem(LANG_KEY, value);
  document.documentElement.lang = lang();
}

/**
 * "auth" on the welcome screens (Kazakh available), "app" elsewhere.
 * @param {"auth" | "app"} value
 */
export function setScope(value) {
  scope = value;
  document.documentElement.lang = lang();
}

/**
 * Languages offered by the switcher on the current screen.
 * @returns {[string, string][]}
 */
export const languageChoices = () =>
  Object.entries(LANGS).filter(([code]) => scope === "auth" || code !== "kk");

/**
 * t("calls.title"), t("calls.count", { n: 3 }): `{name}` placeholders; plural forms via {n|one|few|many}.
 * The type check holds `key` to the message table (a key built from server data is cast at the call).
 * @param {MessageKey} key
 * @param {Record<string, string | number | null | undefined>} [vars]
 * @returns {string}
 */
export function t(key, vars = {}) {
  const l = lang();
  const text = messages[l]?.[key] ?? messages.ru[key] ?? messages.en[key] ?? key;
  return text.replace(/\{(\w+)(?:\|([^}]*))?\}/g, (_, name, forms) => {
    const v = vars[name];
    if (forms === undefined) return v === undefined ? "" : String(v);
    return pluralForm(Number(v), forms.split("|"));
  });
}

/**
 * t(key) when there is such a text, else `fallback` (for values from the server, e.g. provider names).
 * @param {string} key
 * @param {string} fallback
 * @returns {string}
 */
export function tOr(key, fallback) {
  const l = lang();
  const tables = /** @type {Record<Lang, Record<string, string | undefined>>} */ (messages);
  return tables[l]?.[key] ?? tables.ru[key] ?? tables.en[key] ?? fallback;
}

/**
 * @param {number} n
 * @param {string[]} forms
 */
function pluralForm(n, forms) {
  const rule = new Intl.PluralRules(locale()).select(n);
  const [one, few, many] = forms;
  if (rule === "one") return one ?? "";
  if (rule === "few") return few ?? many ?? "";
  return many ?? few ?? one ?? "";
}

// ---------- formatting ----------

/** Astana is UTC+05:00 all year; offset zones need a recent engine, Asia/Almaty is the fallback. */
const TIME_ZONE = (() => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: "+05:00" }).format(0);
    return "+05:00";
  } catch {
    return "Asia/Almaty";
  }
})();

/** @type {Map<string, Intl.DateTimeFormat | Intl.NumberFormat>} */
const cache = new Map();
/**
 * @overload
 * @param {"date"} kind
 * @param {Intl.DateTimeFormatOptions} options
 * @returns {Intl.DateTimeFormat}
 */
/**
 * @overload
 * @param {"number"} kind
 * @param {Intl.NumberFormatOptions} options
 * @returns {Intl.NumberFormat}
 */
/**
 * @param {"date" | "number"} kind
 * @param {Intl.DateTimeFormatOptions | Intl.NumberFormatOptions} options
 * @returns {Intl.DateTimeFormat | Intl.NumberFormat}
 */
function formatter(kind, options) {
  const key = `${locale()}|${kind}|${JSON.stringify(options)}`;
  let f = cache.get(key);
  if (!f) {
    f =
      kind === "date" ? new Intl.DateTimeFormat(locale(), options) : new Intl.NumberFormat(locale(), options);
    cache.set(key, f);
  }
  return f;
}

/** @param {string | null | undefined} iso */
export function formatDateTime(iso) {
  if (!iso) return "—";
  return formatter("date", { dateStyle: "medium", timeStyle: "short", timeZone: TIME_ZONE }).format(
    new Date(iso),
  );
}

/** @param {string | null | undefined} iso */
export function formatDate(iso) {
  if (!iso) return "—";
  return formatter("date", { dateStyle: "medium", timeZone: TIME_ZONE }).format(new Date(iso));
}

/**
 * A YYYY-MM-DD calendar day, short (22.11 / 22 Nov).
 * @param {string} day
 * @param {"short" | "long"} [style]
 */
export function formatDay(day, style = "short") {
  const date = new Date(`${day}T12:00:00+05:00`);
  /** @type {Intl.DateTimeFormatOptions} */
  const options = style === "short" ? { day: "numeric", month: "short" } : { dateStyle: "medium" };
  return formatter("date", { ...options, timeZone: TIME_ZONE }).format(date);
}

/**
 * @param {number | null | undefined} value
 * @param {number} [digits]
 */
export function formatNumber(value, digits = 0) {
  if (value === null || value === undefined) return "—";
  return formatter("number", { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(value);
}

/**
 * @param {number | null | undefined} ratio
 * @param {number} [digits]
 */
export function formatPercent(ratio, digits = 0) {
  if (ratio === null || ratio === undefined) return "—";
  return formatter("number", { style: "percent", maximumFractionDigits: digits }).format(ratio);
}

/**
 * Money from the API's decimal strings, formatted exactly (Intl formats numeric strings without going
 * through floating point); KZT shows as ₸.
 * @param {string | null | undefined} amount a decimal string
 * @param {string} currency ISO 4217
 * @param {{ signed?: boolean }} [options]
 */
export function formatMoney(amount, currency, { signed = false } = {}) {
  if (amount === null || amount === undefined) return "—";
  return formatter("number", {
    style: "currency",
    currency,
    currencyDisplay: "narrowSymbol",
    signDisplay: signed ? "exceptZero" : "auto",
  }).format(/** @type {Intl.StringNumericLiteral} */ (amount));
}

/**
 * Seconds as m:ss (or h:mm:ss).
 * @param {number | null | undefined} sec
 */
export function formatClock(sec) {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return "—";
  const s = Math.max(0, Math.floor(sec));
  const hours = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60));
  const ss = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${mm.padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/**
 * Seconds as words: "1 min 05 s" / "1 мин 05 с".
 * @param {number | null | undefined} sec
 */
export function formatSeconds(sec) {
  if (sec === null || sec === undefined) return "—";
  if (sec < 60) return t("unit.sec", { n: formatNumber(sec, 1) });
  const m = Math.floor(sec / 60);
  const s = Math.round(sec % 60);
  return t("unit.minSec", { m, s: String(s).padStart(2, "0") });
}

/**
 * Today in Astana as YYYY-MM-DD, and days relative to it.
 * @param {number} [offsetDays]
 */
export function astanaDay(offsetDays = 0) {
  const shifted = new Date(Date.now() + 5 * 3600_000 + offsetDays * 86_400_000);
  return shifted.toISOString().slice(0, 10);
}
