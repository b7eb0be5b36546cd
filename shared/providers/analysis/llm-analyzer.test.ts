import { describe, expect, it } from "vitest";
import type { TemplateQuestion } from "../../domain/templates.ts";
import { AppError } from "../../errors/app-error.ts";
import type { AnalysisInput, DialogueLine } from "./call-analyzer.ts";
import {
  createLlmAnalyzer,
  httpFailure,
  type LlmCompletion,
  type LlmCompletionRequest,
  parseModelJson,
  retryAfterSeconds,
  toChatMessages,
  transportFailure,
} from "./llm-analyzer.ts";

const questions: TemplateQuestion[] = [
  { key: "greeting", text: "Did the operator greet the client?", type: "boolean" },
  { key: "politeness", text: "How polite was the operator?", type: "score", scale: { min: 1, max: 5 } },
];

const dialogue: DialogueLine[] = [
  { speaker: "operator", startSec: 0.5, endSec: 2, text: "Good morning, my name is Anna." },
  { speaker: "client", startSec: 2.4, endSec: 5, text: "Hello, what does the card cost?" },
];

const input: AnalysisInput = {
  template: { id: "t1", version: 3, name: "Quality", questions },
  dialogue,
  language: "en",
};

const valid = JSON.stringify({
  answers: {
    greeting: { value: true, evidence: [{ segment: 0, quote: "good morning" }] },
    politeness: { value: 4, evidence: [] },
  },
});
const outOfScale = valid.replace('"value":4', '"value":9');

/** A scripted provider: replies in order, recording each request. */
function scripted(...replies: (string | Error)[]) {
  const requests: LlmCompletionRequest[] = [];
  const complete = async (request: LlmCompletionRequest): Promise<LlmCompletion> => {
    requests.push(request);
    const reply = replies[requests.length - 1];
    if (reply === undefined) throw new Error("unexpected extra request");
    if (reply instanceof Error) throw reply;
    return {
      content: reply,
      usage: { inputTokens: 100 * requests.length, outputTokens: 10 * requests.length },
    };
  };
  return { requests, complete };
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe("createLlmAnalyzer", () => {
  it("asks once, validates and maps a good reply, counting its usage", async () => {
    const provider = scripted(valid);
    const analyzer = createLlmAnalyzer({ name: "test", complete: provider.complete });
    const result = await analyzer.analyze(input);
    expect(analyzer.name).toBe("test");
    expect(provider.requests).toHaveLength(1);
    expect(provider.requests[0]).toMatchObject({ schemaName: "call_analysis" });
    expect(provider.requests[0]!.repair).toBeUndefined();
    expect(provider.requests[0]!.user).toContain("[1] client 2.40s: Hello, what does the card cost?");
    expect(result.answers).toEqual([
      {
        key: "greeting",
        question: "Did the operator greet the client?",
        type: "boolean",
        value: true,
        evidence: [{ speaker: "operator", startSec: 0.5, text: "Good morning" }],
      },
      { key: "politeness", question: "How polite was the operator?", type: "score", value: 4, evidence: [] },
    ]);
    expect(result.usage).toEqual({ inputTokens: 100, outputTokens: 10 });
  });

  it("accepts JSON in Markdown fences or after a sentence, and without the answers wrapper", async () => {
    const bare = JSON.stringify(JSON.parse(valid).answers);
    for (const content of [
      `\`\`\`json\n${valid}\n\`\`\``,
      `Here is the analysis:\n${valid}\nHope it helps.`,
      bare,
    ]) {
      const provider = scripted(content);
      const result = await createLlmAnalyzer({ name: "test", complete: provider.complete }).analyze(input);
      expect(provider.requests, content).toHaveLength(1);
      expect(result.answers.map((a) => a.value)).toEqual([true, 4]);
    }
  });

  it("repairs once: sends back the rejected reply and what was wrong, and sums usage", async () => {
    const provider = scripted(outOfScale, valid);
    const result = await createLlmAnalyzer({ name: "test", complete: provider.complete }).analyze(input);
    expect(provider.requests).toHaveLength(2);
    const repair = provider.requests[1]!.repair!;
    expect(repair.rejectedReply).toBe(outOfScale);
    expect(repair.instruction).toMatch(/answers\.politeness\.value: .*5/);
    expect(provider.requests[1]!.system).toBe(provider.requests[0]!.system);
    expect(provider.requests[1]!.user).toBe(provider.requests[0]!.user);
    expect(toChatMessages(provider.requests[1]!).map((m) => m.role)).toEqual([
      "system",
      "user",
      "assistant",
      "user",
    ]);
    expect(result.answers[1]!.value).toBe(4);
    expect(result.usage).toEqual({ inputTokens: 300, outputTokens: 30 });
  });

  it("repairs a reply cut off mid-object, saying it is not valid JSON", async () => {
    const provider = scripted(valid.slice(0, 40), valid);
    await createLlmAnalyzer({ name: "test", complete: provider.complete }).analyze(input);
    expect(provider.requests[1]!.repair!.instruction).toMatch(/not valid JSON/);
  });

  it("fails for good after one unsuccessful repair, never returning half-valid answers", async () => {
    const provider = scripted(outOfScale, "Sorry, I cannot help with that.");
    const err = await failure(
      createLlmAnalyzer({ name: "test", complete: provider.complete }).analyze(input),
    );
    expect(provider.requests).toHaveLength(2);
    expect(err.code).toBe("ANALYSIS_FAILED");
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/after a repair attempt/);
    expect(err.context).toMatchObject({ provider: "test", usage: { inputTokens: 300, outputTokens: 30 } });
  });

  it("lets a provider failure on the repair attempt through, with the first attempt's usage", async () => {
    const unavailable = new AppError("ANALYSIS_FAILED", "down", { retryable: true });
    const provider = scripted(outOfScale, unavailable);
    const err = await failure(
      createLlmAnalyzer({ name: "test", complete: provider.complete }).analyze(input),
    );
    expect(err).toBe(unavailable);
    expect(err.context.usage).toEqual({ inputTokens: 100, outputTokens: 10 });
  });

  it("spells the schema out in the system prompt for providers without a schema mode", async () => {
    const withSchema = scripted(valid);
    await createLlmAnalyzer({ name: "t", complete: withSchema.complete, schemaInPrompt: true }).analyze(
      input,
    );
    const line = withSchema.requests[0]!.system.split("\n").find((l) => l.startsWith("{"));
    expect(JSON.parse(line!)).toEqual(withSchema.requests[0]!.jsonSchema);
    const without = scripted(valid);
    await createLlmAnalyzer({ name: "t", complete: without.complete }).analyze(input);
    expect(without.requests[0]!.system).not.toContain('"additionalProperties"');
  });

  it("passes the caller's signal to the provider", async () => {
    const provider = scripted(valid);
    const controller = new AbortController();
    await createLlmAnalyzer({ name: "t", complete: provider.complete }).analyze({
      ...input,
      signal: controller.signal,
    });
    expect(provider.requests[0]!.signal).toBe(controller.signal);
  });

  it("does not pay a model to say nothing was said: an empty dialogue answers null", async () => {
    const provider = scripted();
    const result = await createLlmAnalyzer({ name: "t", complete: provider.complete }).analyze({
      ...input,
      dialogue: [],
    });
    expect(provider.requests).toHaveLength(0);
    expect(result.answers.map((a) => [a.key, a.value, a.evidence])).toEqual([
      ["greeting", null, []],
      ["politeness", null, []],
    ]);
    expect(result.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
  });
});

describe("parseModelJson", () => {
  it("reads plain, fenced and embedded objects", () => {
    expect(parseModelJson('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseModelJson('```\n{"a":1}\n```')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseModelJson('Answer: {"a":{"b":2}} done')).toEqual({ ok: true, value: { a: { b: 2 } } });
  });

  it("explains what is wrong otherwise", () => {
    expect(parseModelJson("")).toMatchObject({ ok: false, problem: expect.stringMatching(/empty/) });
    expect(parseModelJson("[1,2]")).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/not an object/),
    });
    expect(parseModelJson('{"a":')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/not valid JSON/),
    });
  });
});

