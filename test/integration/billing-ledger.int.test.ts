import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantWelcomeBonus } from "../../shared/billing/balance.ts";
import { voidBonusIfDue } from "../../shared/billing/bonus-expiry.ts";
import { createLedgerCallBilling } from "../../shared/billing/call-charges.ts";
import { creditTopUp, debitRefund } from "../../shared/billing/top-up.ts";
import { queryRows } from "../../shared/db/client.ts";
import type { AccountRow } from "../../shared/db/repositories/accounts.repository.ts";
import { findCall, insertCallOnce, lockCall } from "../../shared/db/repositories/calls.repository.ts";
import { findLedgerViolations, sumBalances } from "../../shared/db/repositories/ledger.repository.ts";
import { createTemplate } from "../../shared/db/repositories/templates.repository.ts";
import { createLogger } from "../../shared/logging/logger.ts";
import { Money } from "../../shared/money/money.ts";
import { resumeAwaitingCallsJob, transcribeCallJob } from "../../shared/queue/job-definitions.ts";
import { createJobQueue, type JobQueue } from "../../shared/queue/job-queue.ts";
import { createTestDatabase, type TestDatabase } from "../harness/test-database.ts";

const billing = createLedgerCallBilling();
const kzt = (a: string) => Money.of(a, "KZT");

let t: TestDatabase;
let queue: JobQueue;

beforeAll(async () => {
  t = await createTestDatabase();
  queue = createJobQueue(t.database, createLogger({ level: "silent" }));
  await queue.start();
  await queue.register(resumeAwaitingCallsJob);
  // The resume step sends the next step's job (pg-boss 12 refuses a queue nobody created).
  await queue.register(transcribeCallJob);
});
afterAll(async () => {
  await queue?.stop(1000);
  await t?.drop();
});

const db = () => t.database.db;

/** An account with the welcome bonus (1000 KZT) and no templates: calls cost 3.00 KZT per minute. */
async function newAccount(createdAt = new Date()): Promise<AccountRow> {
  const [row] = await queryRows<{ id: string }>(
    db(),
    sql`insert into accounts (company, currency, created_at) values ('Acme', 'KZT', ${createdAt.toISOString()}::timestamptz) returning id`,
  );
  const account = { id: row!.id, company: "Acme", currency: "KZT", createdAt } as AccountRow;
  await grantWelcomeBonus(db(), account, createdAt);
  return account;
}

async function newCall(accountId: string, durationSec: number) {
  const { call } = await insertCallOnce(db(), { accountId, durationSec, status: "received" });
  return call;
}

/** Reserves inside a transaction holding the call's row lock, as the pipeline does. */
const reserve = (accountId: string, callId: string, now = new Date()) =>
  db().transaction(async (tx) => {
    const call = await lockCall(tx, accountId, callId);
    return (await billing.reserve(tx, call!, now)).outcome;
  });
const settle = (accountId: string, callId: string) =>
  db().transaction(async (tx) => billing.settle(tx, (await lockCall(tx, accountId, callId))!, new Date()));
const release = (accountId: string, callId: string) =>
  db().transaction(async (tx) => billing.release(tx, (await lockCall(tx, accountId, callId))!, new Date()));

async function balances(accountId: string) {
  const s = await sumBalances(db(), accountId, "KZT");
  return { main: s.main.toFixed(), bonus: s.bonus.toFixed(), held: s.hold_main.plus(s.hold_bonus).toFixed() };
}

