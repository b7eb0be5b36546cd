import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { DialogueLine } from "../providers/analysis/call-analyzer.ts";
import { createRulesAnalyzer, normalize } from "../providers/analysis/rules-analyzer.ts";
import {
  findLibraryTemplate,
  type LibraryLanguage,
  type LibraryTemplate,
  libraryLanguages,
  libraryTemplates,
  libraryTopics,
} from "./template-library.ts";

/**
 * The rules POST /api/v1/templates applies (services/api/routes/templates/templates.routes.ts), restated
 * here because shared/ does not import services/: a library template that broke them could not be copied.
 */
const apiQuestion = z
  .object({
    key: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
    text: z.string().trim().min(1).max(1000),
    type: z.enum(["boolean", "score", "choice", "text"]),
    options: z.array(z.string().trim().min(1).max(200)).min(2).max(20).optional(),
    scale: z.object({ min: z.number().int(), max: z.number().int() }).optional(),
    keywords: z
      .object({
        speaker: z.enum(["operator", "client", "any"]).default("any"),
        any: z.array(z.string().trim().min(1).max(200)).min(1).max(100),
      })
      .optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (q.type === "choice" && !q.options) ctx.addIssue({ code: "custom", message: "choice needs options" });
    if (q.type === "score" && (!q.scale || q.scale.min >= q.scale.max)) {
      ctx.addIssue({ code: "custom", message: "score needs min < max" });
    }
  });
const apiTemplate = z.object({
  name: z.string().trim().min(1).max(200),
  questions: z
    .array(apiQuestion)
    .min(1)
    .max(50)
    .refine((qs) => new Set(qs.map((q) => q.key)).size === qs.length, "question keys must be unique"),
});

const KAZAKH_LETTERS = /[әғқңөұүһі]/i;
const CYRILLIC = /[а-яё]/i;

describe("libraryTemplates", () => {
  it.each(libraryTemplates.map((t) => [t.id, t] as const))("%s passes the API's template rules", (_id, t) => {
    const result = apiTemplate.safeParse({ name: t.name, questions: t.questions });
    expect(result.success ? [] : result.error.issues).toEqual([]);
    expect(t.description.trim().length).toBeGreaterThan(20);
  });

  it("has every topic once in every language, under a stable id", () => {
    for (const language of libraryLanguages) {
      const topics = libraryTemplates.filter((t) => t.language === language).map((t) => t.topic);
      expect([...topics].sort()).toEqual([...libraryTopics].sort());
    }
    expect(libraryTopics).toHaveLength(8);
    expect(libraryTemplates).toHaveLength(24);
    for (const t of libraryTemplates) expect(t.id).toBe(`${t.topic}-${t.language}`);
    expect(new Set(libraryTemplates.map((t) => t.id)).size).toBe(libraryTemplates.length);
  });

  it("gives every boolean question of a rules template keywords the rules analyzer can match", () => {
    for (const t of libraryTemplates.filter((x) => x.provider === "rules")) {
      for (const q of t.questions) {
        // The rules provider answers only booleans; anything else would stay unanswered.
        expect(q.type, `${t.id}.${q.key}`).toBe("boolean");
        const phrases = q.keywords?.any ?? [];
        expect(phrases.length, `${t.id}.${q.key}`).toBeGreaterThan(0);
        const normalized = phrases.map(normalize);
        expect(normalized.every((p) => p.length > 0)).toBe(true);
        expect(new Set(normalized).size, `${t.id}.${q.key} repeats a phrase`).toBe(normalized.length);
      }
    }
  });

  it("asks a language model for scores on 1–5, choices and free text", () => {
    const llm = libraryTemplates.filter((t) => t.provider === "llm");
    expect(new Set(llm.map((t) => t.topic))).toEqual(new Set(["customer-sentiment", "summary"]));
    for (const t of llm) {
      const types = new Set(t.questions.map((q) => q.type));
      expect(types.has("score") && types.has("choice") && types.has("text")).toBe(true);
      for (const q of t.questions.filter((x) => x.type === "score"))
        expect(q.scale).toEqual({ min: 1, max: 5 });
    }
  });

  it("asks the same things in every language", () => {
    for (const topic of libraryTopics) {
      const shapes = libraryLanguages.map((language) =>
        findLibraryTemplate(`${topic}-${language}`)!.questions.map((q) => [
          q.key,
          q.type,
          q.keywords?.speaker,
        ]),
      );
      expect(shapes[1]).toEqual(shapes[0]);
      expect(shapes[2]).toEqual(shapes[0]);
    }
  });

  it("is written in the language it claims", () => {
    for (const t of libraryTemplates) {
      const words = [t.name, t.description, ...t.questions.flatMap((q) => [q.text, ...(q.options ?? [])])];
      const phrases = t.questions.flatMap((q) => q.keywords?.any ?? []);
      if (t.language === "en") {
        expect(
          words.concat(phrases).some((w) => CYRILLIC.test(w)),
          t.id,
        ).toBe(false);
      } else {
        for (const w of words) expect(CYRILLIC.test(w), `${t.id}: ${w}`).toBe(true);
        const kazakhLetters = words.concat(phrases).some((w) => KAZAKH_LETTERS.test(w));
        expect(kazakhLetters, t.id).toBe(t.language === "kk");
      }
    }
  });

  it("finds a template by id and nothing else", () => {
    expect(findLibraryTemplate("greeting-kk")?.name).toBe("Сәлемдесу және таныстыру");
    expect(findLibraryTemplate("greeting-de")).toBeUndefined();
  });
});

