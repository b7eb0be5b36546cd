import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesizeMono } from "../../scripts/fixtures/synthesize-call.ts";
import { pipelineDeps } from "../../services/pipeline/main.ts";
import type { PipelineDeps } from "../../services/pipeline/pipeline-deps.ts";
import { runStep } from "../../services/pipeline/pipeline-worker.ts";
import { analyzeCall } from "../../services/pipeline/steps/analyze.step.ts";
import { probeCall } from "../../services/pipeline/steps/probe.step.ts";
import { resumeAwaitingCalls } from "../../services/pipeline/steps/resume-awaiting.step.ts";
import { transcribeCall } from "../../services/pipeline/steps/transcribe.step.ts";
import { blockAccount } from "../../shared/accounts/block-account.ts";
import { systemActor } from "../../shared/audit/audit-log.ts";
import { grantWelcomeBonus } from "../../shared/billing/balance.ts";
import { loadConfig } from "../../shared/config/config.ts";
import { queryRows } from "../../shared/db/client.ts";
import { createAccount, setAccountStatus } from "../../shared/db/repositories/accounts.repository.ts";
import {
  findAnalyses,
  findCall,
  insertCallOnce,
  updateCall,
} from "../../shared/db/repositories/calls.repository.ts";
import { createTemplate, updateTemplate } from "../../shared/db/repositories/templates.repository.ts";
import type { TemplateQuestion } from "../../shared/domain/templates.ts";
import { recordingKey } from "../../shared/ingest/ingest-recording.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { analyzeCallJob, transcribeCallJob } from "../../shared/queue/job-definitions.ts";
import { type Infrastructure, openInfrastructure } from "../../shared/runtime/infrastructure.ts";
import { createDatabaseOf, type TestDatabase } from "../harness/test-database.ts";

/** Issue 14 items 4 and 6 at the pipeline's steps, on a real PostgreSQL. */
let t: TestDatabase;
let infra: Infrastructure;
let deps: PipelineDeps;
let dataDir: string;
let wav: Buffer;

beforeAll(async () => {
  t = await createDatabaseOf("postgres");
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-trust-pipe-"));
  const config = loadConfig({ DATA_DIR: dataDir, TYNDAU_DEMO: "0", LOG_LEVEL: "silent" });
  const logger = createLogger({ level: "silent" });
  infra = await openInfrastructure(config, logger, { database: t.database });
  await infra.queue.register(transcribeCallJob);
  await infra.queue.register(analyzeCallJob);
  deps = pipelineDeps(config, infra, logger);
  // 61 s: two billable minutes, so a price difference shows in the amount.
  const file = await synthesizeMono(
    { turns: [{ speaker: "operator", text: "Hello there." }], tailSec: 61 },
    path.join(dataDir, "call.wav"),
  );
  wav = await fs.readFile(file.path);
});
afterAll(async () => {
  await infra?.close();
  await t?.drop();
  await fs.rm(dataDir, { recursive: true, force: true });
});

const question = (key: string): TemplateQuestion => ({
  key,
  text: `Did the operator say ${key}?`,
  type: "boolean",
  keywords: { speaker: "any", any: [key] },
});

async function accountWithCall(company: string, options: { bonus?: boolean } = {}) {
  const account = await createAccount(t.database.db, { company, currency: "KZT" });
  if (options.bonus !== false) await grantWelcomeBonus(t.database.db, account, new Date());
  const { call } = await insertCallOnce(t.database.db, { accountId: account.id });
  const key = recordingKey(account.id, call.id);
  await infra.storage.put(key, Readable.from([wav]));
  await updateCall(t.database.db, account.id, call.id, { recordingKey: key });
  return { accountId: account.id, callId: call.id };
}

const holdsOf = async (callId: string) =>
  queryRows<{ type: string }>(
    t.database.db,
    sql`select type from ledger_transactions where call_id = ${callId} order by occurred_at, type`,
  );

const context = { isLastAttempt: false, jobId: "j", retryCount: 0 };

