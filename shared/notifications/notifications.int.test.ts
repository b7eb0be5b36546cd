import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestSmtpServer, type TestSmtpServer } from "../../test/harness/smtp-server.ts";
import { createTestDatabase, type TestDatabase } from "../../test/harness/test-database.ts";
import { grantWelcomeBonus } from "../billing/balance.ts";
import { createLedgerCallBilling } from "../billing/call-charges.ts";
import { creditTopUp } from "../billing/top-up.ts";
import {
  type AccountRow,
  createAccount,
  createUser,
  getAccount,
} from "../db/repositories/accounts.repository.ts";
import { insertCallOnce, lockCall, updateCall } from "../db/repositories/calls.repository.ts";
import { createSource } from "../db/repositories/sources.repository.ts";
import { accounts, invoicePayments, invoices, notifications } from "../db/schema/index.ts";
import { AppError } from "../errors/app-error.ts";
import { createLogger } from "../logging/logger.ts";
import { Money } from "../money/money.ts";
import { createSmtpMailer, parseSmtpUrl } from "../providers/mail/smtp-mailer.ts";
import { resumeAwaitingCallsJob } from "../queue/job-definitions.ts";
import { createJobQueue, type JobQueue } from "../queue/job-queue.ts";
import {
  type NotificationDeps,
  notifyBonusAboutToBeVoided,
  notifyInvoicePaid,
  notifyLowBalance,
  notifySuspended,
  runLowBalanceNotifications,
} from "./notifications.ts";

const FROM = "Tyndau <no-reply@tyndau.kz>";
const logger = createLogger({ level: "silent" });
const billing = createLedgerCallBilling();
const kzt = (a: string) => Money.of(a, "KZT");

let t: TestDatabase;
let queue: JobQueue;
let smtp: TestSmtpServer;
let deps: NotificationDeps;

beforeAll(async () => {
  t = await createTestDatabase();
  queue = createJobQueue(t.database, logger);
  await queue.start();
  await queue.register(resumeAwaitingCallsJob);
  smtp = await startTestSmtpServer();
  deps = { db: t.database.db, mailer: createSmtpMailer({ url: smtp.url, from: FROM }), logger };
});
// The job scans every active account: close each test's accounts so the next test counts only its own.
afterEach(async () => {
  await db().update(accounts).set({ status: "closed" }).where(eq(accounts.status, "active"));
});
afterAll(async () => {
  await queue?.stop(1000);
  await smtp?.close();
  await t?.drop();
});

const db = () => t.database.db;

let seq = 0;

/** An account with the welcome bonus (1000 KZT; calls cost 3.00 KZT a minute), two owners and a manager. */
async function newAccount(options: { threshold?: string; createdAt?: Date } = {}) {
  const n = ++seq;
  const created = await createAccount(db(), { company: `Acme ${n}`, currency: "KZT" });
  await db()
    .update(accounts)
    .set({
      lowBalanceThreshold: options.threshold ?? null,
      ...(options.createdAt ? { createdAt: options.createdAt } : {}),
    })
    .where(eq(accounts.id, created.id));
  const owners = [`owner-b-${n}@example.kz`, `owner-a-${n}@example.kz`];
  const manager = `manager-${n}@example.kz`;
  for (const email of owners)
    await createUser(db(), { accountId: created.id, email, passwordHash: "x", role: "owner" });
  await createUser(db(), { accountId: created.id, email: manager, passwordHash: "x", role: "manager" });
  const account = (await getAccount(db(), created.id)) as AccountRow;
  await grantWelcomeBonus(db(), account, options.createdAt ?? new Date());
  return { account, owners, manager };
}

/** A call of `minutes` reserved as the pipeline's probe step does; a call it cannot cover waits for funds. */
async function makeCall(accountId: string, minutes: number, now = new Date()) {
  const { call } = await insertCallOnce(db(), { accountId, durationSec: minutes * 60, status: "received" });
  return db().transaction(async (tx) => {
    const locked = await lockCall(tx, accountId, call.id);
    const { outcome } = await billing.reserve(tx, locked!, now);
    await updateCall(tx, accountId, call.id, {
      status: outcome === "awaiting_funds" ? "awaiting_funds" : "processing",
    });
    return outcome;
  });
}

