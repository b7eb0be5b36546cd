import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CallScript,
  type SynthesizedCall,
  synthesizeCall,
  synthesizeMono,
} from "../../scripts/fixtures/synthesize-call.ts";
import { apiClient, pushRecording, registerOwner, waitForCall } from "../harness/api-client.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";
import { databaseKinds } from "../harness/test-database.ts";

/** A scripted call with plain words PocketSphinx's en-us model knows; timings come from the synthesis. */
const script: CallScript = {
  turns: [
    {
      speaker: "operator",
      text: "Good morning. Can you tell me your company name and your phone number, please?",
    },
    {
      speaker: "client",
      text: "The company is Green Garden, and the phone number is five five five, one two three.",
    },
    { speaker: "operator", text: "Thank you. I will send you the new price list today by email." },
    { speaker: "client", text: "That is great. Thank you very much for your help." },
    { speaker: "operator", text: "You are welcome. Have a nice day, goodbye." },
  ],
};
const operatorWords = [
  "company",
  "name",
  "phone",
  "number",
  "please",
  "send",
  "price",
  "list",
  "today",
  "email",
  "welcome",
  "nice",
  "day",
  "goodbye",
];
const clientWords = [
  "company",
  "green",
  "garden",
  "phone",
  "number",
  "five",
  "one",
  "two",
  "three",
  "great",
  "thank",
  "very",
  "much",
  "help",
];

const template = {
  name: "Scripted checks",
  provider: "rules",
  questions: [
    {
      key: "asked_phone",
      text: "Did the operator ask for the phone number?",
      type: "boolean",
      keywords: { speaker: "operator", any: ["phone number"] },
    },
    {
      key: "client_thanked",
      text: "Did the client thank the operator?",
      type: "boolean",
      keywords: { speaker: "client", any: ["thank you very much"] },
    },
    {
      key: "refund",
      text: "Was a refund mentioned?",
      type: "boolean",
      keywords: { speaker: "any", any: ["refund", "money back"] },
    },
    {
      key: "client_said_email",
      text: "Did the client say 'email'?",
      type: "boolean",
      keywords: { speaker: "client", any: ["email"] },
    },
  ],
};

let workDir: string;
let stereo: SynthesizedCall;
let mono: SynthesizedCall;

beforeAll(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-e2e-calls-"));
  // 16 kHz (wideband telephony): the en-us PocketSphinx model is a 16 kHz model and hears 8 kHz audio poorly.
  stereo = await synthesizeCall(script, path.join(workDir, "stereo.wav"), { sampleRate: 16000 });
  mono = await synthesizeMono({ turns: script.turns.slice(0, 2) }, path.join(workDir, "mono.wav"), {
    sampleRate: 16000,
  });
});
afterAll(async () => {
  await fs.rm(workDir, { recursive: true, force: true });
});

interface CallBody {
  id: string;
  status: string;
  durationSec: number;
  cost: unknown;
  transcript: { segments: { speaker: string; startSec: number; endSec: number; text: string }[] };
  metrics: Record<string, number> & { interruptions: { operator: number; client: number } };
  analysis: {
    status: string;
    templateName: string;
    answers: { key: string; value: unknown; evidence: { speaker: string }[] }[];
  }[];
}

