import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesizeCall } from "../../scripts/fixtures/synthesize-call.ts";
import { findProviderUsageOfCall } from "../../shared/db/repositories/provider-usage.repository.ts";
import { pushRecording, registerOwner, waitForCall } from "../harness/api-client.ts";
import { type OpenAiEmulator, startOpenAiEmulator } from "../harness/openai-emulator.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

/**
 * A call analysed by a self-hosted OpenAI-compatible model (an emulator speaking the chat completions
 * protocol), after offline PocketSphinx recognition, with personal data masked before it leaves.
 */
let emulator: OpenAiEmulator;
let app: TestApp;
let workDir: string;

beforeAll(async () => {
  emulator = await startOpenAiEmulator({ apiKey: "local-key" });
  app = await startTestApp("pglite", {
    OPENAI_COMPATIBLE_BASE_URL: emulator.baseUrl,
    OPENAI_COMPATIBLE_API_KEY: "local-key",
    OPENAI_COMPATIBLE_MODEL: "local-llm",
    OPENAI_COMPATIBLE_RESPONSE_FORMAT: "json_schema",
  });
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-providers-"));
});
afterAll(async () => {
  await app?.close();
  await emulator?.close();
  await fs.rm(workDir, { recursive: true, force: true });
});

const digitWords = new Set([
  "zero",
  "oh",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
]);
/** The longest run of spoken digit words in a text. */
function longestDigitRun(text: string): number {
  let best = 0;
  let run = 0;
  for (const word of text.toLowerCase().split(/[^a-z]+/)) {
    run = digitWords.has(word) ? run + 1 : word === "" ? run : 0;
    best = Math.max(best, run);
  }
  return best;
}

describe("analysis by an OpenAI-compatible server", () => {
  it("answers every question type with evidence, and the server never sees the client's phone number", async () => {
    const owner = await registerOwner(app.baseUrl);
    const template = await owner.client.post<{ id: string }>("/api/v1/templates", {
      name: "LLM checks",
      provider: "openai-compatible",
      questions: [
        {
          key: "asked_phone",
          text: "Did the operator ask for a phone number?",
          type: "boolean",
          keywords: { speaker: "operator", any: ["phone number"] },
        },
        { key: "politeness", text: "How polite was the operator?", type: "score", scale: { min: 1, max: 5 } },
        {
          key: "outcome",
          text: "What was the outcome?",
          type: "choice",
          options: ["sale", "callback", "no result"],
        },
        { key: "summary", text: "Summarise the call.", type: "text" },
      ],
    });
    expect(template.status).toBe(201);
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    const call = await synthesizeCall(
      {
        turns: [
          { speaker: "operator", text: "Good morning. Can you tell me your phone number, please?" },
          { speaker: "client", text: "Yes. It is eight seven zero one five five five one two three four." },
          { speaker: "operator", text: "Thank you. I will call you back tomorrow." },
        ],
      },
      path.join(workDir, "call.wav"),
      { sampleRate: 16000 },
    );
    const pushed = await pushRecording(source.body.ingestUrl, call.path, { externalId: "llm-1" });
    const done = (await waitForCall(owner.client, String(pushed.body.callId))) as unknown as {
      status: string;
      transcript: { segments: { speaker: string; text: string }[] };
      analysis: {
        provider: string;
        status: string;
        answers: {
          key: string;
          type: string;
          value: unknown;
          evidence: { speaker: string; text: string }[];
        }[];
      }[];
    };
    expect(done.status).toBe("done");
    const [analysis] = done.analysis;
    expect(analysis).toMatchObject({ provider: "openai-compatible", status: "done" });
    const answers = Object.fromEntries(analysis!.answers.map((a) => [a.key, a]));
    expect(answers.asked_phone?.value).toBe(true);
    expect(answers.asked_phone?.evidence[0]?.speaker).toBe("operator");
    const politeness = answers.politeness?.value;
    expect(
      politeness === null ||
        (typeof politeness === "number" &&
          Number.isInteger(politeness) &&
          politeness >= 1 &&
          politeness <= 5),
    ).toBe(true);
    expect([null, "sale", "callback", "no result"]).toContain(answers.outcome?.value);
    expect(answers.summary?.value === null || typeof answers.summary?.value === "string").toBe(true);

    // The client's number was recognised as a long run of digits; the model got it masked.
    const clientText = done.transcript.segments
      .filter((s) => s.speaker === "client")
      .map((s) => s.text)
      .join(" ");
    expect(longestDigitRun(clientText)).toBeGreaterThanOrEqual(7);
    const sent = emulator.chatRequests.map((r) => r.messages.map((m) => m.content).join("\n")).join("\n");
    expect(emulator.chatRequests[0]?.authorization).toBe("Bearer local-key");
    expect(emulator.chatRequests[0]?.body.response_format).toMatchObject({ type: "json_schema" });
    expect(sent).toContain("[PHONE");
    expect(longestDigitRun(sent)).toBeLessThan(7);

    // Our own cost of each provider is recorded per call, apart from the customer's price.
    const usage = await findProviderUsageOfCall(app.database.db, owner.accountId, String(pushed.body.callId));
    const speech = usage.filter((u) => u.kind === "speech");
    expect(speech.map((u) => u.provider)).toEqual(["pocketsphinx", "pocketsphinx"]);
    expect(speech.every((u) => u.outcome === "ok" && u.audioSec > 0)).toBe(true);
    const analysisUsage = usage.filter((u) => u.kind === "analysis");
    expect(analysisUsage).toHaveLength(1);
    expect(analysisUsage[0]).toMatchObject({ provider: "openai-compatible", outcome: "ok" });
    expect(analysisUsage[0]!.inputTokens).toBeGreaterThan(0);
  });

  it("refuses a template naming a provider this server is not configured for", async () => {
    const owner = await registerOwner(app.baseUrl);
    const settings = await owner.client.patch("/api/v1/account", {
      speechLanguage: "ru",
      speechProviders: ["pocketsphinx"],
      analysisProviders: ["openai-compatible", "rules"],
    });
    expect(settings.body).toMatchObject({ speechLanguage: "ru", speechProviders: ["pocketsphinx"] });
    expect((await owner.client.patch("/api/v1/account", { speechProviders: ["yandex"] })).status).toBe(400);
    const res = await owner.client.post<{ error: { code: string; message: string } }>("/api/v1/templates", {
      name: "GigaChat checks",
      provider: "gigachat",
      questions: [{ key: "summary", text: "Summarise.", type: "text" }],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain("gigachat");
  });
});