async function topUp(accountId: string, amount: string, at = new Date()): Promise<string> {
  const { transactionId } = await db().transaction((tx) =>
    creditTopUp(tx, queue, {
      accountId,
      amount: kzt(amount),
      channel: "card",
      idempotencyKey: `test-top-up:${randomUUID()}`,
      occurredAt: at,
    }),
  );
  return transactionId;
}

const notificationRows = (accountId: string) =>
  db()
    .select()
    .from(notifications)
    .where(eq(notifications.accountId, accountId))
    .orderBy(notifications.createdAt, notifications.dedupeKey);

const none = { lowBalance: 0, suspended: 0, bonusDay5: 0, invoicePaid: 0, failed: 0 };

describe("low balance", () => {
  it("warns the owners once per crossing of the threshold, never a manager", async () => {
    const { account, owners, manager } = await newAccount({ threshold: "500" });
    const [owner] = owners;
    const now = new Date();
    expect(await runLowBalanceNotifications(deps, now)).toEqual(none);

    expect(await makeCall(account.id, 200)).toBe("reserved"); // 600.00 held: 400.00 available
    expect(await runLowBalanceNotifications(deps, now)).toEqual({ ...none, lowBalance: 1 });
    const [first] = smtp.messagesTo(owner!);
    expect(smtp.messagesTo(owner!)).toHaveLength(1);
    expect(first!.to).toEqual([...owners].sort());
    expect(smtp.messagesTo(manager)).toEqual([]);
    expect(first!.from).toBe("no-reply@tyndau.kz");
    expect(first!.subject).toBe("Tyndau: баланс ниже порога / balance below your threshold");
    expect(first!.text).toContain("Доступный баланс аккаунта «Acme");
    expect(first!.text).toContain("— 400.00 KZT, это ниже заданного вами порога 500.00 KZT");
    expect(first!.text).toContain("is 400.00 KZT, below your threshold of 500.00 KZT");

    // Still below, lower still: the same crossing, no new mail.
    expect(await makeCall(account.id, 10)).toBe("reserved"); // 370.00 available
    expect(await runLowBalanceNotifications(deps, now)).toEqual(none);
    expect(await notifyLowBalance(deps, account, now)).toBe("already_notified");
    expect(smtp.messagesTo(owner!)).toHaveLength(1);

    // A top-up lifts it above: nothing to say; spending below again is a new crossing.
    const topUpId = await topUp(account.id, "1000"); // 1370.00
    expect(await runLowBalanceNotifications(deps, now)).toEqual(none);
    expect(await notifyLowBalance(deps, account, now)).toBe("not_due");
    expect(await makeCall(account.id, 300)).toBe("reserved"); // 900.00 held: 470.00 available
    expect(await runLowBalanceNotifications(deps, now)).toEqual({ ...none, lowBalance: 1 });
    expect(await runLowBalanceNotifications(deps, now)).toEqual(none);
    const mails = smtp.messagesTo(owner!);
    expect(mails).toHaveLength(2);
    expect(mails[1]!.text).toContain("is 470.00 KZT, below your threshold of 500.00 KZT");

    const rows = await notificationRows(account.id);
    expect(rows.map((r) => r.dedupeKey)).toEqual([
      `low_balance:${account.id}:initial`,
      `low_balance:${account.id}:${topUpId}`,
    ]);
    for (const row of rows) {
      expect(row).toMatchObject({ kind: "low_balance", status: "sent", recipients: [...owners].sort() });
      expect(row.sentAt).toBeInstanceOf(Date);
    }
  });

  it("counts a balance exactly at the threshold as not below it", async () => {
    const { account, owners } = await newAccount({ threshold: "400" });
    expect(await makeCall(account.id, 200)).toBe("reserved"); // 400.00 available
    expect(await notifyLowBalance(deps, account, new Date())).toBe("not_due");
    expect(await runLowBalanceNotifications(deps, new Date())).toEqual(none);
    expect(await makeCall(account.id, 1)).toBe("reserved"); // 397.00
    expect(await runLowBalanceNotifications(deps, new Date())).toEqual({ ...none, lowBalance: 1 });
    expect(smtp.messagesTo(owners[0]!)).toHaveLength(1);
  });

  it("does nothing without a threshold", async () => {
    const { account, owners } = await newAccount();
    expect(await makeCall(account.id, 330)).toBe("reserved"); // 10.00 available
    expect(await notifyLowBalance(deps, account, new Date())).toBe("not_due");
    expect(await runLowBalanceNotifications(deps, new Date())).toEqual(none);
    expect(smtp.messagesTo(owners[0]!)).toEqual([]);
  });
});

