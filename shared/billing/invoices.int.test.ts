import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { inflateSync } from "node:zlib";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/harness/test-database.ts";
import { queryRows } from "../db/client.ts";
import { type AccountRow, createAccount } from "../db/repositories/accounts.repository.ts";
import {
  allocateInvoiceSeq,
  findInvoices,
  getInvoice,
  type Invoice,
} from "../db/repositories/invoices.repository.ts";
import { sumBalances } from "../db/repositories/ledger.repository.ts";
import { AppError } from "../errors/app-error.ts";
import { createLogger } from "../logging/logger.ts";
import { Money } from "../money/money.ts";
import {
  createLocalObjectStorage,
  type LocalObjectStorage,
} from "../providers/storage/local-object-storage.ts";
import { resumeAwaitingCallsJob } from "../queue/job-definitions.ts";
import { createJobQueue, type JobQueue } from "../queue/job-queue.ts";
import { toAstanaIso } from "../time/astana-time.ts";
import { renderInvoicePdf, TYNDAU_SELLER } from "./invoice-pdf.ts";
import {
  createInvoice,
  expireInvoices,
  invoicePdfKey,
  openInvoicePdf,
  recordInvoicePayment,
} from "./invoices.ts";

const KASPI_BIN = "971240001315";
const HALYK_BIN = "940140000385";
/** Every Kazakh-specific letter, in both cases where they differ. */
const KAZAKH_PAYER = "ТОО «Әділет Ғылым Қазақ Ңұрлы Өнер Ұлы Үміт Һикмет Іргетас» әғқңөұүһі";

let t: TestDatabase;
let queue: JobQueue;
let storage: LocalObjectStorage;
let storageRoot: string;

beforeAll(async () => {
  t = await createTestDatabase();
  queue = createJobQueue(t.database, createLogger({ level: "silent" }));
  await queue.start();
  await queue.register(resumeAwaitingCallsJob);
  storageRoot = await mkdtemp(path.join(tmpdir(), "tyndau-invoices-"));
  storage = createLocalObjectStorage({ root: storageRoot, publicUrl: "http://x", secret: "s".repeat(32) });
});

afterAll(async () => {
  await queue?.stop(1000);
  await t?.drop();
  if (storageRoot) await rm(storageRoot, { recursive: true, force: true });
});

const db = () => t.database.db;
const newAccount = () => createAccount(db(), { company: "Acme", currency: "KZT" });
const fixedClock = (iso: string) => () => new Date(iso);
const deps = (iso: string) => ({ db: db(), storage, clock: fixedClock(iso) });
const payDeps = (iso: string) => ({ db: db(), queue, clock: fixedClock(iso) });

function issue(
  account: AccountRow,
  at: string,
  overrides: { amount?: string; bin?: string; name?: string } = {},
) {
  return createInvoice(deps(at), {
    accountId: account.id,
    currency: "KZT",
    amount: Money.of(overrides.amount ?? "150000.00", "KZT"),
    payer: {
      name: overrides.name ?? "ТОО «Ромашка»",
      bin: overrides.bin ?? KASPI_BIN,
      address: "Астана, ул. Абая 1",
    },
    company: account.company,
  });
}

async function counter(year: number): Promise<number | undefined> {
  const [row] = await queryRows<{ last_seq: number }>(
    db(),
    sql`select last_seq from invoice_counters where year = ${year}`,
  );
  return row?.last_seq;
}

async function invoiceCount(): Promise<number> {
  const [row] = await queryRows<{ n: number }>(db(), sql`select count(*)::int as n from invoices`);
  return row!.n;
}

async function paymentOutcomes(invoiceId: string): Promise<string[]> {
  const rows = await queryRows<{ outcome: string }>(
    db(),
    sql`select outcome from invoice_payments where invoice_id = ${invoiceId} order by created_at`,
  );
  return rows.map((r) => r.outcome);
}