describe("what is priced is what is analysed (issue 14.6)", () => {
  it("analyses exactly the template versions reserved, not one activated or edited later", async () => {
    const job = await accountWithCall("Priced LLP");
    const priced = await createTemplate(t.database.db, {
      accountId: job.accountId,
      name: "Greeting",
      provider: "rules",
      active: true,
      questions: [question("hello")],
    });
    const inactive = await createTemplate(t.database.db, {
      accountId: job.accountId,
      name: "Upsell",
      provider: "rules",
      active: false,
      questions: [question("offer"), question("discount"), question("premium")],
    });
    await probeCall(deps, job);
    const reserved = await findCall(t.database.db, job.accountId, job.callId);
    // 3.00 transcription + 5.00 template + 1.00 question = 9.00 per minute, 2 minutes.
    expect(reserved).toMatchObject({
      status: "processing",
      costStatus: "reserved",
      costMinutes: 2,
      pricedTemplates: [{ templateId: priced.id, version: 1 }],
    });
    expect(reserved?.costAmount?.toString()).toMatch(/^18(\.0+)?$/);

    // After the reservation: the owner activates another template and adds questions to the priced one.
    await updateTemplate(t.database.db, job.accountId, inactive.id, { active: true }, new Date());
    await updateTemplate(
      t.database.db,
      job.accountId,
      priced.id,
      { questions: [question("hello"), question("goodbye"), question("thanks")] },
      new Date(),
    );
    await updateCall(t.database.db, job.accountId, job.callId, {
      transcript: {
        language: "en",
        provider: "test",
        segments: [{ speaker: "unknown", startSec: 0, endSec: 2, text: "hello and goodbye, special offer" }],
      },
    });
    await analyzeCall(deps, job);

    const analyses = await findAnalyses(t.database.db, job.accountId, job.callId);
    expect(analyses.map((a) => [a.templateId, a.templateVersion])).toEqual([[priced.id, 1]]);
    expect(analyses[0]?.answers?.map((a) => a.key)).toEqual(["hello"]);
    const done = await findCall(t.database.db, job.accountId, job.callId);
    expect(done).toMatchObject({ status: "done", costStatus: "charged" });
    expect(done?.costAmount?.toString()).toMatch(/^18(\.0+)?$/);
  });
});

describe("a blocked account's calls (issue 14.4)", () => {
  it("releases the hold of a call in flight when staff block, and no later step works on it", async () => {
    const job = await accountWithCall("Blocked in flight LLP");
    await probeCall(deps, job);
    expect((await findCall(t.database.db, job.accountId, job.callId))?.costStatus).toBe("reserved");

    const result = await blockAccount(
      { db: t.database.db, clock: () => new Date() },
      { accountId: job.accountId, actor: systemActor },
    );
    expect(result.releasedCalls).toBe(1);
    expect(await findCall(t.database.db, job.accountId, job.callId)).toMatchObject({
      status: "failed",
      errorCode: "ACCOUNT_BLOCKED",
      costStatus: "released",
    });
    expect((await holdsOf(job.callId)).map((r) => r.type).sort()).toEqual(["hold", "release"]);

    // The transcription job already queued finds nothing to do; nor does analysis.
    await runStep(deps, transcribeCall, "transcribe", job, context);
    await runStep(deps, analyzeCall, "analyze", job, context);
    const after = await findCall(t.database.db, job.accountId, job.callId);
    expect(after).toMatchObject({ status: "failed", costStatus: "released", transcript: null });
  });

  it("stops a call reserved just after the block at its next step, releasing the hold", async () => {
    const job = await accountWithCall("Blocked race LLP");
    await probeCall(deps, job);
    // The block committed while the probe's reservation was in flight: the call holds funds anyway.
    await setAccountStatus(t.database.db, job.accountId, "blocked");
    await runStep(deps, transcribeCall, "transcribe", job, context);
    expect(await findCall(t.database.db, job.accountId, job.callId)).toMatchObject({
      status: "failed",
      errorCode: "ACCOUNT_BLOCKED",
      costStatus: "released",
      transcript: null,
    });
  });

  it("neither reserves nor processes a blocked account's queued calls", async () => {
    const received = await accountWithCall("Blocked queue LLP");
    await setAccountStatus(t.database.db, received.accountId, "blocked");
    await runStep(deps, probeCall, "probe", received, context);
    expect(await findCall(t.database.db, received.accountId, received.callId)).toMatchObject({
      status: "received",
      costStatus: null,
    });
    expect(await holdsOf(received.callId)).toEqual([]);

    // A call waiting for funds, then a top-up's resumer runs while the account is blocked.
    const awaiting = await accountWithCall("Blocked awaiting LLP");
    await updateCall(t.database.db, awaiting.accountId, awaiting.callId, {
      status: "awaiting_funds",
      durationSec: 61,
      channels: 1,
    });
    await setAccountStatus(t.database.db, awaiting.accountId, "blocked");
    expect(await resumeAwaitingCalls(deps, awaiting.accountId)).toEqual({ resumed: 0 });
    expect(await findCall(t.database.db, awaiting.accountId, awaiting.callId)).toMatchObject({
      status: "awaiting_funds",
      costStatus: null,
    });
    expect(await holdsOf(awaiting.callId)).toEqual([]);
  });
});