describe("suspension", () => {
  it("tells the owners once that processing is paused, again only if still paused after a top-up", async () => {
    const { account, owners, manager } = await newAccount();
    const [owner] = owners;
    expect(await notifySuspended(deps, account)).toBe("not_due");

    expect(await makeCall(account.id, 400)).toBe("awaiting_funds"); // 1200.00 > 1000.00
    expect(await runLowBalanceNotifications(deps, new Date())).toEqual({ ...none, suspended: 1 });
    expect(await notifySuspended(deps, account)).toBe("already_notified");
    expect(await makeCall(account.id, 500)).toBe("awaiting_funds");
    expect(await runLowBalanceNotifications(deps, new Date())).toEqual(none);

    const mails = smtp.messagesTo(owner!);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual([...owners].sort());
    expect(smtp.messagesTo(manager)).toEqual([]);
    expect(mails[0]!.subject).toBe("Tyndau: обработка звонков приостановлена / call processing is paused");
    expect(mails[0]!.text).toContain("the available balance (1000.00 KZT) does not cover the next call");
    expect(mails[0]!.text).toContain("Звонков в ожидании: 1.");

    // A top-up that does not cover the oldest waiting call leaves processing paused: one more notice.
    await topUp(account.id, "100");
    expect(await notifySuspended(deps, account)).toBe("sent");
    expect(await runLowBalanceNotifications(deps, new Date())).toEqual(none);
    expect(smtp.messagesTo(owner!)).toHaveLength(2);
    expect(smtp.messagesTo(owner!)[1]!.text).toContain("Calls waiting: 2.");
  });
});