const operator = (startSec: number, text: string): DialogueLine => ({
  speaker: "operator",
  startSec,
  endSec: startSec + 3,
  text,
});
const client = (startSec: number, text: string): DialogueLine => ({
  ...operator(startSec, text),
  speaker: "client",
});

/** One sales call per language and the rules questions it should answer "yes"; every other one is "no". */
const calls: Record<LibraryLanguage, { dialogue: DialogueLine[]; yes: Record<string, string[]> }> = {
  ru: {
    dialogue: [
      operator(0, "Добрый день! Компания «Тындау», меня зовут Айгерим. Как к вам обращаться?"),
      client(4, "Здравствуйте, Ержан."),
      operator(6, "Ержан, чем могу помочь?"),
      client(8, "Нам нужна аналитика звонков, но пока дорого."),
      operator(
        12,
        "Понимаю вас. Давайте посчитаем: вы получите экономию времени. Стоимость 5000 тенге в месяц.",
      ),
      client(18, "Звучит хорошо, договорились."),
      operator(21, "Отправлю вам договор завтра на вашу почту. Спасибо за звонок, всего доброго!"),
    ],
    yes: {
      greeting: ["greeted", "introduced_self", "company_named", "asked_client_name", "offered_help"],
      "needs-discovery": ["client_stated_need"],
      offer: ["benefits_explained", "price_named", "client_interested"],
      "objection-handling": ["client_objected", "objection_acknowledged", "argument_given"],
      "next-step": ["next_step_proposed", "time_agreed", "client_confirmed", "contact_confirmed"],
      politeness: ["thanked", "farewell"],
    },
  },
  kk: {
    dialogue: [
      operator(0, "Сәлеметсіз бе! «Тыңдау» компаниясы, менің атым Айгерим. Сізге қалай жүгінсем болады?"),
      client(4, "Сәлеметсіз бе, Ержан."),
      operator(6, "Ержан, сізге қалай көмектесе аламын?"),
      client(8, "Бізге қоңырауларды талдау қажет, бірақ қымбат сияқты."),
      operator(12, "Түсінемін. Есептеп көрейік: бұл сізге тиімді, айына 5000 теңге."),
      client(18, "Жарайды, келістік."),
      operator(21, "Ертең шартты поштаңызға жіберемін. Хабарласқаныңызға рахмет, сау болыңыз!"),
    ],
    yes: {
      greeting: ["greeted", "introduced_self", "company_named", "asked_client_name", "offered_help"],
      "needs-discovery": ["client_stated_need"],
      offer: ["benefits_explained", "price_named"],
      "objection-handling": ["client_objected", "objection_acknowledged", "argument_given"],
      "next-step": ["next_step_proposed", "time_agreed", "client_confirmed", "contact_confirmed"],
      politeness: ["thanked", "farewell"],
    },
  },
  en: {
    dialogue: [
      operator(0, "Good afternoon, Tyndau company, my name is Anna. May I have your name?"),
      client(4, "Hi, it's John."),
      operator(6, "John, how can I help?"),
      client(8, "We need call analytics, but it looks too expensive."),
      operator(
        12,
        "I understand. Let's compare: you'll get hours back every week, and it costs 5000 tenge per month.",
      ),
      client(18, "Sounds good, agreed."),
      operator(21, "I'll send the contract to your email tomorrow. Thank you, have a nice day!"),
    ],
    yes: {
      greeting: ["greeted", "introduced_self", "company_named", "asked_client_name", "offered_help"],
      "needs-discovery": ["client_stated_need"],
      offer: ["benefits_explained", "price_named", "client_interested"],
      "objection-handling": ["client_objected", "objection_acknowledged", "argument_given"],
      "next-step": ["next_step_proposed", "time_agreed", "client_confirmed", "contact_confirmed"],
      politeness: ["thanked", "farewell"],
    },
  },
};

describe("library templates with the offline rules provider", () => {
  const analyzer = createRulesAnalyzer();
  const analyze = async (t: LibraryTemplate, dialogue: DialogueLine[]) => {
    const { answers } = await analyzer.analyze({
      template: { id: t.id, version: 1, name: t.name, questions: t.questions },
      dialogue,
      language: t.language,
    });
    return Object.fromEntries(answers.map((a) => [a.key, a.value]));
  };

  const rulesTemplates = libraryTemplates.filter((t) => t.provider === "rules");
  it.each(rulesTemplates.map((t) => [t.id, t] as const))("%s judges a sample call", async (_id, t) => {
    const { dialogue, yes } = calls[t.language];
    const expected = Object.fromEntries(
      t.questions.map((q) => [q.key, (yes[t.topic] ?? []).includes(q.key)]),
    );
    expect(await analyze(t, dialogue)).toEqual(expected);
  });

  it.each(libraryLanguages)("[%s] listens only to the speaker a question names", async (language) => {
    const greeting = findLibraryTemplate(`greeting-${language}`)!;
    // The client greets and names themselves; the operator says nothing that counts.
    const clientOnly = calls[language].dialogue.filter((l) => l.speaker === "client");
    const mirrored = calls[language].dialogue.map((l) => ({ ...l, speaker: "client" as const }));
    expect(Object.values(await analyze(greeting, clientOnly)).every((v) => v === false)).toBe(true);
    expect(Object.values(await analyze(greeting, mirrored)).every((v) => v === false)).toBe(true);
  });
});
