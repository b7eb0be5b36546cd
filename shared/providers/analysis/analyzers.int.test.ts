import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startGigaChatEmulator } from "../../../test/harness/gigachat-emulator.ts";
import {
  type ChatEmulatorRequest,
  type ChatReply,
  fakeModelReply,
  startOpenAiEmulator,
  tokenUsage,
} from "../../../test/harness/openai-emulator.ts";
import { startYandexFoundationModelsEmulator } from "../../../test/harness/yandex-foundation-models-emulator.ts";
import type { AnalysisAnswer } from "../../domain/calls.ts";
import type { TemplateQuestion } from "../../domain/templates.ts";
import { AppError } from "../../errors/app-error.ts";
import { buildAnswerJsonSchema } from "./answer-schema.ts";
import type { AnalysisInput, CallAnalyzer, DialogueLine } from "./call-analyzer.ts";
import { createGigaChatAnalyzer, type GigaChatAnalyzerOptions } from "./gigachat-analyzer.ts";
import { createOpenAiAnalyzer, type OpenAiAnalyzerOptions } from "./openai-analyzer.ts";
import { createYandexGptAnalyzer, type YandexGptAnalyzerOptions } from "./yandexgpt-analyzer.ts";

const OPENAI_KEY = "sk-test-analysis";
const GIGACHAT_KEY = Buffer.from("client-id:client-secret").toString("base64");
const YANDEX_KEY = "AQVN-test-key";
const FOLDER = "b1gtestfolder";
const SHORT_TIMEOUT_MS = 250;

const DIALOGUE: DialogueLine[] = [
  {
    speaker: "operator",
    startSec: 0.5,
    endSec: 2.9,
    text: "Good morning, Tyndau Bank, my name is Anna. How can I help?",
  },
  { speaker: "client", startSec: 3.1, endSec: 5.8, text: "Hello. What is the price of the premium card?" },
  { speaker: "operator", startSec: 6, endSec: 9.7, text: "The premium card price is 5000 tenge per year." },
  { speaker: "client", startSec: 10.2, endSec: 12.4, text: "Thank you, I will call back tomorrow." },
];

const QUESTIONS: TemplateQuestion[] = [
  { key: "greeting", text: "Did the operator say good morning?", type: "boolean" },
  { key: "price", text: "Was the price discussed?", type: "boolean" },
  { key: "refund", text: "Did the client request a refund?", type: "boolean" },
  {
    key: "gratitude",
    text: "How often did the speakers say thank you?",
    type: "score",
    scale: { min: 1, max: 5 },
  },
  { key: "outcome", text: "How did it end?", type: "choice", options: ["sale", "call back", "refusal"] },
  { key: "product", text: "Which card interested the client?", type: "text" },
];

const INPUT: AnalysisInput = {
  template: {
    id: "0b9e4a8e-2f7c-4f43-9d55-3f0d1a6f3c11",
    version: 2,
    name: "Sales call",
    questions: QUESTIONS,
  },
  dialogue: DIALOGUE,
  language: "en",
};

/**
 * What the emulators' fake model concludes from this dialogue (see `fakeModelReply`), after our mapping:
 * evidence spans taken from the dialogue's own text, speaker and start time of the cited line.
 */
const EXPECTED: AnalysisAnswer[] = [
  {
    key: "greeting",
    question: "Did the operator say good morning?",
    type: "boolean",
    value: true,
    evidence: [{ speaker: "operator", startSec: 0.5, text: "Good morning, Tyndau Bank" }],
  },
  {
    key: "price",
    question: "Was the price discussed?",
    type: "boolean",
    value: true,
    evidence: [
      { speaker: "client", startSec: 3.1, text: "price of the premium" },
      { speaker: "operator", startSec: 6, text: "price is 5000 tenge" },
    ],
  },
  {
    key: "refund",
    question: "Did the client request a refund?",
    type: "boolean",
    value: false,
    evidence: [],
  },
  {
    key: "gratitude",
    question: "How often did the speakers say thank you?",
    type: "score",
    value: 2,
    evidence: [{ speaker: "client", startSec: 10.2, text: "Thank you, I will" }],
  },
  {
    key: "outcome",
    question: "How did it end?",
    type: "choice",
    value: "call back",
    evidence: [{ speaker: "client", startSec: 10.2, text: "call back" }],
  },
  {
    key: "product",
    question: "Which card interested the client?",
    type: "text",
    value: `${DIALOGUE[1]!.text} ${DIALOGUE[2]!.text}`,
    evidence: [
      { speaker: "client", startSec: 3.1, text: "card" },
      { speaker: "operator", startSec: 6, text: "card price is 5000" },
    ],
  },
];