describe("welcome bonus, day 5", () => {
  // Registered 2026-03-01 23:59 Astana (day 1). Day 5 starts 2026-03-05 00:00 +05:00 = 2026-03-04T19:00:00Z;
  // the bonus is voided when day 8 starts, 2026-03-08 00:00 +05:00 = 2026-03-07T19:00:00Z.
  const registered = new Date("2026-03-01T18:59:00Z");

  it("warns on day 5 (not on day 4), once, only while the bonus can still be voided", async () => {
    const plain = await newAccount({ createdAt: registered });
    const withSource = await newAccount({ createdAt: registered });
    await createSource(db(), {
      accountId: withSource.account.id,
      name: "PBX",
      kind: "push",
      tokenHash: randomUUID(),
      signingSecretEnc: "x",
    });
    const toppedUp = await newAccount({ createdAt: registered });
    await topUp(toppedUp.account.id, "10", new Date("2026-03-02T06:00:00Z"));
    const owner = plain.owners[0]!;

    const lastInstantOfDay4 = new Date("2026-03-04T18:59:59.999Z");
    expect(await runLowBalanceNotifications(deps, lastInstantOfDay4)).toEqual(none);
    expect(await notifyBonusAboutToBeVoided(deps, plain.account, lastInstantOfDay4)).toBe("not_due");

    const day5 = new Date("2026-03-04T19:00:00Z");
    expect(await runLowBalanceNotifications(deps, day5)).toEqual({ ...none, bonusDay5: 1 });
    const mails = smtp.messagesTo(owner);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual([...plain.owners].sort());
    expect(smtp.messagesTo(plain.manager)).toEqual([]);
    expect(mails[0]!.subject).toContain("your welcome bonus is about to be voided");
    expect(mails[0]!.text).toContain("(1000.00 KZT) будет аннулирован 2026-03-08T00:00:00+05:00");
    expect(mails[0]!.text).toContain(
      "(1000.00 KZT) will be voided at 2026-03-08T00:00:00+05:00 (Astana time)",
    );
    for (const other of [withSource, toppedUp]) {
      expect(await notifyBonusAboutToBeVoided(deps, other.account, day5)).toBe("not_due");
      expect(smtp.messagesTo(other.owners[0]!)).toEqual([]);
    }

    expect(await runLowBalanceNotifications(deps, new Date("2026-03-06T12:00:00Z"))).toEqual(none);
    expect(await notifyBonusAboutToBeVoided(deps, plain.account, day5)).toBe("already_notified");
    expect(smtp.messagesTo(owner)).toHaveLength(1);
    const rows = await notificationRows(plain.account.id);
    expect(rows.map((r) => [r.dedupeKey, r.status])).toEqual([[`bonus_day5:${plain.account.id}`, "sent"]]);
  });

  it("still warns in the last instant of day 7, not once day 8 has started", async () => {
    const late = await newAccount({ createdAt: registered });
    expect(await runLowBalanceNotifications(deps, new Date("2026-03-07T19:00:00Z"))).toEqual(none);
    expect(await notifyBonusAboutToBeVoided(deps, late.account, new Date("2026-03-07T19:00:00Z"))).toBe(
      "not_due",
    );
    expect(await runLowBalanceNotifications(deps, new Date("2026-03-07T18:59:59Z"))).toEqual({
      ...none,
      bonusDay5: 1,
    });
    expect(smtp.messagesTo(late.owners[0]!)).toHaveLength(1);
  });

  it("says nothing once the bonus was spent on a call", async () => {
    const spender = await newAccount({ createdAt: registered });
    expect(await makeCall(spender.account.id, 1, new Date("2026-03-02T06:00:00Z"))).toBe("reserved");
    expect(await runLowBalanceNotifications(deps, new Date("2026-03-05T06:00:00Z"))).toEqual(none);
    expect(await notifyBonusAboutToBeVoided(deps, spender.account, new Date("2026-03-05T06:00:00Z"))).toBe(
      "not_due",
    );
  });
});

describe("invoice paid", () => {
  it("confirms each paid invoice once", async () => {
    const { account, owners, manager } = await newAccount();
    const owner = owners[0]!;
    const paid = { accountId: account.id, invoiceNumber: "2026-000101", amount: kzt("50000") };
    expect(await notifyInvoicePaid(deps, paid)).toBe("sent");
    expect(await notifyInvoicePaid(deps, paid)).toBe("already_notified");
    expect(
      await notifyInvoicePaid(deps, {
        accountId: account.id,
        invoiceNumber: "2026-000102",
        amount: kzt("7500.5"),
      }),
    ).toBe("sent");

    const mails = smtp.messagesTo(owner);
    expect(mails).toHaveLength(2);
    expect(smtp.messagesTo(manager)).toEqual([]);
    expect(mails[0]!.subject).toBe(
      "Tyndau: оплата по счёту № 2026-000101 получена / payment for invoice No. 2026-000101 received",
    );
    expect(mails[0]!.text).toContain("Оплата по счёту № 2026-000101 получена: 50000.00 KZT зачислено");
    expect(mails[1]!.text).toContain("invoice No. 2026-000102 has been received: 7500.50 KZT was credited");
  });

  it("sends exactly one mail when many callers race on the same key", async () => {
    const { account, owners } = await newAccount();
    const input = { accountId: account.id, invoiceNumber: "2026-000103", amount: kzt("100") };
    const outcomes = await Promise.all(Array.from({ length: 12 }, () => notifyInvoicePaid(deps, input)));
    expect(outcomes.filter((o) => o === "sent")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "already_notified")).toHaveLength(11);
    expect(smtp.messagesTo(owners[0]!)).toHaveLength(1);
  });

  it("records nothing for an account without owners, so a later owner still gets it", async () => {
    const account = await createAccount(db(), { company: "Ownerless", currency: "KZT" });
    const input = { accountId: account.id, invoiceNumber: "2026-000104", amount: kzt("100") };
    expect(await notifyInvoicePaid(deps, input)).toBe("no_recipients");
    expect(await notificationRows(account.id)).toEqual([]);
    await createUser(db(), {
      accountId: account.id,
      email: "late-owner@example.kz",
      passwordHash: "x",
      role: "owner",
    });
    expect(await notifyInvoicePaid(deps, input)).toBe("sent");
    expect(smtp.messagesTo("late-owner@example.kz")).toHaveLength(1);
  });
});