describe("two-phase charging on the ledger", () => {
  it("reserves bonus first, then main; settles into a charge; the call shows its cost", async () => {
    const account = await newAccount();
    await db().transaction((tx) =>
      creditTopUp(tx, queue, {
        accountId: account.id,
        amount: kzt("10"),
        channel: "card",
        idempotencyKey: `t-${account.id}`,
        occurredAt: new Date(),
      }),
    );
    // An active template with no questions: 3.00 + 5.00 = 8.00 KZT per minute.
    await createTemplate(db(), {
      accountId: account.id,
      name: "T",
      provider: "rules",
      active: true,
      questions: [],
    });
    const big = await newCall(account.id, 60 * 126 + 1); // 127 min × 8.00 = 1016.00 > 1010.00 → waits
    expect(await reserve(account.id, big.id)).toBe("awaiting_funds");
    expect(await balances(account.id)).toEqual({ main: "10.00", bonus: "1000.00", held: "0.00" });
    const c1 = await newCall(account.id, 60 * 124); // 124 min × 8.00 = 992.00, all from the bonus
    expect(await reserve(account.id, c1.id)).toBe("reserved");
    expect(await balances(account.id)).toEqual({ main: "10.00", bonus: "8.00", held: "992.00" });
    const c2 = await newCall(account.id, 61); // 2 min × 8.00 = 16.00: the bonus's last 8.00, then 8.00 of main
    expect(await reserve(account.id, c2.id)).toBe("reserved");
    expect(await balances(account.id)).toEqual({ main: "2.00", bonus: "0.00", held: "1008.00" });
    await settle(account.id, c1.id);
    await release(account.id, c2.id);
    expect(await balances(account.id)).toEqual({ main: "10.00", bonus: "8.00", held: "0.00" });
    const call = await findCall(db(), account.id, c1.id);
    expect(call).toMatchObject({
      costMinutes: 124,
      costStatus: "charged",
      costCurrency: "KZT",
      costAmount: "992.000000",
    });
    expect(await findLedgerViolations(db())).toEqual([]);
  });

  it("is idempotent: a repeated reserve, settle or release moves nothing twice", async () => {
    const account = await newAccount();
    const call = await newCall(account.id, 90);
    expect(await reserve(account.id, call.id)).toBe("reserved");
    expect(await reserve(account.id, call.id)).toBe("reserved");
    await settle(account.id, call.id);
    await settle(account.id, call.id);
    await release(account.id, call.id);
    expect(await balances(account.id)).toEqual({ main: "0.00", bonus: "994.00", held: "0.00" });
  });

  it("lets exactly K of N parallel reservations through when the balance covers exactly K", async () => {
    const account = await newAccount();
    // 1000 bonus; each call 61 s → 2 min × 3.00 = 6.00; 1000 / 6 = 166 calls fit, 4.00 left over.
    const calls = await Promise.all(Array.from({ length: 180 }, () => newCall(account.id, 61)));
    const outcomes = await Promise.all(calls.map((c) => reserve(account.id, c.id)));
    expect(outcomes.filter((o) => o === "reserved")).toHaveLength(166);
    expect(outcomes.filter((o) => o === "awaiting_funds")).toHaveLength(14);
    expect(await balances(account.id)).toEqual({ main: "0.00", bonus: "4.00", held: "996.00" });
    expect(await findLedgerViolations(db())).toEqual([]);
  });

  it("settles or releases a hold exactly once when both race", async () => {
    const account = await newAccount();
    const calls = await Promise.all(Array.from({ length: 20 }, () => newCall(account.id, 60)));
    for (const c of calls) await reserve(account.id, c.id);
    await Promise.allSettled(
      calls.flatMap((c) => [settle(account.id, c.id), release(account.id, c.id), settle(account.id, c.id)]),
    );
    const rows = await queryRows<{ n: number }>(
      db(),
      sql`select count(*)::int as n from ledger_transactions where account_id = ${account.id} and type in ('charge', 'release')`,
    );
    expect(rows[0]!.n).toBe(20);
    const b = await balances(account.id);
    expect(b.held).toBe("0.00");
    expect(Number.parseInt(b.bonus, 10) % 3).toBe(1); // 1000 − 3 × charged: each call either paid 3.00 or got it back
    expect(await findLedgerViolations(db())).toEqual([]);
  });

  it("refuses any path to a negative balance in the database itself", async () => {
    const account = await newAccount();
    await expect(
      db().transaction((tx) =>
        debitRefund(tx, {
          accountId: account.id,
          amount: kzt("0.01"),
          refundId: crypto.randomUUID(),
          occurredAt: new Date(),
        }),
      ),
    ).rejects.toSatisfy((e: Error) =>
      String((e.cause as Error | undefined)?.message ?? e.message).includes(
        "ledger_accounts_customer_nonnegative",
      ),
    );
    await expect(
      db().execute(sql`update ledger_accounts set balance = 5 where account_id = ${account.id}`),
    ).rejects.toThrow();
    expect(await balances(account.id)).toEqual({ main: "0.00", bonus: "1000.00", held: "0.00" });
  });
});