type Respond = (request: ChatEmulatorRequest) => ChatReply;

interface Harness {
  analyzer: CallAnalyzer;
  /** Chat requests the emulator received, in order. */
  chat: ChatEmulatorRequest[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function openAi(respond?: Respond, options: Partial<OpenAiAnalyzerOptions> = {}): Promise<Harness> {
  const emulator = await startOpenAiEmulator({
    apiKey: OPENAI_KEY,
    ...(respond ? { respondChat: respond } : {}),
  });
  cleanups.push(emulator.close);
  const analyzer = createOpenAiAnalyzer({ apiKey: OPENAI_KEY, baseUrl: emulator.baseUrl, ...options });
  return { analyzer, chat: emulator.chatRequests };
}

async function gigaChat(respond?: Respond, options: Partial<GigaChatAnalyzerOptions> = {}) {
  const emulator = await startGigaChatEmulator({ authKey: GIGACHAT_KEY, ...(respond ? { respond } : {}) });
  cleanups.push(emulator.close);
  const analyzer = createGigaChatAnalyzer({
    authKey: GIGACHAT_KEY,
    authUrl: emulator.authUrl,
    apiUrl: emulator.apiUrl,
    ...options,
  });
  return { analyzer, chat: emulator.chatRequests, emulator };
}

async function yandexGpt(
  respond?: Respond,
  options: Partial<YandexGptAnalyzerOptions> = {},
): Promise<Harness> {
  const emulator = await startYandexFoundationModelsEmulator({
    apiKey: YANDEX_KEY,
    folderId: FOLDER,
    ...(respond ? { respond } : {}),
  });
  cleanups.push(emulator.close);
  const analyzer = createYandexGptAnalyzer({
    apiKey: YANDEX_KEY,
    folderId: FOLDER,
    baseUrl: emulator.baseUrl,
    ...options,
  });
  return { analyzer, chat: emulator.requests };
}

const PROVIDERS: Record<string, (respond?: Respond, options?: { timeoutMs?: number }) => Promise<Harness>> = {
  openai: openAi,
  gigachat: gigaChat,
  yandexgpt: yandexGpt,
};

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

/** The usage the emulator reported for a request answered with the fake model's (possibly cut) reply. */
function usageOf(request: ChatEmulatorRequest, cut = false): { inputTokens: number; outputTokens: number } {
  const reply = fakeModelReply(request.messages, request.jsonSchema);
  const usage = tokenUsage(request.messages, cut ? reply.slice(0, Math.floor(reply.length / 2)) : reply);
  return { inputTokens: usage.input, outputTokens: usage.output };
}

const INVALID = JSON.stringify({ answers: { greeting: { value: "maybe", evidence: [] } } });

describe.each(Object.keys(PROVIDERS))("the %s analyzer against its emulator", (provider) => {
  const start = PROVIDERS[provider]!;

  it("answers the template from the dialogue, with evidence linked to segments and usage counted", async () => {
    const { analyzer, chat } = await start();
    const result = await analyzer.analyze(INPUT);
    expect(analyzer.name).toBe(provider);
    expect(result.answers).toEqual(EXPECTED);
    expect(chat).toHaveLength(1);
    expect(result.usage).toEqual(usageOf(chat[0]!));
    expect(result.usage.inputTokens).toBeGreaterThan(100);
    expect(chat[0]!.messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(chat[0]!.messages[1]!.content).toContain(
      "[3] client 10.20s: Thank you, I will call back tomorrow.",
    );
    expect(chat[0]!.jsonSchema).toEqual(buildAnswerJsonSchema(QUESTIONS));
  });

  it("turns 429 into a retryable failure carrying Retry-After, without retrying itself", async () => {
    const { analyzer, chat } = await start(() => ({
      kind: "error",
      status: 429,
      message: "Rate limit reached",
      headers: { "retry-after": "7" },
    }));
    const err = await failure(analyzer.analyze(INPUT));
    expect(err).toMatchObject({ code: "ANALYSIS_FAILED", retryable: true });
    expect(err.context).toMatchObject({ provider, status: 429, retryAfterSec: 7 });
    expect(chat).toHaveLength(1);
  });

  it("turns 500 into a retryable failure", async () => {
    const { analyzer, chat } = await start(() => ({ kind: "error", status: 500 }));
    const err = await failure(analyzer.analyze(INPUT));
    expect(err).toMatchObject({ code: "ANALYSIS_FAILED", retryable: true, context: { status: 500 } });
    expect(chat).toHaveLength(1);
  });

  it("turns 400 into a permanent failure", async () => {
    const { analyzer } = await start(() => ({ kind: "error", status: 400, message: "bad request" }));
    const err = await failure(analyzer.analyze(INPUT));
    expect(err).toMatchObject({ code: "ANALYSIS_FAILED", retryable: false, context: { status: 400 } });
  });

  it("gives up on a server that never answers after its timeout, retryably", async () => {
    const { analyzer } = await start(() => ({ kind: "hang" }), { timeoutMs: SHORT_TIMEOUT_MS });
    const started = performance.now();
    const err = await failure(analyzer.analyze(INPUT));
    expect(performance.now() - started).toBeLessThan(SHORT_TIMEOUT_MS + 2000);
    expect(err).toMatchObject({ code: "ANALYSIS_FAILED", retryable: true, context: { failure: "timeout" } });
  });

  it("stops when the caller cancels", async () => {
    const { analyzer } = await start(() => ({ kind: "hang" }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await failure(analyzer.analyze({ ...INPUT, signal: controller.signal }));
    expect(err).toMatchObject({ code: "ANALYSIS_FAILED", context: { failure: "cancelled" } });
  });

  it("repairs a reply cut off mid-JSON with one more request, then succeeds", async () => {
    const { analyzer, chat } = await start((request) =>
      request.index === 0 ? { kind: "truncated" } : { kind: "answer" },
    );
    const result = await analyzer.analyze(INPUT);
    expect(result.answers).toEqual(EXPECTED);
    expect(chat).toHaveLength(2);
    const repair = chat[1]!.messages;
    expect(repair.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(repair[0]).toEqual(chat[0]!.messages[0]);
    expect(repair[1]).toEqual(chat[0]!.messages[1]);
    const cut = fakeModelReply(chat[0]!.messages, chat[0]!.jsonSchema);
    expect(repair[2]!.content).toBe(cut.slice(0, Math.floor(cut.length / 2)));
    expect(repair[3]!.content).toMatch(/not valid JSON/);
    const first = usageOf(chat[0]!, true);
    const second = usageOf(chat[1]!);
    expect(result.usage).toEqual({
      inputTokens: first.inputTokens + second.inputTokens,
      outputTokens: first.outputTokens + second.outputTokens,
    });
  });

  it("fails permanently when the repaired reply is invalid too, after exactly one repair", async () => {
    const { analyzer, chat } = await start(() => ({ kind: "content", content: INVALID }));
    const err = await failure(analyzer.analyze(INPUT));
    expect(err).toMatchObject({ code: "ANALYSIS_FAILED", retryable: false });
    expect(err.message).toMatch(/repair/);
    expect(chat).toHaveLength(2);
    expect(chat[1]!.messages[3]!.content).toMatch(/answers\.greeting\.value/);
    expect(chat[1]!.messages[3]!.content).toMatch(/answers\.price/);
  });

  it("fails permanently on a 200 whose body is not the provider's protocol (cut JSON, wrong shape)", async () => {
    for (const body of ['{"id":"chatcmpl-1","choi', '{"unexpected":true}']) {
      const { analyzer, chat } = await start(() => ({ kind: "raw", status: 200, body }));
      const err = await failure(analyzer.analyze(INPUT));
      expect(err, body).toMatchObject({
        code: "ANALYSIS_FAILED",
        retryable: false,
        context: { failure: "protocol" },
      });
      expect(chat, body).toHaveLength(1);
    }
  });

  it("gives the same answers as the other providers for the same call and template", async () => {
    const results = await Promise.all(
      Object.values(PROVIDERS).map(async (startOther) => (await startOther()).analyzer.analyze(INPUT)),
    );
    for (const result of results) expect(result.answers).toEqual(EXPECTED);
  });
});

describe("the OpenAI analyzer's protocol", () => {
  it("sends a strict json_schema response_format built from the template, with the chosen model", async () => {
    const { analyzer, chat } = await openAi(undefined, { model: "gpt-4o-2024-08-06" });
    await analyzer.analyze(INPUT);
    const body = chat[0]!.body;
    expect(chat[0]!.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(body).toMatchObject({
      model: "gpt-4o-2024-08-06",
      temperature: 0,
      response_format: {
        type: "json_schema",
        json_schema: { name: "call_analysis", strict: true, schema: buildAnswerJsonSchema(QUESTIONS) },
      },
    });
    // The schema rides in response_format; the prompt does not repeat it.
    expect(chat[0]!.messages[0]!.content).not.toContain('"additionalProperties"');
  });

  it("uses json_object with the schema in the prompt for servers without json_schema", async () => {
    const { analyzer, chat } = await openAi(undefined, { responseFormat: "json_object", model: "local-llm" });
    const result = await analyzer.analyze(INPUT);
    expect(result.answers).toEqual(EXPECTED);
    expect(chat[0]!.body.response_format).toEqual({ type: "json_object" });
    expect(chat[0]!.messages[0]!.content).toContain(JSON.stringify(buildAnswerJsonSchema(QUESTIONS)));
  });

  it("sends no response_format at all in 'none' mode", async () => {
    const { analyzer, chat } = await openAi(undefined, { responseFormat: "none", temperature: null });
    expect((await analyzer.analyze(INPUT)).answers).toEqual(EXPECTED);
    expect(chat[0]!.body).not.toHaveProperty("response_format");
    expect(chat[0]!.body).not.toHaveProperty("temperature");
  });

  it("rejects a wrong key permanently", async () => {
    const emulator = await startOpenAiEmulator({ apiKey: OPENAI_KEY });
    cleanups.push(emulator.close);
    const analyzer = createOpenAiAnalyzer({ apiKey: "sk-wrong", baseUrl: emulator.baseUrl });
    const err = await failure(analyzer.analyze(INPUT));
    expect(err).toMatchObject({ retryable: false, context: { status: 401 } });
  });

  it("treats a model's refusal as a permanent failure", async () => {
    const { analyzer } = await openAi(() => ({
      kind: "raw",
      status: 200,
      body: JSON.stringify({
        id: "x",
        object: "chat.completion",
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: null, refusal: "I can't help." },
            finish_reason: "stop",
          },
        ],
      }),
    }));
    const err = await failure(analyzer.analyze(INPUT));
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toMatch(/refused/);
  });
});

describe("the GigaChat analyzer's protocol", () => {
  it("gets a token with Basic auth, RqUID and scope, then chats with it and the schema in the prompt", async () => {
    const { analyzer, chat, emulator } = await gigaChat(undefined, { scope: "GIGACHAT_API_PERS" });
    await analyzer.analyze(INPUT);
    expect(emulator.oauthRequests).toHaveLength(1);
    expect(emulator.oauthRequests[0]).toMatchObject({
      authorization: `Basic ${GIGACHAT_KEY}`,
      scope: "GIGACHAT_API_PERS",
      rqUid: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(chat[0]!.authorization).toMatch(/^Bearer .+/);
    expect(chat[0]!.body).toMatchObject({ model: "GigaChat", stream: false });
    expect(chat[0]!.messages[0]!.content).toContain(JSON.stringify(buildAnswerJsonSchema(QUESTIONS)));
  });

  it("reuses the cached token across calls", async () => {
    const { analyzer, chat, emulator } = await gigaChat();
    await analyzer.analyze(INPUT);
    await analyzer.analyze(INPUT);
    await Promise.all([analyzer.analyze(INPUT), analyzer.analyze(INPUT)]);
    expect(emulator.oauthRequests).toHaveLength(1);
    expect(chat).toHaveLength(4);
    expect(new Set(chat.map((r) => r.authorization)).size).toBe(1);
  });

  it("shares one token request between concurrent first calls", async () => {
    const { analyzer, emulator } = await gigaChat();
    await Promise.all([analyzer.analyze(INPUT), analyzer.analyze(INPUT), analyzer.analyze(INPUT)]);
    expect(emulator.oauthRequests).toHaveLength(1);
  });

  it("renews the token shortly before it expires, without waiting for a 401", async () => {
    let now = Date.now();
    const { analyzer, chat, emulator } = await gigaChat(undefined, { now: () => now, renewBeforeMs: 60_000 });
    await analyzer.analyze(INPUT);
    now += 29.5 * 60_000; // the emulator's tokens live 30 minutes: half a minute left
    await analyzer.analyze(INPUT);
    expect(emulator.oauthRequests).toHaveLength(2);
    expect(emulator.rejectedTokens).toBe(0);
    expect(chat[0]!.authorization).not.toBe(chat[1]!.authorization);
  });

  it("re-authenticates once when the API rejects the token, then succeeds", async () => {
    const { analyzer, chat, emulator } = await gigaChat();
    await analyzer.analyze(INPUT);
    emulator.revokeTokens();
    const result = await analyzer.analyze(INPUT);
    expect(result.answers).toEqual(EXPECTED);
    expect(emulator.oauthRequests).toHaveLength(2);
    expect(emulator.rejectedTokens).toBe(1);
    expect(chat).toHaveLength(3);
    expect(chat[2]!.authorization).not.toBe(chat[1]!.authorization);
  });

  it("re-authenticates only once: a second 401 is a permanent failure", async () => {
    const { analyzer, chat, emulator } = await gigaChat(() => ({
      kind: "error",
      status: 401,
      message: "Unauthorized",
    }));
    const err = await failure(analyzer.analyze(INPUT));
    expect(err).toMatchObject({ retryable: false, context: { status: 401 } });
    expect(emulator.oauthRequests).toHaveLength(2);
    expect(chat).toHaveLength(2);
  });

  it("fails permanently when the authorization key is refused, without calling the chat", async () => {
    const { emulator } = await gigaChat();
    const analyzer = createGigaChatAnalyzer({
      authKey: "d3Jvbmc6a2V5",
      authUrl: emulator.authUrl,
      apiUrl: emulator.apiUrl,
    });
    const err = await failure(analyzer.analyze(INPUT));
    expect(err).toMatchObject({ retryable: false, context: { status: 401 } });
    expect(err.message).toMatch(/token request was refused: credentials doesn't match/);
    expect(emulator.chatRequests).toHaveLength(0);
  });

  it("fails permanently on a scope the key is not issued for", async () => {
    const { analyzer } = await gigaChat(undefined, { scope: "GIGACHAT_API_CORP" });
    const err = await failure(analyzer.analyze(INPUT));
    expect(err).toMatchObject({ retryable: false, context: { status: 400 } });
  });

  const hasOpenSsl = (() => {
    try {
      execFileSync("openssl", ["version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasOpenSsl)("trusts a server certificate only through the configured CA bundle", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tyndau-gigachat-tls-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const keyPath = join(dir, "key.pem");
    const certPath = join(dir, "cert.pem");
    // A self-signed certificate stands in for one issued under the Russian Trusted Root CA.
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        keyPath,
        "-out",
        certPath,
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    const tls = { key: await readFile(keyPath, "utf8"), cert: await readFile(certPath, "utf8") };
    const emulator = await startGigaChatEmulator({ authKey: GIGACHAT_KEY, tls });
    cleanups.push(emulator.close);
    expect(emulator.authUrl).toMatch(/^https:/);
    const base = { authKey: GIGACHAT_KEY, authUrl: emulator.authUrl, apiUrl: emulator.apiUrl };

    const untrusted = await failure(createGigaChatAnalyzer(base).analyze(INPUT));
    expect(untrusted).toMatchObject({ retryable: false, context: { failure: "tls" } });
    expect(untrusted.message).toMatch(/CA bundle/);

    const trusted = createGigaChatAnalyzer({ ...base, caCertPath: certPath });
    expect((await trusted.analyze(INPUT)).answers).toEqual(EXPECTED);
  });
});

describe("the YandexGPT analyzer's protocol", () => {
  it("sends the documented completion body and headers, with the schema as jsonSchema", async () => {
    const { analyzer, chat } = await yandexGpt();
    await analyzer.analyze(INPUT);
    const request = chat[0]!;
    expect(request.authorization).toBe(`Api-Key ${YANDEX_KEY}`);
    expect(request.headers["x-folder-id"]).toBe(FOLDER);
    expect(request.headers["x-data-logging-enabled"]).toBe("false");
    expect(request.body).toMatchObject({
      modelUri: `gpt://${FOLDER}/yandexgpt-lite/latest`,
      completionOptions: { stream: false, temperature: 0, maxTokens: "2000" },
      jsonSchema: { schema: buildAnswerJsonSchema(QUESTIONS) },
    });
    expect(request.body).not.toHaveProperty("jsonObject");
    expect((request.body.messages as { role: string; text: string }[]).map((m) => m.role)).toEqual([
      "system",
      "user",
    ]);
  });

  it("asks for jsonObject with the schema in the prompt, or for neither, when configured", async () => {
    const objectMode = await yandexGpt(undefined, {
      responseFormat: "json_object",
      modelUri: `gpt://${FOLDER}/yandexgpt/rc`,
    });
    expect((await objectMode.analyzer.analyze(INPUT)).answers).toEqual(EXPECTED);
    expect(objectMode.chat[0]!.body).toMatchObject({
      jsonObject: true,
      modelUri: `gpt://${FOLDER}/yandexgpt/rc`,
    });
    expect(objectMode.chat[0]!.body).not.toHaveProperty("jsonSchema");
    expect(objectMode.chat[0]!.messages[0]!.content).toContain(
      JSON.stringify(buildAnswerJsonSchema(QUESTIONS)),
    );

    const promptOnly = await yandexGpt(undefined, { responseFormat: "none" });
    expect((await promptOnly.analyzer.analyze(INPUT)).answers).toEqual(EXPECTED);
    expect(promptOnly.chat[0]!.body).not.toHaveProperty("jsonObject");
    expect(promptOnly.chat[0]!.body).not.toHaveProperty("jsonSchema");
  });

  it("authenticates with an IAM token from a function", async () => {
    const emulator = await startYandexFoundationModelsEmulator({ iamToken: "t1.iam", folderId: FOLDER });
    cleanups.push(emulator.close);
    const analyzer = createYandexGptAnalyzer({
      iamToken: async () => "t1.iam",
      folderId: FOLDER,
      baseUrl: emulator.baseUrl,
    });
    expect((await analyzer.analyze(INPUT)).answers).toEqual(EXPECTED);
    expect(emulator.requests[0]!.authorization).toBe("Bearer t1.iam");
  });

  it("rejects a model from another folder permanently", async () => {
    const { analyzer } = await yandexGpt(undefined, { modelUri: "gpt://b1gother/yandexgpt-lite/latest" });
    const err = await failure(analyzer.analyze(INPUT));
    expect(err).toMatchObject({ retryable: false, context: { status: 400 } });
    expect(err.message).toMatch(/not available in folder/);
  });

  it("treats the content filter's stop as a permanent failure", async () => {
    const { analyzer } = await yandexGpt(() => ({
      kind: "raw",
      status: 200,
      body: JSON.stringify({
        result: {
          alternatives: [
            { message: { role: "assistant", text: "" }, status: "ALTERNATIVE_STATUS_CONTENT_FILTER" },
          ],
          usage: { inputTextTokens: "10", completionTokens: "0", totalTokens: "10" },
          modelVersion: "23.10.2024",
        },
      }),
    }));
    const err = await failure(analyzer.analyze(INPUT));
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toMatch(/content filter/);
  });
});
