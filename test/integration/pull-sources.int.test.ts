import fs from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesizeMono } from "../../scripts/fixtures/synthesize-call.ts";
import { pullDeps } from "../../services/ingestion/main.ts";
import { findScheduledJob } from "../../services/scheduler/jobs/scheduled-jobs.ts";
import { loadConfig } from "../../shared/config/config.ts";
import { queryRows } from "../../shared/db/client.ts";
import { createAccount } from "../../shared/db/repositories/accounts.repository.ts";
import {
  createSource,
  findSources,
  type SourceRow,
} from "../../shared/db/repositories/sources.repository.ts";
import { type PullKind, publicSourceConfig, sealPullConfig } from "../../shared/ingest/connectors/index.ts";
import { type PullDeps, runPullSources } from "../../shared/ingest/pull-sources.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { createAppMetrics } from "../../shared/observability/metrics.ts";
import { probeCallJob, pullSourcesJob } from "../../shared/queue/job-definitions.ts";
import { type Infrastructure, openInfrastructure } from "../../shared/runtime/infrastructure.ts";
import { type CallFeedServer, type FeedCall, startCallFeedServer } from "../harness/call-feed-server.ts";
import { type TestS3, useTestS3 } from "../harness/s3rver.ts";
import { createTestDatabase, type TestDatabase } from "../harness/test-database.ts";
import { startZadarmaEmulator, type ZadarmaEmulator } from "../harness/zadarma-emulator.ts";

const APP_SECRET = "pull-test-app-secret";
const SINCE = "2026-01-01T00:00:00.000Z";

