import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesizeCall } from "../../scripts/fixtures/synthesize-call.ts";
import { runScheduledJob } from "../../services/scheduler/main.ts";
import { queryRows } from "../../shared/db/client.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { createMailer } from "../../shared/providers/mail/create-mailer.ts";
import { createObjectStorage } from "../../shared/providers/storage/create-object-storage.ts";
import type { ObjectStorage } from "../../shared/providers/storage/object-storage.ts";
import { type ApiClient, pushRecording, registerOwner, waitForCall } from "../harness/api-client.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

const second = 1000;
const day = 86_400_000;
const plusYears = (d: Date, years: number) => {
  const r = new Date(d);
  r.setUTCFullYear(r.getUTCFullYear() + years);
  return r;
};

let app: TestApp;
let storage: ObjectStorage;
let workDir: string;
let recording: string;

beforeAll(async () => {
  app = await startTestApp("postgres");
  storage = createObjectStorage(app.config.storage, {
    publicUrl: app.config.publicUrl,
    secret: app.config.appSecret,
  });
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-lifecycle-"));
  const call = await synthesizeCall(
    {
      turns: [
        { speaker: "operator", text: "Hello, I will send the price list today." },
        { speaker: "client", text: "Thank you very much." },
      ],
    },
    path.join(workDir, "call.wav"),
    { sampleRate: 16000 },
  );
  recording = call.path;
});
afterAll(async () => {
  await app?.close();
  if (workDir) await fs.rm(workDir, { recursive: true, force: true });
});

const logger = createLogger({ level: "silent", name: "lifecycle-test" });
const runJob = (name: string, now: Date) =>
  runScheduledJob(
    { database: app.database, mailer: createMailer(app.config.mail), storage },
    logger,
    name,
    now,
  ) as Promise<Record<string, unknown>>;

interface Owner {
  client: ApiClient;
  accountId: string;
  email: string;
  token: string;
  ingestUrl: string;
}

async function ownerWithSource(company: string, processingDelaySec = 0): Promise<Owner> {
  const owner = await registerOwner(app.baseUrl, company);
  await owner.client.post("/api/v1/templates", {
    name: "Checks",
    questions: [{ key: "price", text: "Price list?", type: "boolean", keywords: { any: ["price list"] } }],
  });
  const source = await owner.client.post<{ ingestUrl: string }>("/api/v1/sources", {
    name: "PBX",
    kind: "push",
    processingDelaySec,
  });
  expect(source.status).toBe(201);
  return { ...owner, ingestUrl: source.body.ingestUrl };
}

async function push(owner: Owner, externalId: string) {
  return pushRecording(owner.ingestUrl, recording, {
    externalId,
    client: { phone: "+77011234567" },
    operator: { externalId: "op-1", name: "Aigerim Operator" },
  });
}

async function pushAndProcess(owner: Owner, externalId: string) {
  const pushed = await push(owner, externalId);
  expect(pushed.status).toBe(202);
  const callId = String(pushed.body.callId);
  const done = await waitForCall(owner.client, callId);
  expect(done.status).toBe("done");
  return { callId, call: done as unknown as { createdAt: string } };
}

async function callRow(callId: string) {
  const [row] = await queryRows<{
    recording_key: string | null;
    transcript: unknown;
    client_phone: string | null;
    operator_name: string | null;
    duration_sec: number | null;
    cost_amount: string | null;
    purged_at: Date | null;
    analyses: number;
  }>(
    app.database.db,
    sql`select c.*, (select count(*)::int from call_analyses a where a.call_id = c.id) as analyses
          from calls c where c.id = ${callId}`,
  );
  return row;
}

const recordingKeyOf = (accountId: string, callId: string) =>
  `accounts/${accountId}/calls/${callId}/recording`;

async function auditActions(accountId: string) {
  const rows = await queryRows<{ action: string; details: Record<string, unknown> }>(
    app.database.db,
    sql`select action, details from audit_log where account_id = ${accountId} order by created_at`,
  );
  return rows;
}