async function errorOf(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

describe("invoice numbers", () => {
  it("gives 50 concurrent invoices of one year the numbers 1..50, without gaps or duplicates", async () => {
    const account = await newAccount();
    const created = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        issue(account, "2030-02-04T10:00:00+05:00", { amount: `${1000 + i}.00` }),
      ),
    );
    const seqs = created.map((inv) => inv.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(new Set(created.map((inv) => inv.number)).size).toBe(50);
    for (const inv of created) {
      expect(inv.number).toBe(`2030-${String(inv.seq).padStart(6, "0")}`);
      expect(inv.year).toBe(2030);
    }
    expect(await counter(2030)).toBe(50);
    const stored = await findInvoices(db(), account.id, { limit: 100 });
    expect(stored.map((inv) => inv.seq).sort((a, b) => a - b)).toEqual(seqs);
  });

  it("numbers by the Astana calendar year: 31 Dec 20:00 UTC is already 1 January in Astana", async () => {
    const account = await newAccount();
    const lastOf2031 = await issue(account, "2031-12-31T18:59:59Z");
    const firstOf2032 = await issue(account, "2031-12-31T19:00:00Z");
    expect(lastOf2031.number).toBe("2031-000001");
    expect(firstOf2032.number).toBe("2032-000001");
  });

  it("gives a number back when the issuing transaction rolls back", async () => {
    const account = await newAccount();
    const first = await issue(account, "2033-03-01T10:00:00+05:00");
    expect(first.seq).toBe(1);
    // The counter is incremented, then the insert fails (no such account): the whole transaction rolls back.
    const ghost = { ...account, id: randomUUID() };
    await expect(issue(ghost, "2033-03-01T10:00:00+05:00")).rejects.toThrow();
    expect(await counter(2033)).toBe(1);
    // An allocation inside a transaction that then fails for any reason is returned too.
    await expect(
      db().transaction(async (tx) => {
        expect(await allocateInvoiceSeq(tx, 2033)).toBe(2);
        throw new Error("forced failure after allocation");
      }),
    ).rejects.toThrow("forced failure after allocation");
    expect(await counter(2033)).toBe(1);
    const second = await issue(account, "2033-03-01T10:05:00+05:00");
    expect(second.number).toBe("2033-000002");
  });
});

describe("createInvoice validation", () => {
  it("refuses a BIN/IIN with a wrong control digit and creates nothing", async () => {
    const account = await newAccount();
    const before = await invoiceCount();
    const counterBefore = await counter(2034);
    const error = await errorOf(issue(account, "2034-01-10T10:00:00+05:00", { bin: "971240001316" }));
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.details).toEqual([expect.objectContaining({ path: "body.payer.bin" })]);
    expect(await invoiceCount()).toBe(before);
    expect(await counter(2034)).toBe(counterBefore);
    expect(await findInvoices(db(), account.id)).toEqual([]);
  });

  it("refuses amounts that are not positive, above 1,000,000,000, or finer than 2 decimals", async () => {
    const account = await newAccount();
    for (const amount of ["0", "1000000000.01", "10.005"]) {
      const error = await errorOf(issue(account, "2034-01-10T10:00:00+05:00", { amount }));
      expect(error.code).toBe("VALIDATION_FAILED");
      expect(error.details).toEqual([expect.objectContaining({ path: "body.amount" })]);
    }
    const largest = await issue(account, "2034-01-10T10:00:00+05:00", { amount: "1000000000.00" });
    expect(largest.amount.toFixed(2)).toBe("1000000000.00");
  });

  it("stores the validity end: 24:00 Astana of the 5th working day", async () => {
    const account = await newAccount();
    // Friday 10 April 2026: Fri, Mon, Tue, Wed, Thu 16 April.
    const invoice = await issue(account, "2026-04-10T10:00:00+05:00", { bin: HALYK_BIN });
    expect(toAstanaIso(invoice.validUntil)).toBe("2026-04-17T00:00:00+05:00");
    expect(invoice.status).toBe("issued");
    const again = await getInvoice(db(), account.id, invoice.id);
    expect(again.validUntil.toISOString()).toBe(invoice.validUntil.toISOString());
    expect(again.amount.equals(Money.of("150000", "KZT"))).toBe(true);
  });
});

describe("isolation", () => {
  it("never shows one account's invoice to another", async () => {
    const owner = await newAccount();
    const other = await newAccount();
    const invoice = await issue(owner, "2026-04-10T10:00:00+05:00");
    expect((await errorOf(getInvoice(db(), other.id, invoice.id))).code).toBe("NOT_FOUND");
    expect(
      (await errorOf(openInvoicePdf({ db: db(), storage }, { accountId: other.id, invoiceId: invoice.id })))
        .code,
    ).toBe("NOT_FOUND");
    expect((await findInvoices(db(), other.id)).map((i) => i.id)).not.toContain(invoice.id);
  });
});

