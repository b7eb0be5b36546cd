import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabaseOf, databaseKinds, type TestDatabase } from "../../../test/harness/test-database.ts";
import { Money } from "../../money/money.ts";
import { accounts, calls } from "../schema/index.ts";
import { createAccount } from "./accounts.repository.ts";
import { insertCallOnce } from "./calls.repository.ts";
import {
  createProviderUsage,
  findProviderCostTotals,
  findProviderUsageOfCall,
} from "./provider-usage.repository.ts";

describe.each(databaseKinds)("provider usage on %s", (kind) => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await createDatabaseOf(kind);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("new accounts get automatic language and the server's provider orders", async () => {
    const account = await createAccount(t.database.db, { company: "Acme", currency: "KZT" });
    expect(account).toMatchObject({ speechLanguage: "auto", speechProviders: [], analysisProviders: [] });
    await t.database.db
      .update(accounts)
      .set({ speechLanguage: "kk", speechProviders: ["yandex", "openai"], analysisProviders: ["rules"] })
      .where(eq(accounts.id, account.id));
    const [row] = await t.database.db.select().from(accounts).where(eq(accounts.id, account.id));
    expect(row).toMatchObject({
      speechLanguage: "kk",
      speechProviders: ["yandex", "openai"],
      analysisProviders: ["rules"],
    });
    await expect(
      t.database.db
        .update(accounts)
        .set({ speechLanguage: "de" as "ru" })
        .where(eq(accounts.id, account.id)),
    ).rejects.toThrow();
  });

  it("stores exact costs per call, keeps them when the call is deleted, and sums them per provider", async () => {
    const account = await createAccount(t.database.db, { company: "Usage Co", currency: "KZT" });
    const other = await createAccount(t.database.db, { company: "Other", currency: "USD" });
    const { call } = await insertCallOnce(t.database.db, { accountId: account.id });
    const from = new Date(Date.now() - 60_000);

    await createProviderUsage(t.database.db, {
      accountId: account.id,
      callId: call.id,
      kind: "speech",
      provider: "openai",
      ourCost: Money.of("0", "USD"),
      attempts: 3,
      outcome: "failed",
      errorCode: "TRANSCRIPTION_FAILED",
    });
    const ok = await createProviderUsage(t.database.db, {
      accountId: account.id,
      callId: call.id,
      kind: "speech",
      provider: "yandex",
      audioSec: 61.25,
      ourCost: Money.of("0.173542", "RUB"),
      attempts: 1,
      outcome: "ok",
    });
    expect(ok.ourCost.toDbString()).toBe("0.173542");
    expect(ok.ourCost.currency).toBe("RUB");
    await createProviderUsage(t.database.db, {
      accountId: account.id,
      callId: call.id,
      kind: "analysis",
      provider: "openai",
      inputTokens: 1200,
      outputTokens: 300,
      ourCost: Money.of("0.000001", "USD"),
      attempts: 1,
      outcome: "ok",
    });
    await createProviderUsage(t.database.db, {
      accountId: account.id,
      kind: "analysis",
      provider: "openai",
      inputTokens: 800,
      outputTokens: 100,
      ourCost: Money.of("0.000002", "USD"),
      attempts: 2,
      outcome: "ok",
    });
    await createProviderUsage(t.database.db, {
      accountId: other.id,
      kind: "speech",
      provider: "yandex",
      audioSec: 10,
      ourCost: Money.of("5", "RUB"),
      attempts: 1,
      outcome: "ok",
    });

    const ofCall = await findProviderUsageOfCall(t.database.db, account.id, call.id);
    expect(ofCall.map((u) => [u.kind, u.provider, u.outcome, u.attempts])).toEqual([
      ["speech", "openai", "failed", 3],
      ["speech", "yandex", "ok", 1],
      ["analysis", "openai", "ok", 1],
    ]);
    expect(await findProviderUsageOfCall(t.database.db, other.id, call.id)).toEqual([]);

    const to = new Date(Date.now() + 60_000);
    const totals = await findProviderCostTotals(t.database.db, { accountId: account.id, from, to });
    expect(
      totals.map((r) => ({
        kind: r.kind,
        provider: r.provider,
        uses: r.uses,
        failures: r.failures,
        attempts: r.attempts,
        audioSec: r.audioSec,
        tokens: [r.inputTokens, r.outputTokens],
        cost: r.ourCost.toString(),
        exact: r.ourCost.toDbString(),
      })),
    ).toEqual([
      {
        kind: "analysis",
        provider: "openai",
        uses: 2,
        failures: 0,
        attempts: 3,
        audioSec: 0,
        tokens: [2000, 400],
        cost: "0.00 USD",
        exact: "0.000003",
      },
      {
        kind: "speech",
        provider: "openai",
        uses: 1,
        failures: 1,
        attempts: 3,
        audioSec: 0,
        tokens: [0, 0],
        cost: "0.00 USD",
        exact: "0.000000",
      },
      {
        kind: "speech",
        provider: "yandex",
        uses: 1,
        failures: 0,
        attempts: 1,
        audioSec: 61.25,
        tokens: [0, 0],
        cost: "0.17 RUB",
        exact: "0.173542",
      },
    ]);
    const everyone = await findProviderCostTotals(t.database.db, { from, to });
    expect(everyone.find((r) => r.kind === "speech" && r.provider === "yandex")?.ourCost.toDbString()).toBe(
      "5.173542",
    );

    // Retention deletes calls; what we paid stays, detached from the call.
    await t.database.db.delete(calls).where(eq(calls.id, call.id));
    const after = await findProviderCostTotals(t.database.db, { accountId: account.id, from, to });
    expect(after.reduce((n, r) => n + r.uses, 0)).toBe(4);
  });

  it("refuses a negative cost", async () => {
    const account = await createAccount(t.database.db, { company: "Strict", currency: "KZT" });
    await expect(
      createProviderUsage(t.database.db, {
        accountId: account.id,
        kind: "speech",
        provider: "openai",
        ourCost: Money.of("-1", "USD"),
        attempts: 1,
        outcome: "ok",
      }),
    ).rejects.toThrow();
  });
});
