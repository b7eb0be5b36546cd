import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesizeCall } from "../../scripts/fixtures/synthesize-call.ts";
import { apiClient, pushRecording, waitForCall } from "../harness/api-client.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

/** A whole flow at debug level; its logs must be structured and carry no secret and no transcript. */
const lines: string[] = [];
let app: TestApp;
let workDir: string;

beforeAll(async () => {
  app = await startTestApp(
    "pglite",
    { LOG_LEVEL: "debug" },
    { logDestination: { write: (line) => lines.push(line) } },
  );
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-logscan-"));
});
afterAll(async () => {
  await app?.close();
  await fs.rm(workDir, { recursive: true, force: true });
});

describe("logs", () => {
  it("are JSON lines without passwords, tokens, secrets, signed links or what was said", async () => {
    const password = "correct horse battery staple";
    const email = `logs-${Date.now()}@example.com`;
    const anonymous = apiClient(app.baseUrl);
    const registered = await anonymous.post<{ token: string }>("/api/v1/auth/register", {
      email,
      password,
      company: "Logs LLP",
    });
    const login = await anonymous.post<{ token: string }>("/api/v1/auth/login", { email, password });
    await anonymous.post("/api/v1/auth/login", { email, password: "wrong password 123" });
    const owner = apiClient(app.baseUrl, login.body.token);
    const source = await owner.post<{ token: string; signingSecret: string; ingestUrl: string }>(
      "/api/v1/sources",
      { name: "PBX", kind: "push" },
    );
    const call = await synthesizeCall(
      {
        turns: [
          { speaker: "operator", text: "Good morning. Can you tell me your company name, please?" },
          { speaker: "client", text: "The company is Green Garden." },
        ],
      },
      path.join(workDir, "call.wav"),
      { sampleRate: 16000 },
    );
    const pushed = await pushRecording(source.body.ingestUrl, call.path, {
      externalId: "log-1",
      client: { phone: "+77015550123" },
    });
    const done = (await waitForCall(owner, String(pushed.body.callId))) as unknown as {
      transcript: { segments: { text: string }[] };
    };
    const audio = await owner.get<{ url: string }>(
      `/api/v1/calls/${pushed.body.callId}/audio?redirect=false`,
    );
    await fetch(audio.body.url).then((r) => r.arrayBuffer());
    // Team management: an invitation accepted with its own password, then a password change.
    const invitation = await owner.post<{ token: string }>("/api/v1/invitations", {
      email: `invitee-${Date.now()}@example.com`,
      role: "manager",
    });
    const invitedPassword = "invited member password";
    const accepted = await anonymous.post<{ token: string }>("/api/v1/invitations/accept", {
      token: invitation.body.token,
      password: invitedPassword,
    });
    expect(accepted.status).toBe(201);
    const newPassword = "a brand new owner password";
    const changed = await owner.post("/api/v1/me/password", { currentPassword: password, newPassword });
    expect(changed.status).toBe(204);
    await owner.post("/api/v1/auth/logout");

    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect(() => JSON.parse(line), line.slice(0, 200)).not.toThrow();
    const all = lines.join("\n").toLowerCase();
    const signature =
      new URL(audio.body.url).searchParams.get("signature") ??
      new URL(audio.body.url).searchParams.get("X-Amz-Signature");
    const secrets = {
      password,
      wrongPassword: "wrong password 123",
      registerToken: registered.body.token,
      loginToken: login.body.token,
      sourceToken: source.body.token,
      signingSecret: source.body.signingSecret,
      audioSignature: signature ?? "",
      phone: "7015550123",
      invitationToken: invitation.body.token,
      invitedPassword,
      invitedToken: accepted.body.token,
      newPassword,
    };
    for (const [name, value] of Object.entries(secrets)) {
      expect(value.length, name).toBeGreaterThan(5);
      expect(all.includes(value.toLowerCase()), `${name} appears in the logs`).toBe(false);
    }
    // What was said stays out of the logs (the recognised words, not just the script).
    const said = done.transcript.segments.map((s) => s.text).filter((t) => t.split(" ").length >= 3);
    expect(said.length).toBeGreaterThan(0);
    for (const text of said)
      expect(all.includes(text.toLowerCase()), `transcript "${text}" appears in the logs`).toBe(false);
  });
});
