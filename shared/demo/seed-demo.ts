import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../logging/logger.ts";
import { sampleDialogues } from "./sample-dialogues.ts";
import { synthesizeDialogue } from "./synthesize-dialogue.ts";

export const DEMO_EMAIL = "demo@tyndau.kz";
/** Embedded development only: production refuses TYNDAU_DEMO, so this password never guards real data. */
export const DEMO_PASSWORD = "tyndau-demo-2026";

/** A template whose keyword rules fit the sample dialogues (and real sales/support calls). */
export const demoTemplate = {
  name: "Call basics (keywords)",
  provider: "rules",
  active: true,
  questions: [
    {
      key: "greeting",
      text: "Did the operator greet the client?",
      type: "boolean",
      keywords: {
        speaker: "operator",
        any: ["hello", "good morning", "good afternoon", "thank you for calling"],
      },
    },
    {
      key: "introduction",
      text: "Did the operator introduce themselves?",
      type: "boolean",
      keywords: { speaker: "operator", any: ["my name is", "this is"] },
    },
    {
      key: "needs",
      text: "Did the client state a need?",
      type: "boolean",
      keywords: { speaker: "client", any: ["i want", "i need", "i would like", "problem"] },
    },
    {
      key: "next_step",
      text: "Was a next step agreed?",
      type: "boolean",
      keywords: { speaker: "operator", any: ["i will send", "tomorrow", "today", "call you back"] },
    },
    {
      key: "politeness",
      text: "Was the operator polite (thanks, please)?",
      type: "boolean",
      keywords: { speaker: "operator", any: ["thank you", "please"] },
    },
  ],
} as const;

const operators = [
  { externalId: "op-101", name: "Anna" },
  { externalId: "op-102", name: "Daniyar" },
  { externalId: "op-101", name: "Anna" },
];

/**
 * First start on embedded defaults: a demo owner, a template and a push source, then three synthesized
 * two-voice calls pushed through the real ingest endpoint, exactly as telephony would.
 */
export async function seedDemo(options: { baseUrl: string; dataDir: string; logger: Logger }): Promise<void> {
  const { baseUrl, logger } = options;
  const api = async (method: string, url: string, token: string | undefined, body?: unknown) => {
    const res = await fetch(`${baseUrl}${url}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${url} → ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  const registered = await api("POST", "/api/v1/auth/register", undefined, {
    email: DEMO_EMAIL,
    password: DEMO_PASSWORD,
    company: "Demo Company LLP",
    currency: "KZT",
  });
  const token = String(registered.token);
  await api("POST", "/api/v1/templates", token, demoTemplate);
  const source = await api("POST", "/api/v1/sources", token, {
    name: "Demo PBX",
    kind: "push",
    operatorChannel: "left",
  });

  const dir = path.join(options.dataDir, "demo");
  await mkdir(dir, { recursive: true });
  for (const [i, script] of sampleDialogues.entries()) {
    const file = path.join(dir, `call-${i + 1}.wav`);
    // Wideband (16 kHz) like HD-voice PBXs: the offline en-us recognizer is a 16 kHz model.
    await synthesizeDialogue(script, file, { sampleRate: 16000, channels: 2 });
    const form = new FormData();
    const metadata = {
      externalId: `demo-${i + 1}`,
      startedAt: new Date(Date.now() - (3 - i) * 3600_000).toISOString(),
      direction: i === 1 ? "outbound" : "inbound",
      operator: operators[i],
      client: { phone: `+7 701 555 00 0${i + 1}` },
    };
    form.set("metadata", JSON.stringify(metadata));
    form.set("recording", new Blob([await readFile(file)], { type: "audio/wav" }), `call-${i + 1}.wav`);
    const res = await fetch(String(source.ingestUrl), { method: "POST", body: form });
    if (!res.ok) throw new Error(`demo ingest → ${res.status} ${await res.text()}`);
    logger.info({ externalId: metadata.externalId }, "demo call pushed");
  }
}
