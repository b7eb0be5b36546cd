import { isValidBinIin } from "../billing/bin-iin.ts";
import type { DialogueLine } from "../providers/analysis/call-analyzer.ts";

/**
 * Personal data masking, applied to a transcript before it leaves for a third-party AI provider
 * (PRODUCT.md, "Providers"). Each masked span is replaced by a bracketed tag that keeps its kind and
 * "length class", so a language model can still answer "did the client leave a phone number?":
 *
 * | kind      | replacement                   | detected when |
 * |-----------|-------------------------------|---------------|
 * | `card`    | `[CARD ****1234]`  (last 4)   | 13–19 digits, contiguous or in groups of ≥ 3, passing the Luhn check |
 * | `phone`   | `[PHONE +7 *** *** ** 67]`    | a full +7 number (last 2 kept): 11 digits `+7`/`7`/`8` + code, or 10 digits with a mobile code |
 * | `phone`   | `[PHONE *** ** 67]`           | any other dictated digit sequence of ≥ 7 single-digit words (last 2 kept) |
 * | `iin_bin` | `[IIN/BIN]`                   | 12 digits whose Kazakhstan control digit is valid |
 * | `email`   | `[EMAIL a***@***.kz]`         | an e-mail address (first character and top-level domain kept) |
 *
 * Phone codes: Kazakh mobile 700–709, 747, 750–751, 760–764, 771, 775–778 and Russian mobile 900–999
 * are recognised after `+7`, `7`, `8` or bare (10 digits, written in at least two groups); other
 * (landline) codes starting 3–9 only after an explicit `+7`, or after `7`/`8` in at least two groups.
 * Written digits may be grouped with spaces, dashes and parentheses (`8 (701) 123-45-67`).
 *
 * Spoken digits: Russian (ноль/нуль … девять, "плюс"), Kazakh (нөл, бір, екі, үш, төрт, бес, алты,
 * жеті, сегіз, тоғыз and their spellings without Kazakh letters) and English (zero/oh … nine,
 * "double"/"triple", "plus"), including tens and hundreds ("семьсот один", "жеті жүз бір", "forty
 * five"). A run of number words is masked when it holds ≥ 7 single-digit words, or when its compound
 * numbers spell a full +7 phone number. All three vocabularies are always on, because calls in
 * Kazakhstan switch language mid-sentence; only `locale: "ru"` stops reading Kazakh "он" (ten) as a
 * number, since in Russian it is the pronoun "he".
 *
 * Not masked: prices ("15 000 тенге"), dates, times, order numbers failing Luhn, 12-digit numbers with
 * a wrong control digit, local 7-digit numbers written in digits. Masking is idempotent: every tag is
 * bracketed, so it never joins with neighbouring digits or words into something detectable.
 */
export type PersonalDataKind = "card" | "phone" | "iin_bin" | "email";
export type MaskLocale = "ru" | "kk" | "en";

export interface MaskOptions {
  /** The call's language, when known; it only decides whether "он" is a number (see above). */
  locale?: MaskLocale;
}

/** How many spans of each kind were masked; kinds with none are left out, in the order of `personalDataKinds`. */
export interface MaskFinding {
  kind: PersonalDataKind;
  count: number;
}

export interface MaskResult {
  text: string;
  found: MaskFinding[];
}

export const personalDataKinds: readonly PersonalDataKind[] = ["card", "phone", "iin_bin", "email"];

export function maskPersonalData(text: string, options: MaskOptions = {}): MaskResult {
  const spans = findPersonalData(text, options);
  return { text: applySpans(text, spans), found: countKinds(spans) };
}

/**
 * Masks each line. Consecutive lines of the same speaker are read as one turn, because speech
 * recognisers cut segments at pauses, often in the middle of a dictated number ("восемь семь ноль
 * один" | "два три четыре …"); a span crossing lines leaves its tag in the first line and removes its
 * rest from the following ones. Times and speakers are kept.
 */
