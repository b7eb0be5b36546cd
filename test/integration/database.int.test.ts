import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantWelcomeBonus } from "../../shared/billing/balance.ts";
import { voidExpiredBonuses } from "../../shared/billing/bonus-expiry.ts";
import { queryRows } from "../../shared/db/client.ts";
import { createAccount, createUser } from "../../shared/db/repositories/accounts.repository.ts";
import { findCalls, insertCallOnce } from "../../shared/db/repositories/calls.repository.ts";
import { ensureLedgerAccount, sumBalances } from "../../shared/db/repositories/ledger.repository.ts";
import { createSource } from "../../shared/db/repositories/sources.repository.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { Money } from "../../shared/money/money.ts";
import { probeCallJob } from "../../shared/queue/job-definitions.ts";
import { createJobQueue, type JobQueue } from "../../shared/queue/job-queue.ts";
import { createDatabaseOf, databaseKinds, type TestDatabase } from "../harness/test-database.ts";

describe.each(databaseKinds)("database on %s", (kind) => {
  let t: TestDatabase;
  let queue: JobQueue;

  beforeAll(async () => {
    t = await createDatabaseOf(kind);
    queue = createJobQueue(t.database, createLogger({ level: "silent" }));
    await queue.start();
    await queue.register(probeCallJob);
  });
  afterAll(async () => {
    await queue?.stop(1000);
    await t?.drop();
  });

  const newAccount = () => createAccount(t.database.db, { company: "Acme", currency: "KZT" });

  it("has every migration applied and the default tariffs seeded", async () => {
    const rows = await queryRows<{ currency: string; transcription: string }>(
      t.database.db,
      sql`select currency, transcription_per_minute::text as transcription from tariffs order by currency`,
    );
    expect(rows).toEqual([
      { currency: "KZT", transcription: "3.000000" },
      { currency: "RUB", transcription: "0.600000" },
      { currency: "USD", transcription: "0.006000" },
    ]);
  });

  it("refuses a second user with the same e-mail, whatever the case", async () => {
    const account = await newAccount();
    const email = `Owner-${kind}@Example.com`;
    expect(
      await createUser(t.database.db, { accountId: account.id, email, passwordHash: "x", role: "owner" }),
    ).toBeDefined();
    expect(
      await createUser(t.database.db, {
        accountId: account.id,
        email: email.toLowerCase(),
        passwordHash: "x",
        role: "owner",
      }),
    ).toBeUndefined();
  });

  it("enqueues a job only when its transaction commits", async () => {
    const account = await newAccount();
    const before = (await queue.counts(probeCallJob.name)).created ?? 0;
    await expect(
      t.database.db.transaction(async (tx) => {
        await queue.send(probeCallJob, { accountId: account.id, callId: crypto.randomUUID() }, { tx });
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect((await queue.counts(probeCallJob.name)).created ?? 0).toBe(before);
    await t.database.db.transaction(async (tx) => {
      await queue.send(probeCallJob, { accountId: account.id, callId: crypto.randomUUID() }, { tx });
    });
    expect((await queue.counts(probeCallJob.name)).created ?? 0).toBe(before + 1);
  });

  it("keeps one call per (source, externalId) and scopes lists by account", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const source = await createSource(t.database.db, {
      accountId: a.id,
      name: "pbx",
      kind: "push",
      tokenHash: `h-${crypto.randomUUID()}`,
      signingSecretEnc: "x",
    });
    const first = await insertCallOnce(t.database.db, {
      accountId: a.id,
      sourceId: source.id,
      externalId: "ext-1",
    });
    const again = await insertCallOnce(t.database.db, {
      accountId: a.id,
      sourceId: source.id,
      externalId: "ext-1",
    });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ duplicate: true, call: { id: first.call.id } });
    expect((await findCalls(t.database.db, a.id, { limit: 10 })).map((c) => c.id)).toEqual([first.call.id]);
    expect(await findCalls(t.database.db, b.id, { limit: 10 })).toEqual([]);
  });

  it("refuses to update or delete ledger rows and refuses unbalanced transactions", async () => {
    const account = await newAccount();
    await grantWelcomeBonus(t.database.db, account, new Date());
    await expect(t.database.db.execute(sql`update ledger_entries set amount = amount * 2`)).rejects.toThrow();
    await expect(t.database.db.execute(sql`delete from ledger_transactions`)).rejects.toThrow();
    const bonus = await ensureLedgerAccount(t.database.db, account.id, "bonus", "KZT");
    await expect(
      t.database.db.transaction(async (tx) => {
        const [row] = await queryRows<{ id: string }>(
          tx,
          sql`insert into ledger_transactions (account_id, type, idempotency_key) values (${account.id}, 'top_up', ${`bad-${kind}`}) returning id`,
        );
        await tx.execute(
          sql`insert into ledger_entries (transaction_id, ledger_account_id, amount, currency) values (${row!.id}, ${bonus}, 5, 'KZT')`,
        );
      }),
    ).rejects.toThrow();
    const sums = await sumBalances(t.database.db, account.id, "KZT");
    expect(sums.bonus.toFixed()).toBe("1000.00");
  });

  it("grants the welcome bonus exactly once, even when asked concurrently", async () => {
    const account = await newAccount();
    await Promise.allSettled(
      Array.from({ length: 5 }, () => grantWelcomeBonus(t.database.db, account, new Date())),
    );
    const sums = await sumBalances(t.database.db, account.id, "KZT");
    expect(sums.bonus.toFixed()).toBe("1000.00");
    const [issued] = await queryRows<{ total: string }>(
      t.database.db,
      sql`select coalesce(sum(amount), 0)::text as total from ledger_entries`,
    );
    expect(Money.of(issued!.total.replace(/\.?0+$/, "") || "0", "KZT").isZero()).toBe(true);
  });

  it("voids the bonus at the start of day 8 in Astana time, once", async () => {
    // Registered 2026-03-01 23:30 Astana (18:30 UTC): day 8 starts 2026-03-08 00:00 +05:00.
    const [account] = await queryRows<{ id: string }>(
      t.database.db,
      sql`insert into accounts (company, currency, created_at) values ('Late', 'KZT', '2026-03-01T18:30:00Z') returning id`,
    );
    const row = { id: account!.id, company: "Late", currency: "KZT" } as Parameters<
      typeof grantWelcomeBonus
    >[1];
    await grantWelcomeBonus(t.database.db, row, new Date("2026-03-01T18:30:00Z"));
    const justBefore = await voidExpiredBonuses(t.database.db, new Date("2026-03-07T18:59:59Z"));
    expect(justBefore.voided.map((v) => v.accountId)).not.toContain(account!.id);
    const justAfter = await voidExpiredBonuses(t.database.db, new Date("2026-03-07T19:00:00Z"));
    expect(justAfter.voided).toContainEqual({ accountId: account!.id, amount: "1000.00" });
    const again = await voidExpiredBonuses(t.database.db, new Date("2026-03-09T00:00:00Z"));
    expect(again.voided.map((v) => v.accountId)).not.toContain(account!.id);
    expect((await sumBalances(t.database.db, account!.id, "KZT")).bonus.isZero()).toBe(true);
  });
});
