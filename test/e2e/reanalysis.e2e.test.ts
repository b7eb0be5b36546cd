import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesizeCall } from "../../scripts/fixtures/synthesize-call.ts";
import { Money } from "../../shared/money/money.ts";
import { pushRecording, registerOwner, waitForCall } from "../harness/api-client.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

interface Analysis {
  templateId: string;
  templateVersion: number;
  status: string;
  answers: { key: string; value: unknown }[];
}

let app: TestApp;
let workDir: string;

beforeAll(async () => {
  app = await startTestApp("pglite");
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-reanalysis-"));
});
afterAll(async () => {
  await app?.close();
  await fs.rm(workDir, { recursive: true, force: true });
});

describe("reanalysis after a template edit", () => {
  it("answers with the new version, keeps the old version's answers, and bills only the templates", async () => {
    const owner = await registerOwner(app.baseUrl);
    const template = await owner.client.post<{ id: string; version: number }>("/api/v1/templates", {
      name: "Checks",
      questions: [
        {
          key: "price",
          text: "Was a price list mentioned?",
          type: "boolean",
          keywords: { any: ["price list"] },
        },
      ],
    });
    const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    const call = await synthesizeCall(
      {
        turns: [
          { speaker: "operator", text: "Thank you. I will send you the new price list today by email." },
          { speaker: "client", text: "That is great. Thank you very much for your help." },
        ],
      },
      path.join(workDir, "call.wav"),
      { sampleRate: 16000 },
    );
    const pushed = await pushRecording(source.body.ingestUrl, call.path, { externalId: "re-1" });
    const callId = String(pushed.body.callId);
    const done = (await waitForCall(owner.client, callId)) as unknown as { analysis: Analysis[] };
    expect(done.analysis).toMatchObject([
      { templateVersion: 1, status: "done", answers: [{ key: "price", value: true }] },
    ]);

    const edited = await owner.client.patch<{ version: number }>(`/api/v1/templates/${template.body.id}`, {
      questions: [
        {
          key: "price",
          text: "Was a price list mentioned?",
          type: "boolean",
          keywords: { any: ["price list"] },
        },
        {
          key: "thanks",
          text: "Did the client thank?",
          type: "boolean",
          keywords: { speaker: "client", any: ["thank you"] },
        },
      ],
    });
    expect(edited.body.version).toBe(2);
    const balanceBefore = (await owner.client.get<{ available: string }>("/api/v1/billing/balance")).body
      .available;

    const started = await owner.client.post<{ runId: string; minutes: number; amount: string }>(
      `/api/v1/calls/${callId}/reanalyze`,
    );
    expect(started.status).toBe(202);
    // 1 minute × (template base 5.00 + 2 questions × 1.00); no transcription.
    expect(started.body).toMatchObject({ minutes: 1, amount: "7.00", currency: "KZT" });

    let analysis: Analysis[] = [];
    for (let i = 0; i < 100 && analysis.length < 2; i++) {
      analysis = (await owner.client.get<{ analysis: Analysis[] }>(`/api/v1/calls/${callId}`)).body.analysis;
      if (analysis.length < 2) await new Promise((r) => setTimeout(r, 200));
    }
    const byVersion = Object.fromEntries(analysis.map((a) => [a.templateVersion, a]));
    expect(byVersion[1]?.answers.map((a) => a.key)).toEqual(["price"]);
    expect(byVersion[2]?.answers.map((a) => [a.key, a.value])).toEqual([
      ["price", true],
      ["thanks", true],
    ]);

    let balance = { available: "", reserved: "" };
    for (let i = 0; i < 50; i++) {
      balance = (await owner.client.get<typeof balance>("/api/v1/billing/balance")).body;
      if (balance.reserved === "0.00") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Money.of(balanceBefore, "KZT").minus(Money.of(balance.available, "KZT")).toFixed()).toBe("7.00");
    expect(balance.reserved).toBe("0.00");

    // Another account cannot reanalyse this call.
    const other = await registerOwner(app.baseUrl);
    expect((await other.client.post(`/api/v1/calls/${callId}/reanalyze`)).status).toBe(404);
  });
});