const wordsOf = (text: string) => new Set(text.toLowerCase().match(/[a-z']+/g) ?? []);
const share = (expected: string[], heard: Set<string>) =>
  expected.filter((w) => heard.has(w)).length / expected.length;

describe.each(databaseKinds)("walking skeleton on %s", (kind) => {
  let app: TestApp;
  let owner: Awaited<ReturnType<typeof registerOwner>>;
  let ingestUrl: string;

  beforeAll(async () => {
    app = await startTestApp(kind);
    owner = await registerOwner(app.baseUrl);
    const created = await owner.client.post("/api/v1/templates", template);
    expect(created.status).toBe(201);
    expect(created.body.pricePerMinute).toBe("9.00");
    const source = await owner.client.post<{ ingestUrl: string; token: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    expect(source.status).toBe(201);
    ingestUrl = source.body.ingestUrl;
  });
  afterAll(async () => {
    await app?.close();
  });

  it("turns a two-voice recording into a report: dialogue, measurements, answers", async () => {
    const pushed = await pushRecording(ingestUrl, stereo.path, {
      externalId: `call-${kind}-1`,
      startedAt: "2026-11-20T10:15:00+05:00",
      direction: "inbound",
      operator: { externalId: "op-7", name: "Anna" },
      client: { phone: "+77015550123" },
    });
    expect(pushed.status).toBe(202);
    expect(pushed.body).toMatchObject({ status: "received", duplicate: false });

    const call = (await waitForCall(owner.client, String(pushed.body.callId))) as unknown as CallBody;
    expect(call.status).toBe("done");
    expect(call).toMatchObject({
      channels: 2,
      mono: false,
      direction: "inbound",
      operator: { name: "Anna", externalId: "op-7" },
    });
    expect(call.durationSec).toBeCloseTo(stereo.durationSec, 0);

    // Speakers in time order, and each line lies in a scripted turn of the same speaker.
    const segments = call.transcript.segments;
    expect(segments.length).toBeGreaterThanOrEqual(script.turns.length);
    for (let i = 1; i < segments.length; i++)
      expect(segments[i]!.startSec).toBeGreaterThanOrEqual(segments[i - 1]!.startSec);
    expect(segments[0]!.speaker).toBe("operator");
    for (const seg of segments) {
      const mid = (seg.startSec + seg.endSec) / 2;
      const turn = stereo.turns.find((t) => mid >= t.startSec - 0.5 && mid <= t.endSec + 0.5);
      expect(turn?.speaker, `"${seg.text}" at ${seg.startSec}`).toBe(seg.speaker);
    }
    const heardOperator = wordsOf(
      segments
        .filter((s) => s.speaker === "operator")
        .map((s) => s.text)
        .join(" "),
    );
    const heardClient = wordsOf(
      segments
        .filter((s) => s.speaker === "client")
        .map((s) => s.text)
        .join(" "),
    );
    expect(share(operatorWords, heardOperator)).toBeGreaterThanOrEqual(0.6);
    expect(share(clientWords, heardClient)).toBeGreaterThanOrEqual(0.6);
    // Words only the other side said are not put in this side's mouth.
    expect(share(["garden", "green", "great", "help"], heardOperator)).toBeLessThanOrEqual(0.25);
    expect(share(["price", "list", "email", "goodbye"], heardClient)).toBeLessThanOrEqual(0.25);

    const metrics = call.metrics;
    expect(metrics.operatorTalkSec).toBeGreaterThan(stereo.operatorTalkSec * 0.7);
    expect(metrics.operatorTalkSec).toBeLessThan(stereo.operatorTalkSec * 1.3);
    expect(metrics.clientTalkSec).toBeGreaterThan(stereo.clientTalkSec * 0.7);
    expect(metrics.clientTalkSec).toBeLessThan(stereo.clientTalkSec * 1.3);
    expect(metrics.talkRatio).toBeCloseTo(
      stereo.operatorTalkSec / (stereo.operatorTalkSec + stereo.clientTalkSec),
      1,
    );
    expect(metrics.overlapSec).toBeLessThan(0.3);
    expect(metrics.interruptions).toEqual({ operator: 0, client: 0 });

    const analysis = call.analysis;
    expect(analysis).toHaveLength(1);
    expect(analysis[0]).toMatchObject({ status: "done", templateName: "Scripted checks" });
    const answers = Object.fromEntries(analysis[0]!.answers.map((a) => [a.key, a]));
    expect(answers.asked_phone?.value).toBe(true);
    expect(answers.asked_phone?.evidence[0]?.speaker).toBe("operator");
    expect(answers.client_thanked?.value).toBe(true);
    expect(answers.refund?.value).toBe(false);
    expect(answers.client_said_email?.value).toBe(false);

    // Charged once: ceil(duration) minutes × (3.00 transcription + 5.00 template + 4 × 1.00 questions).
    expect(call.cost).toEqual({
      minutes: 1,
      pricePerMinute: "12.00",
      amount: "12.00",
      currency: "KZT",
      status: "charged",
    });
    const ledger = await owner.client.get<{ items: { type: string; amount: string; callId?: string }[] }>(
      "/api/v1/billing/ledger",
    );
    expect(ledger.body.items.filter((i) => i.callId === call.id).map((i) => [i.type, i.amount])).toEqual([
      ["charge", "-12.00"],
      ["hold", "0.00"],
    ]);

    // The recording is served through a short-lived signed link.
    const audio = await owner.client.get(`/api/v1/calls/${call.id}/audio`);
    expect(audio.status).toBe(302);
    const location = audio.headers.get("location")!;
    const expires = Number(
      new URL(location).searchParams.get("expires") ?? new URL(location).searchParams.get("X-Amz-Expires"),
    );
    expect(expires).toBeGreaterThan(0);
    const bytes = Buffer.from(await (await fetch(location)).arrayBuffer());
    expect(bytes.equals(await fs.readFile(stereo.path))).toBe(true);
  });

  it("processes a one-channel recording, flagged mono with speakers unknown", async () => {
    const pushed = await pushRecording(ingestUrl, mono.path, { externalId: `call-${kind}-mono` });
    expect(pushed.status).toBe(202);
    const call = (await waitForCall(owner.client, String(pushed.body.callId))) as unknown as CallBody;
    expect(call).toMatchObject({ status: "done", channels: 1, mono: true, metrics: null });
    const segments = call.transcript.segments;
    expect(segments.length).toBeGreaterThan(0);
    expect(new Set(segments.map((s) => s.speaker))).toEqual(new Set(["unknown"]));
    expect(wordsOf(segments.map((s) => s.text).join(" ")).has("garden")).toBe(true);
  });

  it("refuses a corrupt file with MEDIA_UNREADABLE and creates no call", async () => {
    const before = await owner.client.get<{ items: unknown[] }>("/api/v1/calls");
    const wav = await fs.readFile(stereo.path);
    for (const [name, bytes] of [
      [
        "text.wav",
        Buffer.from("this is not audio at all, just text pretending to be a wav file\n".repeat(50)),
      ],
      ["truncated.wav", wav.subarray(0, 60)],
      ["empty.wav", Buffer.alloc(0)],
    ] as const) {
      const res = await pushRecording(ingestUrl, bytes, { externalId: `bad-${name}-${kind}` }, {}, name);
      expect(res.status, name).toBe(422);
      expect(res.body.error?.code, name).toBe("MEDIA_UNREADABLE");
    }
    const after = await owner.client.get<{ items: unknown[] }>("/api/v1/calls");
    expect(after.body.items.length).toBe(before.body.items.length);
  });

  it("answers a repeated externalId with the same call, also when deliveries race", async () => {
    const metadata = { externalId: `dup-${kind}` };
    const results = await Promise.all([0, 1, 2].map(() => pushRecording(ingestUrl, mono.path, metadata)));
    const ids = new Set(results.map((r) => r.body.callId));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.status === 202)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200 && r.body.duplicate === true)).toHaveLength(2);
    const again = await pushRecording(ingestUrl, mono.path, metadata);
    expect(again).toMatchObject({ status: 200, body: { duplicate: true, callId: [...ids][0] } });
  });

  it("hides other accounts' calls (404) and refuses bad tokens", async () => {
    const mine = await owner.client.get<{ items: { id: string }[] }>("/api/v1/calls");
    const callId = mine.body.items[0]!.id;
    const other = await registerOwner(app.baseUrl, "Other LLP");
    for (const p of [`/api/v1/calls/${callId}`, `/api/v1/calls/${callId}/audio`]) {
      const res = await other.client.get<{ error: { code: string } }>(p);
      expect(res.status, p).toBe(404);
      expect(res.body.error.code).toBe("NOT_FOUND");
    }
    expect((await other.client.get<{ items: unknown[] }>("/api/v1/calls")).body.items).toEqual([]);
    const anonymous = apiClient(app.baseUrl);
    expect((await anonymous.get("/api/v1/calls")).status).toBe(401);
    const badToken = await pushRecording(
      ingestUrl.replace(/src_[\w-]+/, "src_not-a-real-token-123"),
      mono.path,
      { externalId: "x" },
    );
    expect(badToken.status).toBe(401);
  });
});

describe("balance and contract", () => {
  let app: TestApp;
  const metricsToken = "metrics-token-for-the-scraper";
  beforeAll(async () => {
    app = await startTestApp("postgres", { METRICS_TOKEN: metricsToken });
  });
  afterAll(async () => {
    await app?.close();
  });

  it("credits the welcome bonus at registration and shows when it would be voided", async () => {
    const owner = await registerOwner(app.baseUrl);
    const balance = await owner.client.get("/api/v1/billing/balance");
    expect(balance.status).toBe(200);
    expect(balance.body).toMatchObject({
      currency: "KZT",
      available: "1000.00",
      main: "0.00",
      bonus: "1000.00",
      reserved: "0.00",
      suspended: false,
    });
    expect(String(balance.body.bonusVoidsAt)).toMatch(/T00:00:00\+05:00$/);
    const ledger = await owner.client.get<{ items: { type: string; amount: string }[] }>(
      "/api/v1/billing/ledger",
    );
    expect(ledger.body.items).toMatchObject([{ type: "bonus_grant", amount: "1000.00" }]);
    // Connecting a data source means the bonus can no longer be voided.
    await owner.client.post("/api/v1/sources", { name: "PBX", kind: "push" });
    expect((await owner.client.get("/api/v1/billing/balance")).body.bonusVoidsAt).toBeNull();
  });

  it("in production refuses a recordingUrl on a private, loopback or link-local address (SSRF): no call, no money", async () => {
    const owner = await registerOwner(app.baseUrl);
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    // Something listens on loopback, so only the address check can stop the download.
    const target = await import("node:http").then(({ createServer }) => {
      const server = createServer((_req, res) => res.end("RIFF"));
      return new Promise<{ url: string; close(): void }>((resolve) =>
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as { port: number };
          resolve({ url: `http://127.0.0.1:${port}`, close: () => server.close() });
        }),
      );
    });
    try {
      const port = new URL(target.url).port;
      const urls = [
        `${target.url}/call.wav`,
        `http://localhost:${port}/call.wav`,
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/call.wav",
        "http://[::1]/call.wav",
      ];
      for (const [i, recordingUrl] of urls.entries()) {
        const res = await fetch(source.body.ingestUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ externalId: `ssrf-${i}`, recordingUrl }),
        });
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(res.status, recordingUrl).toBe(400);
        expect(body.error.code, recordingUrl).toBe("VALIDATION_FAILED");
        expect(body.error.message).toMatch(/private or local address/);
      }
      expect((await owner.client.get<{ items: unknown[] }>("/api/v1/calls")).body.items).toEqual([]);
      const balance = await owner.client.get("/api/v1/billing/balance");
      expect(balance.body).toMatchObject({ available: "1000.00", reserved: "0.00" });
    } finally {
      target.close();
    }
  });

  it("serves health, readiness, metrics and an OpenAPI document of every route", async () => {
    const anonymous = apiClient(app.baseUrl);
    expect((await anonymous.get("/healthz")).body).toEqual({ status: "ok" });
    expect((await anonymous.get("/readyz")).status).toBe(200);
    // Not public: only the scraper with METRICS_TOKEN reads it.
    expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(401);
    expect(
      (await fetch(`${app.baseUrl}/metrics`, { headers: { authorization: "Bearer not-the-token" } })).status,
    ).toBe(401);
    const metrics = await fetch(`${app.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${metricsToken}` },
    }).then((r) => r.text());
    expect(metrics).toContain("tyndau_http_requests_total");
    // The server's `node -v` (the tests run in its process), the supported major.
    expect(metrics).toMatch(
      new RegExp(
        `^tyndau_nodejs_version_info\\{version="${process.version.replaceAll(".", "\\.")}",major="(\\d+)"`,
        "m",
      ),
    );
    expect(
      Number(/tyndau_nodejs_version_info\{[^}]*major="(\d+)"/.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(24);
    const doc = await anonymous.get<{ paths: Record<string, Record<string, unknown>> }>(
      "/api/v1/openapi.json",
    );
    for (const p of [
      "/api/v1/auth/register",
      "/api/v1/ingest/{token}/calls",
      "/api/v1/calls/{id}",
      "/api/v1/billing/balance",
    ]) {
      expect(Object.keys(doc.body.paths)).toContain(p);
    }
    expect(JSON.stringify(doc.body.paths["/api/v1/auth/register"])).toContain("password");
  });

  it("answers errors in one envelope", async () => {
    const anonymous = apiClient(app.baseUrl);
    const bad = await anonymous.post<{ error: { code: string; requestId: string; details: unknown[] } }>(
      "/api/v1/auth/register",
      {
        email: "not-an-email",
        password: "short",
        company: "",
      },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("VALIDATION_FAILED");
    expect(bad.body.error.requestId).toMatch(/[\w-]{8,}/);
    expect(bad.body.error.details.length).toBeGreaterThanOrEqual(3);
    const owner = await registerOwner(app.baseUrl);
    const dup = await anonymous.post<{ error: { code: string } }>("/api/v1/auth/register", {
      email: owner.email.toUpperCase(),
      password: "another long password",
      company: "X",
    });
    expect(dup.status).toBe(409);
    const wrong = await anonymous.post<{ error: { code: string } }>("/api/v1/auth/login", {
      email: owner.email,
      password: "wrong password!",
    });
    expect(wrong.status).toBe(401);
    const logout = await owner.client.post("/api/v1/auth/logout");
    expect(logout.status).toBe(204);
    expect((await owner.client.get("/api/v1/me")).status).toBe(401);
  });
});