describe("welcome bonus at the day-8 boundary (Astana time)", () => {
  // Registered 2026-03-01 23:59 Astana = 18:59Z; day 8 starts 2026-03-08 00:00 +05:00 = 2026-03-07T19:00:00Z.
  const registered = new Date("2026-03-01T18:59:00Z");

  it("voids at 19:00:00Z on day 7/8, not at 18:59:59Z", async () => {
    const account = await newAccount(registered);
    expect(
      await db().transaction((tx) => voidBonusIfDue(tx, account, new Date("2026-03-07T18:59:59Z"))),
    ).toBeNull();
    expect(
      (
        await db().transaction((tx) => voidBonusIfDue(tx, account, new Date("2026-03-07T19:00:00Z")))
      )?.toFixed(),
    ).toBe("1000.00");
    expect(await balances(account.id)).toEqual({ main: "0.00", bonus: "0.00", held: "0.00" });
  });

  it("keeps the bonus of an account that was charged before the deadline", async () => {
    const account = await newAccount(registered);
    const call = await newCall(account.id, 60);
    expect(await reserve(account.id, call.id, new Date("2026-03-07T18:59:59Z"))).toBe("reserved");
    expect(
      await db().transaction((tx) => voidBonusIfDue(tx, account, new Date("2026-03-09T00:00:00Z"))),
    ).toBeNull();
  });

  it("does not let a call reserved after the deadline spend the voidable bonus, whichever runs first", async () => {
    for (let round = 0; round < 5; round++) {
      const account = await newAccount(registered);
      const call = await newCall(account.id, 60);
      const at = new Date("2026-03-07T19:00:00Z");
      const [outcome] = await Promise.all([
        reserve(account.id, call.id, at),
        db().transaction((tx) => voidBonusIfDue(tx, account, at)),
      ]);
      expect(outcome).toBe("awaiting_funds");
      expect(await balances(account.id)).toEqual({ main: "0.00", bonus: "0.00", held: "0.00" });
    }
    expect(await findLedgerViolations(db())).toEqual([]);
  });
});