describe("pull sources (http_pull, s3_pull, zadarma) on postgres", () => {
  let t: TestDatabase;
  let infra: Infrastructure;
  let deps: PullDeps;
  let dataDir: string;
  let wav: string;
  let metrics: ReturnType<typeof createAppMetrics>;
  const servers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    t = await createTestDatabase();
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "tyndau-pull-"));
    const config = loadConfig({
      DATA_DIR: dataDir,
      TYNDAU_DEMO: "0",
      LOG_LEVEL: "silent",
      APP_SECRET,
      MAX_UPLOADS_PER_MINUTE: "1000",
    });
    const logger = createLogger({ level: "silent" });
    infra = await openInfrastructure(config, logger, { database: t.database });
    await infra.queue.register(probeCallJob);
    metrics = createAppMetrics({ service: "test" });
    deps = pullDeps(config, infra, logger, metrics);
    wav = (
      await synthesizeMono({ turns: [{ speaker: "operator", text: "Hello." }] }, path.join(dataDir, "a.wav"))
    ).path;
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await infra?.close();
    await t?.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const feedCalls = (prefix: string, n: number): FeedCall[] =>
    Array.from({ length: n }, (_, i) => ({
      externalId: `${prefix}-${i + 1}`,
      startedAt: `2026-02-01T10:0${i}:00.000Z`,
      direction: "inbound",
      clientPhone: `+7701000000${i}`,
    }));

  async function newSource(kind: PullKind, config: Record<string, unknown>): Promise<SourceRow> {
    const account = await createAccount(t.database.db, { company: `Acme ${kind}`, currency: "KZT" });
    return createSource(t.database.db, {
      accountId: account.id,
      name: `${kind} source`,
      kind,
      tokenHash: `hash-${Math.random()}`,
      signingSecretEnc: "unused",
      config: sealPullConfig(kind, config, APP_SECRET, new Date()),
    });
  }

  async function externalIds(sourceId: string): Promise<string[]> {
    const rows = await queryRows<{ external_id: string }>(
      t.database.db,
      sql`select external_id from calls where source_id = ${sourceId} order by external_id`,
    );
    return rows.map((r) => r.external_id);
  }

  async function sourceRow(source: SourceRow): Promise<SourceRow> {
    return (await findSources(t.database.db, source.accountId)).find((s) => s.id === source.id)!;
  }

  /** Runs the job with only `source` enabled in view: other tests' sources are disabled meanwhile. */
  async function enableOnly(sourceIds: string[]) {
    await t.database.db.execute(
      sql`update sources set enabled = (id in (${sql.join(
        sourceIds.map((id) => sql`${id}`),
        sql`, `,
      )})) where kind <> 'push'`,
    );
  }
  async function runOnly(sourceIds: string[], extra: Partial<PullDeps> = {}) {
    await enableOnly(sourceIds);
    return runPullSources({ ...deps, ...extra });
  }

  it("the scheduled pull-sources job hands a run to the ingestion workers", async () => {
    await infra.queue.register(pullSourcesJob);
    const job = findScheduledJob("pull-sources")!;
    const now = new Date("2026-03-01T10:00:30Z");
    const jobDeps = {
      database: infra.database,
      mailer: infra.mailer,
      storage: infra.storage,
      logger: deps.logger,
      queue: infra.queue,
    };
    expect(await job.run(jobDeps, now)).toEqual({ enqueued: true });
    expect((await infra.queue.counts(pullSourcesJob.name)).created).toBe(1);
  });

  describe("http_pull", () => {
    let feed: CallFeedServer;
    beforeAll(async () => {
      feed = await startCallFeedServer({ recordingPath: wav, bearerToken: "feed-token" });
      servers.push(feed);
    });

    it("reads every page since the backfill date, then only what is new", async () => {
      feed.calls.splice(0, feed.calls.length, ...feedCalls("h", 3));
      const source = await newSource("http_pull", {
        url: feed.url,
        bearerToken: "feed-token",
        since: SINCE,
        pageSize: 2,
      });
      expect(JSON.stringify(publicSourceConfig(source.config))).not.toContain("feed-token");
      const first = await runOnly([source.id]);
      expect(first.results[0]).toMatchObject({ pages: 2, accepted: 3, failed: 0 });
      expect(await externalIds(source.id)).toEqual(["h-1", "h-2", "h-3"]);
      expect(feed.requests[0]?.get("since")).toBe(SINCE);
      const row = await sourceRow(source);
      expect(row.lastPullAt).not.toBeNull();
      expect(row.lastPullErrorCode).toBeNull();
      expect(row.pullCursor).toBe("3");

      feed.calls.push(...feedCalls("h-new", 1));
      const second = await runOnly([source.id]);
      expect(second.results[0]).toMatchObject({ accepted: 1, duplicates: 0 });
      expect(await externalIds(source.id)).toHaveLength(4);
      expect(
        (await metrics.pullItems.get()).values.find(
          (v) => v.labels.source_kind === "http_pull" && v.labels.outcome === "accepted",
        )?.value,
      ).toBeGreaterThanOrEqual(4);
    });

    it("resumes after a crash from the page after the last saved cursor, without duplicates", async () => {
      feed.calls.splice(0, feed.calls.length, ...feedCalls("c", 3));
      const source = await newSource("http_pull", {
        url: feed.url,
        bearerToken: "feed-token",
        since: SINCE,
        pageSize: 2,
      });
      const crashed = await runOnly([source.id], {
        afterPage: (_id, page) => {
          if (page === 1) throw new Error("worker killed");
        },
      });
      expect(crashed.results[0]?.error?.code).toBe("INTERNAL");
      expect(await externalIds(source.id)).toEqual(["c-1", "c-2"]);
      expect((await sourceRow(source)).pullCursor).toBe("2");

      const before = feed.requests.length;
      const resumed = await runOnly([source.id]);
      expect(feed.requests[before]?.get("cursor")).toBe("2");
      expect(resumed.results[0]).toMatchObject({ accepted: 1, duplicates: 0 });
      expect(await externalIds(source.id)).toEqual(["c-1", "c-2", "c-3"]);
      expect((await sourceRow(source)).lastPullErrorCode).toBeNull();
    });

    it("stops at PULL_MAX_ITEMS_PER_RUN and takes the rest of the page on the next run", async () => {
      feed.calls.splice(0, feed.calls.length, ...feedCalls("m", 3));
      const source = await newSource("http_pull", { url: feed.url, bearerToken: "feed-token", since: SINCE });
      const bounded = { pull: { ...deps.pull, maxItemsPerRun: 2 } };
      expect((await runOnly([source.id], bounded)).results[0]).toMatchObject({ accepted: 2 });
      expect((await sourceRow(source)).pullCursor).toBeNull();
      expect((await runOnly([source.id], bounded)).results[0]).toMatchObject({ accepted: 1, duplicates: 2 });
      expect(await externalIds(source.id)).toEqual(["m-1", "m-2", "m-3"]);
    });

    it("records SOURCE_AUTH_FAILED and SOURCE_UNAVAILABLE per source and still pulls the others", async () => {
      feed.calls.splice(0, feed.calls.length, ...feedCalls("ok", 1));
      const wrong = await newSource("http_pull", { url: feed.url, bearerToken: "wrong", since: SINCE });
      const down = await newSource("http_pull", { url: "http://127.0.0.1:9/calls", since: SINCE });
      const good = await newSource("http_pull", { url: feed.url, bearerToken: "feed-token", since: SINCE });
      const run = await runOnly([wrong.id, down.id, good.id]);
      expect(run.sources).toBe(3);
      expect(await sourceRow(wrong)).toMatchObject({
        lastPullErrorCode: "SOURCE_AUTH_FAILED",
        pullCursor: null,
      });
      expect(await sourceRow(down)).toMatchObject({ lastPullErrorCode: "SOURCE_UNAVAILABLE" });
      expect((await sourceRow(wrong)).lastPullErrorMessage).not.toContain("wrong");
      expect(await externalIds(wrong.id)).toEqual([]);
      expect(await externalIds(good.id)).toEqual(["ok-1"]);
    });

    it("stops reading a feed answer past 4 MiB while it streams: SOURCE_UNAVAILABLE, nothing taken", async () => {
      let sent = 0;
      const huge = http.createServer((_req, res) => {
        // No Content-Length: the size is only known by counting; 64 KiB chunks, 16 MiB in all.
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"items":[],"pad":"');
        const chunk = "x".repeat(64 * 1024);
        const more = () => {
          while (sent < 16 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", more);
          }
          res.end('"}');
        };
        more();
      });
      await new Promise<void>((r) => huge.listen(0, "127.0.0.1", r));
      servers.push({ close: () => new Promise<void>((r) => huge.close(() => r())) });
      const source = await newSource("http_pull", {
        url: `http://127.0.0.1:${(huge.address() as AddressInfo).port}/calls`,
        since: SINCE,
      });
      const run = await runOnly([source.id]);
      expect(run.results[0]?.error).toMatchObject({ code: "SOURCE_UNAVAILABLE" });
      expect((await sourceRow(source)).lastPullErrorMessage).toMatch(/larger than 4 MiB/);
      expect(sent).toBeLessThan(16 * 1024 * 1024);
    });

    it("two runs at once never pull a source twice: each call is created once", async () => {
      feed.calls.splice(0, feed.calls.length, ...feedCalls("p", 3));
      const a = await newSource("http_pull", {
        url: feed.url,
        bearerToken: "feed-token",
        since: SINCE,
        pageSize: 2,
      });
      const b = await newSource("http_pull", {
        url: feed.url,
        bearerToken: "feed-token",
        since: SINCE,
        pageSize: 2,
      });
      await enableOnly([a.id, b.id]);
      const [r1, r2] = await Promise.all([runPullSources(deps), runPullSources(deps)]);
      const pulled = [...r1.results, ...r2.results].map((r) => r.sourceId).sort();
      expect(pulled).toEqual([a.id, b.id].sort());
      expect(await externalIds(a.id)).toEqual(["p-1", "p-2", "p-3"]);
      expect(await externalIds(b.id)).toEqual(["p-1", "p-2", "p-3"]);
    });
  });

  describe("zadarma", () => {
    let zd: ZadarmaEmulator;
    beforeAll(async () => {
      zd = await startZadarmaEmulator({
        apiKey: "zd-key",
        apiSecret: "zd-secret",
        recordingPath: wav,
        calls: [1, 2, 3, 4].map((i) => ({
          pbx_call_id: `in_${i}`,
          call_id: `${1000 + i}.1`,
          callstart: `2026-02-0${i} 09:00:00`,
          clid: i === 2 ? "101" : "+77010000000",
          destination: i === 2 ? "+77020000000" : "100",
          disposition: "answered",
          seconds: 3,
          is_recorded: i === 4 ? 0 : 1,
        })),
      });
      servers.push(zd);
    });

    it("reads the signed call history page by page and downloads each recording via record/request", async () => {
      const source = await newSource("zadarma", {
        baseUrl: zd.baseUrl,
        apiKey: "zd-key",
        apiSecret: "zd-secret",
        since: SINCE,
        pageSize: 2,
      });
      const run = await runOnly([source.id]);
      // 4 rows (one not recorded) in pages of 2: the third, empty page ends the window.
      expect(run.results[0]).toMatchObject({ pages: 3, accepted: 3, failed: 0 });
      expect(await externalIds(source.id)).toEqual(["in_1", "in_2", "in_3"]);
      expect(zd.statsRequests[0]?.get("start")).toBe("2026-01-01 00:00:00");
      expect(zd.statsRequests[1]?.get("skip")).toBe("2");
      const [outbound] = await queryRows<{ direction: string; client_phone: string }>(
        t.database.db,
        sql`select direction, client_phone from calls where source_id = ${source.id} and external_id = 'in_2'`,
      );
      expect(outbound).toEqual({ direction: "outbound", client_phone: "+77020000000" });
      // The next run asks only for calls after the window already read.
      const again = await runOnly([source.id]);
      expect(again.results[0]).toMatchObject({ accepted: 0, duplicates: 0 });
      expect(zd.statsRequests.at(-1)?.get("start")).not.toBe("2026-01-01 00:00:00");
    });

    it("a wrong key or secret is SOURCE_AUTH_FAILED on the source", async () => {
      const source = await newSource("zadarma", {
        baseUrl: zd.baseUrl,
        apiKey: "zd-key",
        apiSecret: "not-the-secret",
        since: SINCE,
      });
      const run = await runOnly([source.id]);
      expect(run.results[0]?.error?.code).toBe("SOURCE_AUTH_FAILED");
      expect(await sourceRow(source)).toMatchObject({ lastPullErrorCode: "SOURCE_AUTH_FAILED" });
      expect(await externalIds(source.id)).toEqual([]);
    });
  });

  describe("s3_pull", () => {
    let s3: TestS3;
    let client: S3Client;
    const bucket = `pull-${Date.now()}`;
    beforeAll(async () => {
      s3 = await useTestS3();
      servers.push(s3);
      client = new S3Client({
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      const body = await fs.readFile(wav);
      for (const i of [1, 2, 3]) {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: `side/call-${i}.wav`, Body: body }));
        if (i !== 3) {
          await client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: `side/call-${i}.json`,
              Body: JSON.stringify({
                externalId: `s-${i}`,
                direction: "inbound",
                client: { phone: "+77010000001" },
              }),
            }),
          );
        }
      }
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: "named/7001_20260203T101500Z_+77015550000.wav",
          Body: body,
        }),
      );
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: "named/garbage.wav", Body: body }));
    });

    const base = () => ({
      bucket,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      since: SINCE,
    });

    it("takes new objects with sidecar metadata page by page; a recording without its sidecar is failed", async () => {
      const source = await newSource("s3_pull", { ...base(), prefix: "side/", pageSize: 2 });
      const run = await runOnly([source.id]);
      expect(run.results[0]).toMatchObject({ pages: 3, accepted: 2, failed: 1 });
      expect(await externalIds(source.id)).toEqual(["s-1", "s-2"]);
      const row = await sourceRow(source);
      expect(row).toMatchObject({
        pullCursor: "side/call-3.wav",
        pullFailed: 1,
        lastPullErrorCode: "VALIDATION_FAILED",
      });
      const again = await runOnly([source.id]);
      expect(again.results[0]).toMatchObject({ accepted: 0, failed: 0 });
    });

    it("reads metadata from the file name with fileNamePattern", async () => {
      for (const fileNamePattern of ["(", "^(?<operator>\\d+)_.*\\.wav$", undefined]) {
        expect(() =>
          sealPullConfig(
            "s3_pull",
            { ...base(), metadata: "filename", fileNamePattern },
            APP_SECRET,
            new Date(),
          ),
        ).toThrow(/invalid/);
      }
      const fixed = await newSource("s3_pull", {
        ...base(),
        prefix: "named/",
        metadata: "filename",
        fileNamePattern:
          "^(?<externalId>(?<operator>\\d+)_(?<startedAt>\\d{8}T\\d{6}Z)_(?<phone>\\+\\d+))\\.wav$",
      });
      const ok = await runOnly([fixed.id]);
      expect(ok.results[0]).toMatchObject({ accepted: 1, failed: 1 });
      const [row] = await queryRows<{
        external_id: string;
        started_at: Date;
        client_phone: string;
        operator_external_id: string;
      }>(
        t.database.db,
        sql`select external_id, started_at, client_phone, operator_external_id from calls where source_id = ${fixed.id}`,
      );
      expect(row).toMatchObject({ client_phone: "+77015550000", operator_external_id: "7001" });
      expect(new Date(row!.started_at).toISOString()).toBe("2026-02-03T10:15:00.000Z");
    });

    it("runs fileNamePattern in linear time: a catastrophic-backtracking pattern cannot stall the worker", async () => {
      // (a+)+$ on "aaa…ab" takes 2^n steps in a backtracking engine: with n = 60 it would never finish.
      const evilName = `${"a".repeat(60)}b.wav`;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `redos/${evilName}`, Body: "x" }));
      const source = await newSource("s3_pull", {
        ...base(),
        prefix: "redos/",
        metadata: "filename",
        fileNamePattern: "^(?<externalId>(a+)+)$",
      });
      const started = performance.now();
      const run = await runOnly([source.id]);
      expect(performance.now() - started).toBeLessThan(5000);
      expect(run.results[0]).toMatchObject({ accepted: 0, failed: 1 });
      // Look-arounds and back-references (what RE2 cannot run in linear time) are refused at create time.
      for (const fileNamePattern of ["^(?<externalId>\\d+)(?=_)", "^(?<externalId>(\\d)\\2+)"]) {
        expect(() =>
          sealPullConfig(
            "s3_pull",
            { ...base(), metadata: "filename", fileNamePattern },
            APP_SECRET,
            new Date(),
          ),
        ).toThrow(/invalid/);
      }
    });

    it("refuses a sidecar over 64 KiB without reading it whole", async () => {
      const body = await fs.readFile(wav);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: "bigside/call-1.wav", Body: body }));
      const big = JSON.stringify({ externalId: "big-1", pad: "x".repeat(8 * 1024 * 1024) });
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: "bigside/call-1.json", Body: big }));
      const source = await newSource("s3_pull", { ...base(), prefix: "bigside/" });
      const run = await runOnly([source.id]);
      expect(run.results[0]).toMatchObject({ accepted: 0, failed: 1 });
      expect((await sourceRow(source)).lastPullErrorMessage).toMatch(/sidecar/);
    });

    it("wrong credentials are SOURCE_AUTH_FAILED", async () => {
      // s3rver does not verify V4 signatures, only that the access key exists: use an unknown key.
      const source = await newSource("s3_pull", { ...base(), accessKeyId: "NOT-A-KEY" });
      const run = await runOnly([source.id]);
      expect(run.results[0]?.error?.code).toBe("SOURCE_AUTH_FAILED");
    });
  });
});