describe("delivery failures", () => {
  let deadDeps: NotificationDeps;
  beforeAll(async () => {
    // A server that accepted once and is gone: its port now refuses connections.
    const dead = await startTestSmtpServer();
    await dead.close();
    deadDeps = { ...deps, mailer: createSmtpMailer({ url: dead.url, from: FROM }) };
  });

  it("marks a notice failed when the SMTP server is down, and a later run sends it", async () => {
    const { account, owners } = await newAccount({ threshold: "500" });
    const owner = owners[0]!;
    expect(await makeCall(account.id, 200)).toBe("reserved");
    const now = new Date();

    expect(await runLowBalanceNotifications(deadDeps, now)).toEqual({ ...none, failed: 1 });
    let [row] = await notificationRows(account.id);
    expect(row).toMatchObject({
      dedupeKey: `low_balance:${account.id}:initial`,
      status: "failed",
      sentAt: null,
    });
    // Still down: tried again, still failed, nothing duplicated.
    expect(await runLowBalanceNotifications(deadDeps, now)).toEqual({ ...none, failed: 1 });
    expect(await notificationRows(account.id)).toHaveLength(1);
    expect(smtp.messagesTo(owner)).toEqual([]);

    expect(await runLowBalanceNotifications(deps, now)).toEqual({ ...none, lowBalance: 1 });
    [row] = await notificationRows(account.id);
    expect(row).toMatchObject({ status: "sent" });
    expect(row!.sentAt).toBeInstanceOf(Date);
    expect(smtp.messagesTo(owner)).toHaveLength(1);
    expect(await runLowBalanceNotifications(deps, now)).toEqual(none);
    expect(smtp.messagesTo(owner)).toHaveLength(1);
  });

  it("retries a failed invoice notice, and sends one the payment path never sent", async () => {
    const { account, owners } = await newAccount();
    const owner = owners[0]!;
    const now = new Date();
    const insertPaidInvoice = async (seqNo: number, amount: string) => {
      const number = `2026-${String(seqNo).padStart(6, "0")}`;
      const [invoice] = await db()
        .insert(invoices)
        .values({
          accountId: account.id,
          year: 2026,
          seq: seqNo,
          number,
          status: "paid",
          amount,
          currency: "KZT",
          payerName: "ТОО Пример",
          payerBin: "123456789012",
          payerAddress: "Астана",
          validUntil: new Date(now.getTime() + 86_400_000),
          paidAt: now,
        })
        .returning();
      await db()
        .insert(invoicePayments)
        .values({ invoiceId: invoice!.id, amount, paidAt: now, outcome: "credited" });
      return number;
    };
    const failedOne = await insertPaidInvoice(201, "25000.00");
    const missedOne = await insertPaidInvoice(202, "300.25");

    expect(
      await notifyInvoicePaid(deadDeps, {
        accountId: account.id,
        invoiceNumber: failedOne,
        amount: kzt("25000"),
      }),
    ).toBe("failed");
    expect((await notificationRows(account.id)).map((r) => r.status)).toEqual(["failed"]);

    expect(await runLowBalanceNotifications(deps, now)).toEqual({ ...none, invoicePaid: 2 });
    expect(await runLowBalanceNotifications(deps, now)).toEqual(none);
    const texts = smtp.messagesTo(owner).map((m) => m.text);
    expect(texts).toHaveLength(2);
    expect(texts.some((x) => x.includes(`${failedOne} has been received: 25000.00 KZT`))).toBe(true);
    expect(texts.some((x) => x.includes(`${missedOne} has been received: 300.25 KZT`))).toBe(true);
    const rows = await notificationRows(account.id);
    expect(rows.map((r) => [r.dedupeKey, r.status]).sort()).toEqual([
      [`invoice_paid:${failedOne}`, "sent"],
      [`invoice_paid:${missedOne}`, "sent"],
    ]);

    // An invoice credited longer ago than the retry window is left alone.
    const old = await insertPaidInvoice(203, "10.00");
    await db().execute(
      sql`update invoice_payments set created_at = now() - interval '4 days'
          where invoice_id = (select id from invoices where number = ${old})`,
    );
    expect(await runLowBalanceNotifications(deps, now)).toEqual(none);
  });
});