describe("error helpers", () => {
  it("reads Retry-After as seconds, an HTTP date, or OpenAI's retry-after-ms", () => {
    const headers = (values: Record<string, string>) => (name: string) => values[name];
    expect(retryAfterSeconds(headers({ "retry-after": "7" }))).toBe(7);
    expect(retryAfterSeconds(headers({ "retry-after-ms": "1500", "retry-after": "2" }))).toBe(1.5);
    const now = Date.parse("2026-03-01T10:00:00Z");
    expect(retryAfterSeconds(headers({ "retry-after": "Sun, 01 Mar 2026 10:00:30 GMT" }), now)).toBe(30);
    expect(retryAfterSeconds(headers({ "retry-after": "soon" }))).toBeUndefined();
    expect(retryAfterSeconds(headers({}))).toBeUndefined();
  });

  it("retries rate limits, server errors and timeouts, not rejections or configuration", () => {
    expect(httpFailure("p", 429, "slow down", { retryAfterSec: 3 })).toMatchObject({
      code: "ANALYSIS_FAILED",
      retryable: true,
      context: { provider: "p", status: 429, retryAfterSec: 3 },
    });
    expect(httpFailure("p", 503, "x", {}).retryable).toBe(true);
    expect(httpFailure("p", 401, "x", {}).retryable).toBe(false);
    expect(httpFailure("p", 400, "x", {}).retryable).toBe(false);
    expect(httpFailure("p", 400, "x", {}).context).not.toHaveProperty("retryAfterSec");
    expect(transportFailure("p", "timeout", new Error("t")).retryable).toBe(true);
    expect(transportFailure("p", "network", new Error("t")).retryable).toBe(true);
    expect(transportFailure("p", "tls", new Error("t")).retryable).toBe(false);
    expect(transportFailure("p", "protocol", new Error("t")).retryable).toBe(false);
  });
});