async function expectPurged(owner: Owner, callId: string, processed = true) {
  const row = await callRow(callId);
  expect(row?.purged_at).not.toBeNull();
  expect(row).toMatchObject({
    recording_key: null,
    transcript: null,
    client_phone: null,
    operator_name: null,
    analyses: 0,
  });
  // The shell keeps what the ledger and aggregates need.
  if (processed) {
    expect(row?.duration_sec).toBeGreaterThan(0);
    expect(row?.cost_amount).not.toBeNull();
  }
  expect(await storage.exists(recordingKeyOf(owner.accountId, callId))).toBe(false);
  const report = await owner.client.get<{ error: { code: string } }>(`/api/v1/calls/${callId}`);
  expect(report.status).toBe(410);
  expect(report.body.error.code).toBe("CALL_PURGED");
  const audio = await owner.client.get<{ error: { code: string } }>(`/api/v1/calls/${callId}/audio`);
  expect(audio.status).toBe(410);
}

async function expectKept(owner: Owner, callId: string, processed = true) {
  const row = await callRow(callId);
  expect(row?.purged_at).toBeNull();
  expect(row?.client_phone).toBe("+77011234567");
  expect(row?.analyses).toBe(processed ? 1 : 0);
  expect(await storage.exists(recordingKeyOf(owner.accountId, callId))).toBe(true);
  expect((await owner.client.get(`/api/v1/calls/${callId}`)).status).toBe(200);
}

