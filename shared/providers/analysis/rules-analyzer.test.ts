import { describe, expect, it } from "vitest";
import type { TemplateQuestion } from "../../domain/templates.ts";
import { createRulesAnalyzer } from "./rules-analyzer.ts";

const dialogue = [
  {
    speaker: "operator" as const,
    startSec: 0.5,
    endSec: 3,
    text: "Hello, thank you for calling. My name is Anna.",
  },
  { speaker: "client" as const, startSec: 3.5, endSec: 6, text: "Hi, I want to buy the premium plan" },
  {
    speaker: "operator" as const,
    startSec: 6.5,
    endSec: 9,
    text: "Great, I will SEND you the invoice today.",
  },
  { speaker: "client" as const, startSec: 9.5, endSec: 11, text: "Здравствуйте, спасибо!" },
];

const questions: TemplateQuestion[] = [
  {
    key: "greeting",
    text: "Did the operator greet?",
    type: "boolean",
    keywords: { speaker: "operator", any: ["hello", "good morning"] },
  },
  {
    key: "name",
    text: "Did the operator introduce themselves?",
    type: "boolean",
    keywords: { speaker: "operator", any: ["my name is"] },
  },
  {
    key: "client_hello",
    text: "Did the client say hello?",
    type: "boolean",
    keywords: { speaker: "client", any: ["hello"] },
  },
  {
    key: "invoice",
    text: "Was an invoice promised?",
    type: "boolean",
    keywords: { any: ["send you the invoice"] },
  },
  { key: "partial", text: "Partial word must not match", type: "boolean", keywords: { any: ["pre"] } },
  { key: "ru", text: "Русское спасибо", type: "boolean", keywords: { speaker: "client", any: ["СПАСИБО"] } },
  { key: "score", text: "Politeness 1-5", type: "score", scale: { min: 1, max: 5 } },
];

describe("rules analyzer", () => {
  it("answers boolean questions per speaker with evidence", async () => {
    const result = await createRulesAnalyzer().analyze({
      template: { id: "t", version: 1, name: "T", questions },
      dialogue,
      language: "en",
    });
    const byKey = Object.fromEntries(result.answers.map((a) => [a.key, a]));
    expect(byKey.greeting?.value).toBe(true);
    expect(byKey.greeting?.evidence).toEqual([
      { speaker: "operator", startSec: 0.5, text: dialogue[0]!.text },
    ]);
    expect(byKey.name?.value).toBe(true);
    expect(byKey.client_hello?.value).toBe(false);
    expect(byKey.client_hello?.evidence).toEqual([]);
    expect(byKey.invoice?.value).toBe(true);
    expect(byKey.invoice?.evidence[0]?.startSec).toBe(6.5);
    expect(byKey.partial?.value).toBe(false);
    expect(byKey.ru?.value).toBe(true);
    expect(byKey.score?.value).toBeNull();
  });
});
