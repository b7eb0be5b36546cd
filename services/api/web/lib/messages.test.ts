import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

type Table = Record<string, string>;
const LANGS = ["ru", "en", "kk"] as const;

// The web app is plain JS outside this project's tsconfig (it has its own, with checkJs): import it by URL.
const here = path.dirname(fileURLToPath(import.meta.url));
const { messages } = (await import(new URL("./messages.js", import.meta.url).href)) as {
  messages: Record<(typeof LANGS)[number], Table>;
};

const webDir = path.join(here, "..");
function sources(dir: string): { file: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    if (!entry.name.endsWith(".js") || entry.name === "messages.js") return [];
    return [{ file: path.relative(webDir, full), text: readFileSync(full, "utf8") }];
  });
}

/** `{name}` and `{n|one|few|many}` placeholders by name: a translation must keep every one. */
const placeholders = (text: string) => [...new Set([...text.matchAll(/\{(\w+)/g)].map((m) => m[1]))].sort();

/**
 * Keys the app passes to t() / tOr(): a literal ("calls.title"), or the fixed part of a key built from a value
 * (`status.${call.status}`), after an optional JSDoc cast. The type check (t takes a MessageKey) checks the
 * built ones against the values' types; here each fixed part must at least start some key.
 */
function usedKeys(source: string): { literal: string[]; prefixes: string[] } {
  // Comments hold examples (i18n.js documents t("calls.count")): block comments go, but for a cast before
  // an opening parenthesis (`t(/** @type {MessageKey} */ (…))`), and so do whole-line comments.
  const text = source.replace(/\/\*[\s\S]*?\*\/(?!\s*\()/g, "").replace(/^\s*\/\/.*$/gm, "");
  const literal: string[] = [];
  const prefixes: string[] = [];
  const call = /\b(?:t|tOr)\(\s*(?:\/\*\*[^*]*\*\/\s*\(\s*)?(["'`])((?:(?!\1)[^\\$])*)(\$\{)?/g;
  for (const m of text.matchAll(call)) {
    const [, quote, body, interpolation] = m;
    if (quote === "`" && interpolation) prefixes.push(body ?? "");
    else literal.push(body ?? "");
  }
  // Keys the app stores and shows later (app.js leaves the sign-in page a notice to t()).
  for (const m of text.matchAll(/setItem\("tyndau\.notice",\s*"([^"]+)"\)/g)) literal.push(m[1] ?? "");
  return { literal, prefixes };
}

describe("the web app's message table", () => {
  const ru = messages.ru;

  it("has every key in Russian, English and Kazakh, none empty", () => {
    for (const lang of LANGS) {
      const table = messages[lang];
      const missing = Object.keys(ru).filter((k) => !Object.hasOwn(table, k));
      const extra = Object.keys(table).filter((k) => !Object.hasOwn(ru, k));
      const empty = Object.keys(table).filter((k) => !table[k]?.trim());
      expect({ lang, missing, extra, empty }).toEqual({ lang, missing: [], extra: [], empty: [] });
    }
    expect(Object.keys(ru).length).toBeGreaterThan(400);
  });

  it("keeps every placeholder of a text in each language", () => {
    const problems: string[] = [];
    for (const key of Object.keys(ru)) {
      for (const lang of LANGS) {
        const got = placeholders(messages[lang][key] ?? "");
        const want = placeholders(ru[key] ?? "");
        if (got.join() !== want.join()) problems.push(`${lang} ${key}: {${got}} instead of {${want}}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("has every key the app asks for", () => {
    const files = sources(webDir);
    expect(files.map((f) => f.file)).toContain("pages/calls.js");
    const problems: string[] = [];
    let literals = 0;
    for (const { file, text } of files) {
      const { literal, prefixes } = usedKeys(text);
      literals += literal.length;
      for (const key of literal) {
        for (const lang of LANGS)
          if (!Object.hasOwn(messages[lang], key)) problems.push(`${file}: ${lang} ${key}`);
      }
      for (const prefix of prefixes) {
        if (!Object.keys(ru).some((k) => k.startsWith(prefix) && k.length > prefix.length))
          problems.push(`${file}: no key starts with ${prefix}`);
      }
    }
    expect(problems).toEqual([]);
    // The scan finds the app's calls (a broken pattern would find none and pass).
    expect(literals).toBeGreaterThan(300);
  });

  it("recognises the shapes of t() calls the app uses", () => {
    // Source text of the app, so `${…}` stands for itself here.
    const $ = "$";
    const sample = [
      '/**\n * t("doc.example")\n */',
      '/** t("one.line"), t("doc.example2") */',
      '// t("line.comment")',
      't("a.b")',
      "t(\n  'c.d', { n: 1 })",
      `tOr(\`e.${$}{x}\`, x)`,
      "t(`f.g`)",
      `t(/** @type {MessageKey} */ (\`h.${$}{y}\`))`,
      'setItem("tyndau.notice", "i.j")',
    ].join("\n");
    expect(usedKeys(sample)).toEqual({ literal: ["a.b", "c.d", "f.g", "i.j"], prefixes: ["e.", "h."] });
  });
});