describe("data lifecycle", () => {
  let closing: Owner;
  let shortRetention: Owner;
  let closingCall: { callId: string };
  let shortCall: { callId: string; createdAt: string };

  it("exports everything the account holds, without secrets, with working audio links", async () => {
    // The short-retention account's call waits an hour before processing: retention applies to
    // calls in any state but `processing`, and one pipeline run is enough for this file.
    [closing, shortRetention] = await Promise.all([
      ownerWithSource("Closing LLP"),
      ownerWithSource("Short Retention LLP", 3600),
    ]);
    const waiting = await push(shortRetention, "short-1");
    expect(waiting.status).toBe(202);
    const waitingCall = await shortRetention.client.get<{ createdAt: string }>(
      `/api/v1/calls/${String(waiting.body.callId)}`,
    );
    shortCall = { callId: String(waiting.body.callId), createdAt: waitingCall.body.createdAt };
    closingCall = await pushAndProcess(closing, "close-1");

    const exported = await fetch(`${app.baseUrl}/api/v1/account/export`, {
      headers: { authorization: `Bearer ${closing.token}` },
    });
    expect(exported.status).toBe(200);
    expect(exported.headers.get("content-disposition")).toMatch(/attachment/);
    const text = await exported.text();
    const body = JSON.parse(text);
    expect(body.account).toMatchObject({ id: closing.accountId, company: "Closing LLP" });
    expect(body.users).toEqual([expect.objectContaining({ email: closing.email, role: "owner" })]);
    expect(body.sources).toHaveLength(1);
    expect(body.calls).toHaveLength(1);
    expect(body.calls[0]).toMatchObject({
      id: closingCall.callId,
      client: { phone: "+77011234567" },
      analysis: [
        expect.objectContaining({ answers: [expect.objectContaining({ key: "price", value: true })] }),
      ],
    });
    expect(body.calls[0].transcript.segments.length).toBeGreaterThan(0);
    expect(body.ledger.map((l: { type: string }) => l.type)).toEqual(
      expect.arrayContaining(["bonus_grant", "charge"]),
    );
    expect(body.invoices).toEqual([]);
    // Nothing secret in it: no password hash, source token or signing secret.
    expect(text).not.toMatch(/passwordHash|password_hash|tokenHash|signingSecret|argon2/i);
    const audio = await fetch(body.calls[0].audioUrl);
    expect(audio.status).toBe(200);
    expect((await audio.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    expect((await auditActions(closing.accountId)).map((a) => a.action)).toContain("account.export");
  });

  it("purges a call exactly at the account's retentionDays line, once, when two purgers run at once", async () => {
    expect((await shortRetention.client.patch("/api/v1/account", { retentionDays: 30 })).status).toBe(200);
    const line = new Date(new Date(shortCall.createdAt).getTime() + 30 * day);

    await runJob("retention-purge", new Date(line.getTime() - 2 * second));
    await expectKept(shortRetention, shortCall.callId, false);

    const after = new Date(line.getTime() + 2 * second);
    const [a, b] = await Promise.all([runJob("retention-purge", after), runJob("retention-purge", after)]);
    // The closing account's call is not due yet: exactly one call purged, by one of the two runs.
    expect(Number(a.calls) + Number(b.calls)).toBe(1);
    expect(Number(a.objects) + Number(b.objects)).toBe(1);
    await expectPurged(shortRetention, shortCall.callId, false);
    await expectKept(closing, closingCall.callId);

    const again = await runJob("retention-purge", after);
    expect(again.calls).toBe(0);
    // Storage deletes tolerate objects already gone (a crashed run's retry): the shell is untouched.
    await storage.delete(recordingKeyOf(shortRetention.accountId, shortCall.callId));
    const ledger = await runJob("ledger-check", after);
    expect(ledger.ok).toBe(true);
    expect((await auditActions(shortRetention.accountId)).map((x) => x.action)).toContain("retention.purge");
  });

  it("closing stops new calls and purges 3 years after the agreement ended", async () => {
    const closed = await closing.client.post<{ status: string; closedAt: string }>("/api/v1/account/close");
    expect(closed.status).toBe(200);
    expect(closed.body.status).toBe("closed");
    const closedAt = new Date(closed.body.closedAt);
    // Closing again keeps the first date.
    expect((await closing.client.post<{ closedAt: string }>("/api/v1/account/close")).body.closedAt).toBe(
      closed.body.closedAt,
    );
    const refused = await push(closing, "close-2");
    expect(refused.status).toBe(409);
    expect(refused.body.error?.code).toBe("ACCOUNT_CLOSED");

    const line = plusYears(closedAt, 3);
    await runJob("retention-purge", new Date(line.getTime() - 2 * second));
    await expectKept(closing, closingCall.callId);
    const purged = await runJob("retention-purge", new Date(line.getTime() + 2 * second));
    expect(purged.calls).toBe(1);
    await expectPurged(closing, closingCall.callId);
    expect((await auditActions(closing.accountId)).map((x) => x.action)).toEqual(
      expect.arrayContaining(["account.close", "retention.purge"]),
    );
  });

  it("blocking stops processing (queued calls wait, no hold) and unblocking resumes it", async () => {
    const owner = await ownerWithSource("Blocked LLP", 1);
    const queued = await push(owner, "blocked-1");
    expect(queued.status).toBe(202);
    const blocked = await owner.client.post<{ processingBlocked: boolean }>(
      "/api/v1/account/processing/block",
    );
    expect(blocked.body.processingBlocked).toBe(true);
    const refused = await push(owner, "blocked-2");
    expect(refused.status).toBe(409);
    expect(refused.body.error?.code).toBe("PROCESSING_BLOCKED");

    const callId = String(queued.body.callId);
    await new Promise((r) => setTimeout(r, 3000));
    const waiting = await owner.client.get<{ status: string; cost: unknown }>(`/api/v1/calls/${callId}`);
    expect(waiting.body.status).toBe("received");
    expect(waiting.body.cost).toBeNull();
    const holds = await queryRows<{ n: number }>(
      app.database.db,
      sql`select count(*)::int as n from ledger_transactions where call_id = ${callId}`,
    );
    expect(holds[0]?.n).toBe(0);

    const unblocked = await owner.client.post<{ processingBlocked: boolean }>(
      "/api/v1/account/processing/unblock",
    );
    expect(unblocked.body.processingBlocked).toBe(false);
    // Queued again: it leaves `received` (reserved and processing, or already done).
    const deadline = Date.now() + 20_000;
    let status = "received";
    while (status === "received" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      status = (await owner.client.get<{ status: string }>(`/api/v1/calls/${callId}`)).body.status;
    }
    expect(["processing", "done"]).toContain(status);

    // Blocked again while it holds funds: the pipeline stops at its next step and releases the hold
    // (unless it already finished in the meantime, then it was charged normally).
    await owner.client.post("/api/v1/account/processing/block");
    const ended = (await waitForCall(owner.client, callId)) as unknown as {
      status: string;
      error: { code: string } | null;
      cost: { status: string } | null;
    };
    if (ended.status === "failed") {
      expect(ended.error?.code).toBe("PROCESSING_BLOCKED");
      expect(ended.cost?.status).toBe("released");
    } else {
      expect(ended.status).toBe("done");
      expect(ended.cost?.status).toBe("charged");
    }
    expect((await auditActions(owner.accountId)).map((x) => x.action)).toEqual(
      expect.arrayContaining(["account.processing_block", "account.processing_unblock"]),
    );
  });

  it("deletes the account after the cancellable grace period; the ledger stays, a report is kept", async () => {
    // The call's processing waits a minute: its recording is stored, which is what deletion must remove.
    const owner = await ownerWithSource("Deleted LLP", 60);
    const pushed = await push(owner, "del-1");
    expect(pushed.status).toBe(202);
    const callId = String(pushed.body.callId);
    expect(await storage.exists(recordingKeyOf(owner.accountId, callId))).toBe(true);

    const first = await owner.client.post<{ deleteBy: string; requestedAt: string }>(
      "/api/v1/account/deletion-request",
    );
    expect(first.status).toBe(202);
    const firstBy = new Date(first.body.deleteBy);
    expect(firstBy.getTime() - new Date(first.body.requestedAt).getTime()).toBe(14 * day);
    const refused = await push(owner, "del-2");
    expect(refused.body.error?.code).toBe("ACCOUNT_DELETION_PENDING");

    // Cancelled: the first date passes and nothing happens.
    expect((await owner.client.delete("/api/v1/account/deletion-request")).status).toBe(200);
    expect((await owner.client.delete("/api/v1/account/deletion-request")).status).toBe(409);
    expect((await runJob("deletion-purge", new Date(firstBy.getTime() + 2 * second))).accounts).toEqual([]);

    expect((await auditActions(owner.accountId)).map((x) => x.action)).toEqual([
      "account.deletion_request",
      "account.deletion_cancel",
    ]);
    const second_ = await owner.client.post<{ deleteBy: string }>("/api/v1/account/deletion-request");
    const deleteBy = new Date(second_.body.deleteBy);
    expect((await runJob("deletion-purge", new Date(deleteBy.getTime() - 2 * second))).accounts).toEqual([]);
    expect((await owner.client.get("/api/v1/me")).status).toBe(200);

    const after = new Date(deleteBy.getTime() + 2 * second);
    const [a, b] = await Promise.all([runJob("deletion-purge", after), runJob("deletion-purge", after)]);
    expect([...(a.accounts as string[]), ...(b.accounts as string[])]).toEqual([owner.accountId]);

    // Users lose access at once; rows and objects are gone; the ledger stays.
    expect((await owner.client.get("/api/v1/me")).status).toBe(401);
    expect(await storage.exists(recordingKeyOf(owner.accountId, callId))).toBe(false);
    const [left] = await queryRows<Record<string, number>>(
      app.database.db,
      sql`select
        (select count(*)::int from accounts where id = ${owner.accountId}) as accounts,
        (select count(*)::int from users where account_id = ${owner.accountId}) as users,
        (select count(*)::int from calls where account_id = ${owner.accountId}) as calls,
        (select count(*)::int from sources where account_id = ${owner.accountId}) as sources,
        (select count(*)::int from ledger_transactions where account_id = ${owner.accountId}) as ledger`,
    );
    expect(left).toMatchObject({ accounts: 0, users: 0, calls: 0, sources: 0 });
    expect(left?.ledger).toBeGreaterThanOrEqual(1); // the welcome bonus stays in the books
    const reports = await queryRows<{ counts: Record<string, number>; executed_at: Date }>(
      app.database.db,
      sql`select counts, executed_at from account_deletions where account_id = ${owner.accountId}`,
    );
    expect(reports).toHaveLength(1);
    expect(reports[0]?.counts).toMatchObject({ users: 1, calls: 1, sources: 1, storageObjects: 1 });
    expect(JSON.stringify(reports)).not.toContain(owner.email);
    expect(new Date(reports[0]!.executed_at).getTime()).toBe(after.getTime());
    // The account's audit trail goes with it; one entry naming only ids and counts remains.
    const trail = await auditActions(owner.accountId);
    expect(trail.map((x) => x.action)).toEqual(["account.deleted"]);
    expect(JSON.stringify(trail)).not.toContain(owner.email);
    const ledger = await runJob("ledger-check", after);
    expect(ledger.ok).toBe(true);
  });
});