describe("recordInvoicePayment", () => {
  const mainOf = async (accountId: string) => (await sumBalances(db(), accountId, "KZT")).main;

  it("credits main exactly once when 10 confirmations race", async () => {
    const account = await newAccount();
    const invoice = await issue(account, "2026-04-10T10:00:00+05:00", { amount: "250000.50" });
    const paidAt = new Date("2026-04-13T12:00:00+05:00");
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        recordInvoicePayment(payDeps("2026-04-13T15:00:00+05:00"), {
          invoiceId: invoice.id,
          amount: Money.of("250000.50", "KZT"),
          paidAt,
          staffUserId: randomUUID(),
        }),
      ),
    );
    expect(results.every((r) => r.credited && r.invoice.status === "paid")).toBe(true);
    expect(results.filter((r) => !r.alreadyPaid)).toHaveLength(1);
    expect((await mainOf(account.id)).toFixed(2)).toBe("250000.50");
    const [topUps] = await queryRows<{ n: number }>(
      db(),
      sql`select count(*)::int as n from ledger_transactions where type = 'top_up' and invoice_id = ${invoice.id}`,
    );
    expect(topUps!.n).toBe(1);
    expect(await paymentOutcomes(invoice.id)).toEqual(["credited"]);
    const stored = await getInvoice(db(), account.id, invoice.id);
    expect(stored.status).toBe("paid");
    expect(stored.paidAt?.toISOString()).toBe(paidAt.toISOString());
  });

  it("refuses a payment at or after validUntil: INVOICE_EXPIRED, nothing credited, flagged for return", async () => {
    const account = await newAccount();
    const invoice = await issue(account, "2026-04-10T10:00:00+05:00");
    const error = await errorOf(
      recordInvoicePayment(payDeps("2026-04-20T10:00:00+05:00"), {
        invoiceId: invoice.id,
        amount: Money.of("150000", "KZT"),
        paidAt: invoice.validUntil,
        staffUserId: null,
      }),
    );
    expect(error.code).toBe("INVOICE_EXPIRED");
    expect((await mainOf(account.id)).isZero()).toBe(true);
    expect(await paymentOutcomes(invoice.id)).toEqual(["refused_expired"]);
    expect((await getInvoice(db(), account.id, invoice.id)).status).toBe("expired");
    // Asking again does not credit either, and is flagged again.
    const again = await errorOf(
      recordInvoicePayment(payDeps("2026-04-20T10:00:00+05:00"), {
        invoiceId: invoice.id,
        amount: Money.of("150000", "KZT"),
        paidAt: new Date(invoice.validUntil.getTime() - 60_000),
        staffUserId: null,
      }),
    );
    expect(again.code).toBe("INVOICE_EXPIRED");
    expect((await mainOf(account.id)).isZero()).toBe(true);
  });

  it("accepts a payment made in the last millisecond of validity, even when confirmed later", async () => {
    const account = await newAccount();
    const invoice = await issue(account, "2026-04-10T10:00:00+05:00");
    const result = await recordInvoicePayment(payDeps("2026-04-21T10:00:00+05:00"), {
      invoiceId: invoice.id,
      amount: Money.of("150000.00", "KZT"),
      paidAt: new Date(invoice.validUntil.getTime() - 1),
      staffUserId: null,
    });
    expect(result.invoice.status).toBe("paid");
    expect((await mainOf(account.id)).toFixed(2)).toBe("150000.00");
  });

  it("refuses a mismatched amount or currency, then credits the right one", async () => {
    const account = await newAccount();
    const invoice = await issue(account, "2026-04-10T10:00:00+05:00");
    const pay = (amount: Money) =>
      recordInvoicePayment(payDeps("2026-04-13T10:00:00+05:00"), {
        invoiceId: invoice.id,
        amount,
        paidAt: new Date("2026-04-13T09:00:00+05:00"),
        staffUserId: null,
      });
    expect((await errorOf(pay(Money.of("149999.99", "KZT")))).code).toBe("VALIDATION_FAILED");
    expect((await errorOf(pay(Money.of("150000", "USD")))).code).toBe("VALIDATION_FAILED");
    expect((await mainOf(account.id)).isZero()).toBe(true);
    expect((await getInvoice(db(), account.id, invoice.id)).status).toBe("issued");
    await pay(Money.of("150000", "KZT"));
    expect((await mainOf(account.id)).toFixed(2)).toBe("150000.00");
    expect(await paymentOutcomes(invoice.id)).toEqual(["refused_mismatch", "refused_mismatch", "credited"]);
    // A different, second transfer against the paid invoice is refused, not credited.
    const second = await errorOf(
      recordInvoicePayment(payDeps("2026-04-14T10:00:00+05:00"), {
        invoiceId: invoice.id,
        amount: Money.of("150000", "KZT"),
        paidAt: new Date("2026-04-14T09:00:00+05:00"),
        staffUserId: null,
      }),
    );
    expect(second.code).toBe("INVOICE_NOT_PAYABLE");
    expect((await mainOf(account.id)).toFixed(2)).toBe("150000.00");
  });

  it("refuses a payment date in the future and an unknown invoice", async () => {
    const account = await newAccount();
    const invoice = await issue(account, "2026-04-10T10:00:00+05:00");
    const future = await errorOf(
      recordInvoicePayment(payDeps("2026-04-13T10:00:00+05:00"), {
        invoiceId: invoice.id,
        amount: Money.of("150000", "KZT"),
        paidAt: new Date("2026-04-13T10:00:01+05:00"),
        staffUserId: null,
      }),
    );
    expect(future.code).toBe("VALIDATION_FAILED");
    const missing = await errorOf(
      recordInvoicePayment(payDeps("2026-04-13T10:00:00+05:00"), {
        invoiceId: randomUUID(),
        amount: Money.of("150000", "KZT"),
        paidAt: new Date("2026-04-13T09:00:00+05:00"),
        staffUserId: null,
      }),
    );
    expect(missing.code).toBe("NOT_FOUND");
    expect(await paymentOutcomes(invoice.id)).toEqual([]);
  });
});