describe("SMTP adapter", () => {
  it("reads the endpoint, TLS mode and credentials from the URL", () => {
    expect(parseSmtpUrl("smtp://mail.example.kz")).toEqual({
      host: "mail.example.kz",
      port: 587,
      secure: false,
      requireTLS: false,
      auth: undefined,
    });
    expect(parseSmtpUrl("smtps://no-reply%40tyndau.kz:p%3Ass@mail.example.kz")).toEqual({
      host: "mail.example.kz",
      port: 465,
      secure: true,
      requireTLS: false,
      auth: { user: "no-reply@tyndau.kz", pass: "p:ss" },
    });
    // Credentials over smtp:// require STARTTLS unless the URL opts out.
    expect(parseSmtpUrl("smtp://u:secret@mail.example.kz:2525")).toMatchObject({
      port: 2525,
      requireTLS: true,
    });
    expect(parseSmtpUrl("smtp://u:secret@localhost:25?requireTLS=false")).toMatchObject({
      requireTLS: false,
    });
    expect(parseSmtpUrl("smtp://mail.example.kz?requireTLS=true")).toMatchObject({ requireTLS: true });
    for (const bad of ["http://u:secret@mail.example.kz", "not a url secret", "smtps://h?requireTLS=true"]) {
      let error: unknown;
      try {
        parseSmtpUrl(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).message).not.toContain("secret");
    }
  });

  it("maps refusals and outages to AppErrors: temporary ones retryable, permanent ones not", async () => {
    const picky = await startTestSmtpServer({
      rejectRecipient: (a) => (a.startsWith("gone") ? 550 : a.startsWith("busy") ? 451 : undefined),
    });
    const mailer = createSmtpMailer({ url: picky.url, from: FROM });
    const message = { subject: "s", text: "t" };
    try {
      await expect(mailer.send({ ...message, to: ["gone@example.kz"] })).rejects.toMatchObject({
        code: "INTERNAL",
        retryable: false,
        context: { smtpResponseCode: 550 },
      });
      await expect(mailer.send({ ...message, to: ["busy@example.kz"] })).rejects.toMatchObject({
        code: "UNAVAILABLE",
        retryable: true,
        context: { smtpResponseCode: 451 },
      });
      await mailer.send({ ...message, to: ["ok@example.kz"] });
      expect(picky.messagesTo("ok@example.kz")).toHaveLength(1);
    } finally {
      await picky.close();
    }
    await expect(mailer.send({ ...message, to: ["ok@example.kz"] })).rejects.toMatchObject({
      code: "UNAVAILABLE",
      retryable: true,
    });
  });
});
