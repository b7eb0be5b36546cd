import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesizeMono } from "../../scripts/fixtures/synthesize-call.ts";
import { pipelineDeps } from "../../services/pipeline/main.ts";
import type { PipelineDeps } from "../../services/pipeline/pipeline-deps.ts";
import { runStep } from "../../services/pipeline/pipeline-worker.ts";
import { probeCall } from "../../services/pipeline/steps/probe.step.ts";
import { grantWelcomeBonus } from "../../shared/billing/balance.ts";
import { loadConfig } from "../../shared/config/config.ts";
import { createAccount } from "../../shared/db/repositories/accounts.repository.ts";
import { findCall, insertCallOnce, updateCall } from "../../shared/db/repositories/calls.repository.ts";
import { AppError } from "../../shared/errors/app-error.ts";
import { recordingKey } from "../../shared/ingest/ingest-recording.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { transcribeCallJob } from "../../shared/queue/job-definitions.ts";
import { type Infrastructure, openInfrastructure } from "../../shared/runtime/infrastructure.ts";
import { createDatabaseOf, databaseKinds, type TestDatabase } from "../harness/test-database.ts";

describe.each(databaseKinds)("pipeline steps on %s", (kind) => {
  let t: TestDatabase;
  let infra: Infrastructure;
  let deps: PipelineDeps;
  let dataDir: string;
  let goodWav: string;

  beforeAll(async () => {
    t = await createDatabaseOf(kind);
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-pipe-"));
    const config = loadConfig({ DATA_DIR: dataDir, TYNDAU_DEMO: "0", LOG_LEVEL: "silent" });
    const logger = createLogger({ level: "silent" });
    infra = await openInfrastructure(config, logger, { database: t.database });
    await infra.queue.register(transcribeCallJob);
    deps = pipelineDeps(config, infra, logger);
    goodWav = (
      await synthesizeMono(
        { turns: [{ speaker: "operator", text: "Hello there." }] },
        path.join(dataDir, "ok.wav"),
      )
    ).path;
  });
  afterAll(async () => {
    await infra?.close();
    await t?.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  async function storedCall(body: Buffer) {
    const account = await createAccount(t.database.db, { company: "Acme", currency: "KZT" });
    await grantWelcomeBonus(t.database.db, account, new Date());
    const { call } = await insertCallOnce(t.database.db, { accountId: account.id });
    const key = recordingKey(account.id, call.id);
    await infra.storage.put(key, Readable.from([body]));
    await updateCall(t.database.db, account.id, call.id, { recordingKey: key });
    return { accountId: account.id, callId: call.id };
  }

  it("fails a call whose stored recording is not audio with MEDIA_UNREADABLE, without retrying", async () => {
    const job = await storedCall(Buffer.from("definitely not audio"));
    await runStep(deps, probeCall, "probe", job, { isLastAttempt: false, jobId: "j1", retryCount: 0 });
    const call = await findCall(t.database.db, job.accountId, job.callId);
    expect(call).toMatchObject({ status: "failed", errorCode: "MEDIA_UNREADABLE" });
    expect(call?.errorMessage).toBeTruthy();
  });

  it("probes once: a repeated probe job neither changes the call nor enqueues a second transcription", async () => {
    const job = await storedCall(await fs.readFile(goodWav));
    const before = (await infra.queue.counts(transcribeCallJob.name)).created ?? 0;
    await probeCall(deps, job);
    const probed = await findCall(t.database.db, job.accountId, job.callId);
    expect(probed).toMatchObject({
      status: "processing",
      channels: 1,
      mono: true,
      costStatus: "reserved",
      costMinutes: 1,
    });
    await probeCall(deps, job);
    expect((await infra.queue.counts(transcribeCallJob.name)).created ?? 0).toBe(before + 1);
  });

  it("waits for funds instead of processing when the balance cannot cover the call", async () => {
    const account = await createAccount(t.database.db, { company: "Broke", currency: "KZT" });
    const { call } = await insertCallOnce(t.database.db, { accountId: account.id });
    const key = recordingKey(account.id, call.id);
    await infra.storage.put(key, Readable.from([await fs.readFile(goodWav)]));
    await updateCall(t.database.db, account.id, call.id, { recordingKey: key });
    const before = (await infra.queue.counts(transcribeCallJob.name)).created ?? 0;
    await probeCall(deps, { accountId: account.id, callId: call.id });
    expect(await findCall(t.database.db, account.id, call.id)).toMatchObject({
      status: "awaiting_funds",
      costStatus: null,
    });
    expect((await infra.queue.counts(transcribeCallJob.name)).created ?? 0).toBe(before);
  });

  it("retries transient errors and fails the call only on the last attempt", async () => {
    const job = await storedCall(await fs.readFile(goodWav));
    const flaky: PipelineDeps = {
      ...deps,
      storage: {
        ...deps.storage,
        download: async () => {
          throw new AppError("UNAVAILABLE", "storage is down", { retryable: true });
        },
      },
    };
    await expect(
      runStep(flaky, probeCall, "probe", job, { isLastAttempt: false, jobId: "j2", retryCount: 0 }),
    ).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect((await findCall(t.database.db, job.accountId, job.callId))?.status).toBe("received");
    await runStep(flaky, probeCall, "probe", job, { isLastAttempt: true, jobId: "j2", retryCount: 5 });
    expect(await findCall(t.database.db, job.accountId, job.callId)).toMatchObject({
      status: "failed",
      errorCode: "UNAVAILABLE",
    });
  });
});