describe("expireInvoices", () => {
  it("expires an issued invoice at validUntil, not a millisecond before", async () => {
    const account = await newAccount();
    // The latest invoice of this file: every other one ends earlier, so the counts below are exact.
    const invoice = await issue(account, "2040-06-06T10:00:00+05:00");
    const paid = await issue(account, "2040-06-06T10:00:00+05:00");
    await recordInvoicePayment(payDeps("2040-06-06T11:00:00+05:00"), {
      invoiceId: paid.id,
      amount: paid.amount,
      paidAt: new Date("2040-06-06T10:30:00+05:00"),
      staffUserId: null,
    });
    await expireInvoices(db(), new Date(invoice.validUntil.getTime() - 1));
    expect((await getInvoice(db(), account.id, invoice.id)).status).toBe("issued");
    expect(await expireInvoices(db(), invoice.validUntil)).toEqual({ expired: 1 });
    expect((await getInvoice(db(), account.id, invoice.id)).status).toBe("expired");
    expect((await getInvoice(db(), account.id, paid.id)).status).toBe("paid");
    expect(await expireInvoices(db(), new Date(invoice.validUntil.getTime() + 86_400_000))).toEqual({
      expired: 0,
    });
  });
});

describe("invoice PDF", () => {
  let invoice: Invoice;
  let pdf: Buffer;

  beforeAll(async () => {
    const account = await newAccount();
    invoice = await issue(account, "2026-04-10T10:00:00+05:00", { name: KAZAKH_PAYER, amount: "1234567.89" });
    expect(invoice.pdfKey).toBe(`accounts/${account.id}/invoices/${invoice.id}.pdf`);
    pdf = await readAll(await storage.get(invoice.pdfKey!));
  });

  it("is stored as a valid PDF", () => {
    expect(pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    expect(pdf.subarray(-6).toString("latin1")).toContain("%%EOF");
  });

  it("maps every Kazakh letter of the payer's name to an embedded glyph", () => {
    const cmaps = inflatedStreams(pdf).filter((s) => s.includes("beginbfchar") || s.includes("beginbfrange"));
    const text = cmaps.join("\n").toLowerCase();
    for (const letter of "ӘәҒғҚқҢңӨөҰұҮүҺһІі") {
      const hex = letter.codePointAt(0)!.toString(16).padStart(4, "0");
      expect(text, `ToUnicode entry for ${letter} (U+${hex})`).toContain(`<${hex}>`);
    }
  });

  it.skipIf(!hasPdftotext())(
    "reads back (pdftotext) with the number, the Kazakh payer name, the amount and the validity",
    () => {
      const text = pdfToText(pdf).replace(/\s+/g, " ");
      expect(text).toContain(`Счёт на оплату № ${invoice.number}`);
      expect(text).toContain(KAZAKH_PAYER);
      expect(text).toContain(`БИН/ИИН: ${KASPI_BIN}`);
      expect(text).toMatch(/1\s234\s567,89 KZT/);
      expect(text).toContain("до 16.04.2026 включительно");
      expect(text).toContain(`Оплата по счёту № ${invoice.number} от 10.04.2026`);
    },
  );

  it("does not lose the invoice when storing its PDF fails; the PDF is then made on demand", async () => {
    const account = await newAccount();
    const warnings: unknown[] = [];
    const failing = { ...storage, put: () => Promise.reject(new Error("storage down")) };
    const issued = await createInvoice(
      {
        db: db(),
        storage: failing,
        clock: fixedClock("2026-04-10T10:00:00+05:00"),
        logger: { warn: (o: unknown) => warnings.push(o) },
      },
      {
        accountId: account.id,
        currency: "KZT",
        amount: Money.of("500", "KZT"),
        payer: { name: "ИП Әлия", bin: HALYK_BIN, address: "Алматы" },
        company: account.company,
      },
    );
    expect(issued.pdfKey).toBeNull();
    expect(warnings).toHaveLength(1);
    const opened = await openInvoicePdf(
      { db: db(), storage },
      { accountId: account.id, invoiceId: issued.id },
    );
    expect((await readAll(opened.stream)).subarray(0, 5).toString("latin1")).toBe("%PDF-");
    expect((await getInvoice(db(), account.id, issued.id)).pdfKey).toBe(invoicePdfKey(account.id, issued.id));
  });

  it("names the package to install when the font is missing", async () => {
    await expect(
      renderInvoicePdf(
        {
          number: "2026-000001",
          createdAt: new Date(),
          validUntil: new Date(),
          amount: Money.of("1", "KZT"),
        },
        TYNDAU_SELLER,
        { name: "x", bin: KASPI_BIN, address: "y" },
        { fontDir: path.join(storageRoot, "no-fonts-here") },
      ),
    ).rejects.toThrow("fonts-dejavu-core");
  });

  it("is rendered on demand when the stored copy is missing", async () => {
    await storage.delete(invoice.pdfKey!);
    const opened = await openInvoicePdf(
      { db: db(), storage },
      { accountId: invoice.accountId, invoiceId: invoice.id },
    );
    const again = await readAll(opened.stream);
    expect(again.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    expect(await storage.exists(invoice.pdfKey!)).toBe(true);
    if (hasPdftotext()) expect(pdfToText(again)).toContain(invoice.number);
  });
});

function hasPdftotext(): boolean {
  return spawnSync("pdftotext", ["-v"], { encoding: "utf8" }).error === undefined;
}

function pdfToText(pdf: Buffer): string {
  const result = spawnSync("pdftotext", ["-enc", "UTF-8", "-", "-"], { input: pdf, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`pdftotext failed: ${result.stderr}`);
  return result.stdout;
}

/** The PDF's Flate-compressed streams, inflated (fonts' ToUnicode maps among them). */
function inflatedStreams(pdf: Buffer): string[] {
  const out: string[] = [];
  const raw = pdf.toString("latin1");
  const pattern = /stream\r?\n/g;
  for (let match = pattern.exec(raw); match; match = pattern.exec(raw)) {
    const start = match.index + match[0].length;
    const end = raw.indexOf("endstream", start);
    if (end < 0) break;
    try {
      out.push(inflateSync(pdf.subarray(start, end)).toString("latin1"));
    } catch {
      // not a Flate stream (or binary font data that is not zlib): skip it
    }
    pattern.lastIndex = end + "endstream".length;
  }
  return out;
}