describe("ledger invariants under random operations (property)", () => {
  it("keeps every balance equal to its entries, nothing negative, money neither made nor lost", async () => {
    type Op =
      | { kind: "topUp"; cents: number }
      | { kind: "call"; seconds: number }
      | { kind: "settle"; pick: number }
      | { kind: "release"; pick: number }
      | { kind: "refund"; cents: number }
      | { kind: "void"; days: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("topUp" as const), cents: fc.integer({ min: 1, max: 500_00 }) }),
      fc.record({ kind: fc.constant("call" as const), seconds: fc.integer({ min: 0, max: 3 * 3600 }) }),
      fc.record({ kind: fc.constant("settle" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("refund" as const), cents: fc.integer({ min: 1, max: 300_00 }) }),
      fc.record({ kind: fc.constant("void" as const), days: fc.integer({ min: 0, max: 10 }) }),
    );
    const cents = (n: number) => kzt((n / 100).toFixed(2));
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const registered = new Date("2026-05-01T06:00:00Z");
        const account = await newAccount(registered);
        // The model: plain decimal sums, independent of the ledger code.
        let deposited = Money.zero("KZT");
        let bonusLeft = kzt("1000");
        let billingEvent = false;
        let spent = Money.zero("KZT");
        let refunded = Money.zero("KZT");
        const held: { id: string; cost: Money }[] = [];
        for (const o of ops) {
          if (o.kind === "topUp") {
            await db().transaction((tx) =>
              creditTopUp(tx, queue, {
                accountId: account.id,
                amount: cents(o.cents),
                channel: "card",
                idempotencyKey: crypto.randomUUID(),
                occurredAt: registered,
              }),
            );
            deposited = deposited.plus(cents(o.cents));
            billingEvent = true;
          } else if (o.kind === "call") {
            const call = await newCall(account.id, o.seconds);
            const outcome = await reserve(account.id, call.id, registered);
            const minutes = o.seconds < 1 ? 0 : Math.ceil(o.seconds / 60);
            const cost = kzt("3").times(minutes);
            const available = deposited
              .plus(bonusLeft)
              .minus(spent)
              .minus(refunded)
              .minus(held.reduce((s, h) => s.plus(h.cost), Money.zero("KZT")));
            if (minutes === 0) expect(outcome).toBe("free");
            else if (available.compare(cost) >= 0) {
              expect(outcome).toBe("reserved");
              held.push({ id: call.id, cost });
              billingEvent = true;
            } else expect(outcome).toBe("awaiting_funds");
          } else if ((o.kind === "settle" || o.kind === "release") && held.length > 0) {
            const [h] = held.splice(o.pick % held.length, 1);
            if (o.kind === "settle") {
              await settle(account.id, h!.id);
              spent = spent.plus(h!.cost);
            } else await release(account.id, h!.id);
          } else if (o.kind === "refund") {
            const s = await sumBalances(db(), account.id, "KZT");
            const attempt = db().transaction((tx) =>
              debitRefund(tx, {
                accountId: account.id,
                amount: cents(o.cents),
                refundId: crypto.randomUUID(),
                occurredAt: registered,
              }),
            );
            if (s.main.compare(cents(o.cents)) >= 0) {
              await attempt;
              refunded = refunded.plus(cents(o.cents));
            } else await expect(attempt).rejects.toThrow();
          } else if (o.kind === "void") {
            const voided = await db().transaction((tx) =>
              voidBonusIfDue(tx, account, new Date(registered.getTime() + o.days * 86_400_000)),
            );
            // Registered 11:00 Astana on day 1: day 8 has started 7 × 24 h later, not 6 × 24 h later.
            const due = o.days >= 7 && !billingEvent && bonusLeft.isPositive();
            expect(voided?.toFixed() ?? null).toBe(due ? bonusLeft.toFixed() : null);
            if (due) bonusLeft = Money.zero("KZT");
          }
          const s = await sumBalances(db(), account.id, "KZT");
          for (const v of Object.values(s)) expect(v.isNegative()).toBe(false);
          const total = s.main.plus(s.bonus).plus(s.hold_main).plus(s.hold_bonus);
          // Money is neither created nor lost: what is on the account = unvoided bonus + deposits − charges − refunds.
          expect(total.toFixed()).toBe(bonusLeft.plus(deposited).minus(spent).minus(refunded).toFixed());
        }
        expect(await findLedgerViolations(db())).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });
});

describe("suspension", () => {
  it("resumes waiting calls after a top-up, oldest first, as far as the money goes", async () => {
    const { resumeAwaitingCalls } = await import("../../services/pipeline/steps/resume-awaiting.step.ts");
    const account = await newAccount();
    await voidAll(account);
    const calls = [];
    for (const minutes of [2, 1, 3]) {
      const call = await newCall(account.id, minutes * 60);
      expect(await reserve(account.id, call.id)).toBe("awaiting_funds");
      await db().execute(sql`update calls set status = 'awaiting_funds' where id = ${call.id}`);
      calls.push(call);
    }
    await db().transaction((tx) =>
      creditTopUp(tx, queue, {
        accountId: account.id,
        amount: kzt("10.00"),
        channel: "card",
        idempotencyKey: crypto.randomUUID(),
        occurredAt: new Date(),
      }),
    );
    const deps = {
      database: t.database,
      billing,
      queue,
      clock: () => new Date(),
      logger: createLogger({ level: "silent" }),
    };
    // 10.00 covers the oldest (6.00) and the next (3.00); the third (9.00) waits for the next top-up.
    const { resumed } = await resumeAwaitingCalls(deps as never, account.id);
    expect(resumed).toBe(2);
    const statuses = await Promise.all(
      calls.map((c) => findCall(db(), account.id, c.id).then((r) => r?.status)),
    );
    expect(statuses).toEqual(["processing", "processing", "awaiting_funds"]);
    expect(await balances(account.id)).toEqual({ main: "1.00", bonus: "0.00", held: "9.00" });
  });
});

async function voidAll(account: AccountRow) {
  const old = new Date(account.createdAt.getTime() - 30 * 86_400_000);
  await db().transaction((tx) => voidBonusIfDue(tx, { ...account, createdAt: old }, new Date()));
}