export function maskDialogue<T extends DialogueLine>(
  lines: readonly T[],
  options: MaskOptions = {},
): { lines: T[]; found: MaskFinding[] } {
  const out: T[] = [];
  const allSpans: Span[] = [];
  let i = 0;
  while (i < lines.length) {
    let j = i + 1;
    while (j < lines.length && lines[j]!.speaker === lines[i]!.speaker) j++;
    const turn = lines.slice(i, j);
    const starts: number[] = [];
    let joined = "";
    for (const line of turn) {
      if (joined.length > 0) joined += TURN_JOINER;
      starts.push(joined.length);
      joined += line.text;
    }
    const spans = findPersonalData(joined, options);
    allSpans.push(...spans);
    turn.forEach((line, k) => {
      const lineStart = starts[k]!;
      const lineEnd = lineStart + line.text.length;
      const local: Span[] = [];
      for (const s of spans) {
        if (s.end <= lineStart || s.start >= lineEnd) continue;
        local.push({
          ...s,
          start: Math.max(s.start, lineStart) - lineStart,
          end: Math.min(s.end, lineEnd) - lineStart,
          // The tag goes where the span starts; later lines only lose the span's tail.
          replacement: s.start >= lineStart ? s.replacement : "",
        });
      }
      let text = applySpans(line.text, local);
      // The tail of a number continued from the previous line: drop the separators it leaves in front.
      if (local[0] && local[0].start === 0 && local[0].replacement === "") {
        text = text.replace(LEADING_SEPARATORS, "");
      }
      out.push(text === line.text ? line : { ...line, text });
    });
    i = j;
  }
  return { lines: out, found: countKinds(allSpans) };
}

/** The Luhn (mod 10) check used by payment card numbers. */
export function passesLuhn(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

// ---------------------------------------------------------------------------------------------------

interface Span {
  start: number;
  end: number;
  kind: PersonalDataKind;
  replacement: string;
}

const TURN_JOINER = " ";
const LEADING_SEPARATORS = /^[\s,;.:\-\u2010\u2011\u2013\u2014]+/u;

function findPersonalData(text: string, options: MaskOptions): Span[] {
  const spans = findEmails(text);
  spans.push(...findWrittenNumbers(text, spans));
  spans.push(...findSpokenNumbers(text, spans, options));
  return spans.sort((a, b) => a.start - b.start);
}

function applySpans(text: string, spans: readonly Span[]): string {
  let out = "";
  let at = 0;
  for (const s of [...spans].sort((a, b) => a.start - b.start)) {
    out += text.slice(at, s.start) + s.replacement;
    at = s.end;
  }
  return out + text.slice(at);
}

function countKinds(spans: readonly Span[]): MaskFinding[] {
  return personalDataKinds
    .map((kind) => ({ kind, count: spans.filter((s) => s.kind === kind).length }))
    .filter((f) => f.count > 0);
}

const overlaps = (start: number, end: number, spans: readonly Span[]) =>
  spans.some((s) => start < s.end && end > s.start);

// --- tags --------------------------------------------------------------------------------------------

const cardTag = (digits: string) => `[CARD ****${digits.slice(-4)}]`;
const fullPhoneTag = (digits: string) => `[PHONE +7 *** *** ** ${digits.slice(-2)}]`;
const shortPhoneTag = (digits: string) => `[PHONE *** ** ${digits.slice(-2)}]`;
const IIN_BIN_TAG = "[IIN/BIN]";

// --- e-mail ------------------------------------------------------------------------------------------

const EMAIL_LOCAL_CHAR = /[\p{L}\p{N}._%+-]/u;
/** RFC 5321 caps the local part at 64 characters; the cap also keeps the scan linear. */
const MAX_EMAIL_LOCAL = 64;
const EMAIL_DOMAIN = /(?:[\p{L}\p{N}-]+\.)+(\p{L}{2,})/uy;

/** Scans from each "@" outwards rather than running one regex everywhere, which is quadratic on long words. */
function findEmails(text: string): Span[] {
  const spans: Span[] = [];
  let taken = 0;
  for (let at = text.indexOf("@"); at !== -1; at = text.indexOf("@", at + 1)) {
    let start = at;
    while (start > taken && at - start < MAX_EMAIL_LOCAL && EMAIL_LOCAL_CHAR.test(text[start - 1]!)) start--;
    if (start === at) continue;
    EMAIL_DOMAIN.lastIndex = at + 1;
    const domain = EMAIL_DOMAIN.exec(text);
    if (!domain) continue;
    const end = at + 1 + domain[0].length;
    spans.push({
      start,
      end,
      kind: "email",
      replacement: `[EMAIL ${text[start]}***@***.${domain[1]!.toLowerCase()}]`,
    });
    taken = end;
    at = end - 1;
  }
  return spans;
}

// --- numbers written in digits -----------------------------------------------------------------------

interface DigitGroup {
  start: number;
  end: number;
  digits: string;
  plus: boolean;
}

const DIGIT_GROUP = /\+?\d+/g;
/** What may stand between the digit groups of one number: spaces, dashes, parentheses. */
const GROUP_SEPARATOR = /^[ \t\u00a0\u202f\-\u2010\u2011\u2013\u2014()]{1,4}$/;
/** Longest digit string any kind can have (a 19-digit card). */
const MAX_DIGITS = 19;

const isMobileCode = (code: string) => /^(?:70\d|747|75[01]|76[0-4]|771|77[5-8]|9\d\d)$/.test(code);

/** A full Kazakh/Russian number: see the module comment for the rules. */
function isPhoneShape(digits: string, plus: boolean, groups: number): boolean {
  if (digits.length === 11) {
    const country = digits[0];
    if (country !== "7" && (plus || country !== "8")) return false;
    const code = digits.slice(1, 4);
    return isMobileCode(code) || ((plus || groups >= 2) && /^[3-9]/.test(code));
  }
  return digits.length === 10 && !plus && groups >= 2 && isMobileCode(digits.slice(0, 3));
}

/** Cards and IIN/BIN are written contiguously or in groups of at least 3 (4-4-4-4, 4-6-5, 6-6). */
const cardLikeGrouping = (groups: readonly DigitGroup[]) =>
  groups.length === 1 || groups.every((g) => g.digits.length >= 3);

function classifyWritten(groups: readonly DigitGroup[], text: string): Span | undefined {
  const first = groups[0]!;
  const last = groups[groups.length - 1]!;
  const digits = groups.map((g) => g.digits).join("");
  // A "+" belongs to a phone number; in front of a card or IIN it is left outside the mask.
  const afterPlus = first.start + (first.plus ? 1 : 0);
  if (digits.length >= 13 && cardLikeGrouping(groups) && passesLuhn(digits)) {
    return { start: afterPlus, end: last.end, kind: "card", replacement: cardTag(digits) };
  }
  if (digits.length === 12 && cardLikeGrouping(groups) && isValidBinIin(digits)) {
    return { start: afterPlus, end: last.end, kind: "iin_bin", replacement: IIN_BIN_TAG };
  }
  if (isPhoneShape(digits, first.plus, groups.length)) {
    // "(701) 123-45-67": take the opening parenthesis too, or a lone "(" would be left behind.
    const opens = text[first.start - 1] === "(" && text[first.end] === ")";
    return {
      start: opens ? first.start - 1 : first.start,
      end: last.end,
      kind: "phone",
      replacement: fullPhoneTag(digits),
    };
  }
  return undefined;
}

function findWrittenNumbers(text: string, taken: readonly Span[]): Span[] {
  const groups: DigitGroup[] = [];
  for (const m of text.matchAll(DIGIT_GROUP)) {
    const start = m.index;
    const end = start + m[0].length;
    if (overlaps(start, end, taken)) continue;
    groups.push({ start, end, digits: m[0].replace("+", ""), plus: m[0].startsWith("+") });
  }
  // Runs: groups joined only by separators; a "+" can only open a run.
  const runs: DigitGroup[][] = [];
  for (const g of groups) {
    const run = runs[runs.length - 1];
    const prev = run?.[run.length - 1];
    if (run && prev && !g.plus && GROUP_SEPARATOR.test(text.slice(prev.end, g.start))) run.push(g);
    else runs.push([g]);
  }
  const spans: Span[] = [];
  for (const run of runs) {
    // Earliest start, then the longest window of whole groups that is personal data.
    let i = 0;
    while (i < run.length) {
      let found: { span: Span; next: number } | undefined;
      const windowEnds: number[] = [];
      let length = 0;
      for (let j = i; j < run.length; j++) {
        length += run[j]!.digits.length;
        if (length > MAX_DIGITS) break;
        windowEnds.push(j);
      }
      for (const j of windowEnds.reverse()) {
        const span = classifyWritten(run.slice(i, j + 1), text);
        if (span) {
          found = { span, next: j + 1 };
          break;
        }
      }
      if (found) {
        spans.push(found.span);
        i = found.next;
      } else {
        i++;
      }
    }
  }
  return spans;
}

// --- numbers dictated in words -------------------------------------------------------------------------

type NumberWord =
  | { kind: "unit"; value: number }
  /** 10–19 said as one word (ru, en). */
  | { kind: "teen"; value: number }
  /** 20–90, and Kazakh "он" (10): a unit may follow ("сорок пять", "он бір"). */
  | { kind: "tens"; value: number }
  /** Russian "сто" … "девятьсот". */
  | { kind: "hundreds"; value: number }
  /** Kazakh "жүз", English "hundred": multiplies the unit before it. */
  | { kind: "hundred" }
  /** English "double", "triple": repeats the next unit. */
  | { kind: "repeat"; times: number }
  /** "плюс", "plus": may open a number. */
  | { kind: "plus" };

const entries = (kind: "unit" | "teen" | "tens" | "hundreds", words: Record<string, number>) =>
  Object.entries(words).map(([w, value]): [string, NumberWord] => [w, { kind, value }]);

const COMMON_WORDS = new Map<string, NumberWord>([
  // Russian
  ...entries("unit", {
    ноль: 0,
    нуль: 0,
    один: 1,
    одна: 1,
    два: 2,
    две: 2,
    три: 3,
    четыре: 4,
    пять: 5,
    шесть: 6,
    семь: 7,
    восемь: 8,
    девять: 9,
  }),
  ...entries("teen", {
    десять: 10,
    одиннадцать: 11,
    двенадцать: 12,
    тринадцать: 13,
    четырнадцать: 14,
    пятнадцать: 15,
    шестнадцать: 16,
    семнадцать: 17,
    восемнадцать: 18,
    девятнадцать: 19,
  }),
  ...entries("tens", {
    двадцать: 20,
    тридцать: 30,
    сорок: 40,
    пятьдесят: 50,
    шестьдесят: 60,
    семьдесят: 70,
    восемьдесят: 80,
    девяносто: 90,
  }),
  ...entries("hundreds", {
    сто: 100,
    двести: 200,
    триста: 300,
    четыреста: 400,
    пятьсот: 500,
    шестьсот: 600,
    семьсот: 700,
    восемьсот: 800,
    девятьсот: 900,
  }),
  ["плюс", { kind: "plus" }],
  // Kazakh, with the spellings speech recognisers produce without Kazakh letters
  ...entries("unit", {
    нөл: 0,
    нол: 0,
    бір: 1,
    бир: 1,
    екі: 2,
    еки: 2,
    үш: 3,
    уш: 3,
    төрт: 4,
    торт: 4,
    бес: 5,
    алты: 6,
    жеті: 7,
    жети: 7,
    сегіз: 8,
    сегиз: 8,
    тоғыз: 9,
    тогыз: 9,
  }),
  ...entries("tens", {
    жиырма: 20,
    отыз: 30,
    қырық: 40,
    кырык: 40,
    елу: 50,
    алпыс: 60,
    жетпіс: 70,
    жетпис: 70,
    сексен: 80,
    тоқсан: 90,
    токсан: 90,
  }),
  ["жүз", { kind: "hundred" }],
  ["жуз", { kind: "hundred" }],
  // English
  ...entries("unit", {
    zero: 0,
    oh: 0,
    o: 0,
    one: 1,
    two: 2,
    three: 3,
    four: 4,
    five: 5,
    six: 6,
    seven: 7,
    eight: 8,
    nine: 9,
  }),
  ...entries("teen", {
    ten: 10,
    eleven: 11,
    twelve: 12,
    thirteen: 13,
    fourteen: 14,
    fifteen: 15,
    sixteen: 16,
    seventeen: 17,
    eighteen: 18,
    nineteen: 19,
  }),
  ...entries("tens", {
    twenty: 20,
    thirty: 30,
    forty: 40,
    fifty: 50,
    sixty: 60,
    seventy: 70,
    eighty: 80,
    ninety: 90,
  }),
  ["hundred", { kind: "hundred" }],
  ["double", { kind: "repeat", times: 2 }],
  ["triple", { kind: "repeat", times: 3 }],
  ["plus", { kind: "plus" }],
]);

/** Kazakh "он" (ten, "он бір" = 11) is the Russian pronoun "he": read as a number unless the call is Russian. */
const KAZAKH_TEN: NumberWord = { kind: "tens", value: 10 };

const WORD = /[\p{L}\p{M}]+/gu;
/** What may stand between dictated number words. */
const WORD_SEPARATOR = /^[\s,;.:\-\u2010\u2011\u2013\u2014]+$/u;

interface Word {
  start: number;
  end: number;
  number: NumberWord;
}

interface Chunk {
  start: number;
  end: number;
  digits: string;
  /** Digits said one word each ("семь", "double seven"), the mark of dictation. */
  singles: number;
}

function lookup(word: string, locale: MaskLocale | undefined): NumberWord | undefined {
  const key = word.toLowerCase().replaceAll("ё", "е");
  if (key === "он") return locale === "ru" ? undefined : KAZAKH_TEN;
  return COMMON_WORDS.get(key);
}

/** 1–99 as tens [+ unit], a teen, or a non-zero unit: what may follow a hundred. */
function belowHundred(words: readonly Word[], p: number): { value: number; next: number } | undefined {
  const w = words[p]?.number;
  if (w?.kind === "tens") {
    const u = words[p + 1]?.number;
    return u?.kind === "unit" && u.value > 0
      ? { value: w.value + u.value, next: p + 2 }
      : { value: w.value, next: p + 1 };
  }
  if (w?.kind === "teen") return { value: w.value, next: p + 1 };
  if (w?.kind === "unit" && w.value > 0) return { value: w.value, next: p + 1 };
  return undefined;
}

/** One spoken number starting at word p ("семь", "семьсот один", "жеті жүз", "double seven"). */
function parseChunk(words: readonly Word[], p: number): (Chunk & { next: number }) | undefined {
  const w = words[p]!.number;
  const start = words[p]!.start;
  const chunk = (digits: string, next: number, singles: number) => ({
    start,
    end: words[next - 1]!.end,
    digits,
    singles,
    next,
  });
  let hundreds: number | undefined;
  let q = p + 1;
  if (w.kind === "hundreds") hundreds = w.value;
  else if (w.kind === "hundred") hundreds = 100;
  else if (w.kind === "unit" && w.value > 0 && words[p + 1]?.number.kind === "hundred") {
    hundreds = w.value * 100;
    q = p + 2;
  }
  if (hundreds !== undefined) {
    const rest = belowHundred(words, q);
    return rest ? chunk(String(hundreds + rest.value), rest.next, 0) : chunk(String(hundreds), q, 0);
  }
  if (w.kind === "repeat") {
    const u = words[p + 1]?.number;
    return u?.kind === "unit" ? chunk(String(u.value).repeat(w.times), p + 2, w.times) : undefined;
  }
  if (w.kind === "unit") return chunk(String(w.value), p + 1, 1);
  const rest = belowHundred(words, p);
  return rest ? chunk(String(rest.value), rest.next, 0) : undefined;
}

function findSpokenNumbers(text: string, taken: readonly Span[], options: MaskOptions): Span[] {
  // Runs of number words joined only by separators.
  const runs: Word[][] = [];
  let previous: Word | undefined;
  for (const m of text.matchAll(WORD)) {
    const number = lookup(m[0], options.locale);
    const start = m.index;
    const end = start + m[0].length;
    if (!number || overlaps(start, end, taken)) {
      previous = undefined;
      continue;
    }
    const word: Word = { start, end, number };
    const joins =
      previous !== undefined &&
      number.kind !== "plus" &&
      WORD_SEPARATOR.test(text.slice(previous.end, start));
    if (joins) runs[runs.length - 1]!.push(word);
    else runs.push([word]);
    previous = word;
  }

  const spans: Span[] = [];
  for (const run of runs) {
    const plus = run[0]!.number.kind === "plus" ? run[0] : undefined;
    const words = plus ? run.slice(1) : run;
    // Split into spoken numbers; a word that starts none ("double" before "hundred") breaks the run.
    const parts: Chunk[][] = [[]];
    let p = 0;
    while (p < words.length) {
      const chunk = parseChunk(words, p);
      if (chunk) {
        parts[parts.length - 1]!.push(chunk);
        p = chunk.next;
      } else {
        parts.push([]);
        p++;
      }
    }
    parts.forEach((chunks, index) => {
      spans.push(...spokenSpans(chunks, index === 0 ? plus : undefined));
    });
  }
  return spans;
}

function spokenSpans(chunks: readonly Chunk[], plus: Word | undefined): Span[] {
  if (chunks.length === 0) return [];
  const digits = chunks.map((c) => c.digits).join("");
  const singles = chunks.reduce((n, c) => n + c.singles, 0);
  const start = plus?.start ?? chunks[0]!.start;
  const end = chunks[chunks.length - 1]!.end;
  if (singles >= 7) {
    // Dictated digit by digit: whatever it is, it is masked; label it by what it looks like.
    if (!plus && digits.length >= 13 && digits.length <= MAX_DIGITS && passesLuhn(digits)) {
      return [{ start, end, kind: "card", replacement: cardTag(digits) }];
    }
    if (!plus && digits.length === 12 && isValidBinIin(digits)) {
      return [{ start, end, kind: "iin_bin", replacement: IIN_BIN_TAG }];
    }
    const tag = isPhoneShape(digits, plus !== undefined, chunks.length) ? fullPhoneTag : shortPhoneTag;
    return [{ start, end, kind: "phone", replacement: tag(digits) }];
  }
  // Said in compound numbers ("восемь семьсот один сто двадцать три сорок пять шестьдесят семь"):
  // only a full phone number counts, so lists of amounts stay readable.
  const spans: Span[] = [];
  let i = 0;
  while (i < chunks.length) {
    let next = i + 1;
    let acc = "";
    let best: number | undefined;
    for (let j = i; j < chunks.length && acc.length < 11; j++) {
      acc += chunks[j]!.digits;
      const withPlus = i === 0 && plus !== undefined;
      if (isPhoneShape(acc, withPlus, j - i + 1)) best = j;
    }
    if (best !== undefined) {
      const windowDigits = chunks
        .slice(i, best + 1)
        .map((c) => c.digits)
        .join("");
      spans.push({
        start: i === 0 && plus ? plus.start : chunks[i]!.start,
        end: chunks[best]!.end,
        kind: "phone",
        replacement: fullPhoneTag(windowDigits),
      });
      next = best + 1;
    }
    i = next;
  }
  return spans;
}
