import type { Readable } from "node:stream";
import { Readable as ReadableStream } from "node:stream";
import { recordAudit, systemActor } from "../audit/audit-log.ts";
import type { Db } from "../db/client.ts";
import {
  allocateInvoiceSeq,
  expireDueInvoices,
  getInvoice,
  type Invoice,
  insertInvoice,
  insertInvoicePayment,
  lockInvoice,
  markInvoiceExpired,
  markInvoicePaid,
  setInvoicePdfKey,
} from "../db/repositories/invoices.repository.ts";
import { AppError, isAppError } from "../errors/app-error.ts";
import type { Logger } from "../logging/logger.ts";
import { type Currency, Money } from "../money/money.ts";
import type { ObjectStorage } from "../providers/storage/object-storage.ts";
import type { JobQueue } from "../queue/job-queue.ts";
import { astanaDate, toAstanaIso } from "../time/astana-time.ts";
import { invoiceValidUntil } from "../time/kz-calendar.ts";
import { isValidBinIin } from "./bin-iin.ts";
import { renderInvoicePdf, TYNDAU_SELLER } from "./invoice-pdf.ts";
import { creditTopUp } from "./top-up.ts";

/**
 * Top-up by bank invoice (clause 7.3, PRODUCT.md): the owner issues an invoice with a gap-free number per
 * Astana calendar year and a PDF; it is valid for 5 Kazakhstan working days; staff confirm the bank
 * payment, which credits `main` exactly once, or refuse it (expired → flagged for return).
 */

/** The largest amount one invoice may ask for, in units of its currency. */
export const MAX_INVOICE_AMOUNT = "1000000000";
/** Clause 7.3.3: valid for five business days. */
export const INVOICE_VALID_WORKING_DAYS = 5;

export interface CreateInvoiceInput {
  accountId: string;
  /** The account's currency; the amount must be in it. */
  currency: Currency;
  amount: Money;
  payer: { name: string; bin: string; address: string };
  /** The account's company name, printed on the PDF so staff can match the transfer to the account. */
  company: string;
}

export interface InvoiceDeps {
  db: Db;
  storage: ObjectStorage;
  clock: () => Date;
  /** Told when the PDF could not be made right after issuing (the PDF route makes it on demand then). */
  logger?: Pick<Logger, "warn">;
}

export const formatInvoiceNumber = (year: number, seq: number) => `${year}-${String(seq).padStart(6, "0")}`;
export const invoicePdfKey = (accountId: string, invoiceId: string) =>
  `accounts/${accountId}/invoices/${invoiceId}.pdf`;

/**
 * Issues an invoice. The number is allocated and the invoice inserted in ONE transaction: the upsert on
 * invoice_counters takes that year's row lock, which serialises concurrent issuers until commit, and a
 * rollback (e.g. the insert failing) gives the number back — so numbers have no gaps and no duplicates.
 *
 * The PDF is rendered and stored after the commit, not inside the transaction: holding the counter lock
 * across rendering and an object-storage upload would serialise every issuer behind that I/O. If it fails
 * the invoice still exists with `pdfKey` null and openInvoicePdf renders it on demand.
 */
export async function createInvoice(deps: InvoiceDeps, input: CreateInvoiceInput): Promise<Invoice> {
  const payer = assertValidInvoiceInput(input);
  const now = deps.clock();
  const year = Number(astanaDate(now).slice(0, 4));
  const validUntil = invoiceValidUntil(now, INVOICE_VALID_WORKING_DAYS);
  const invoice = await deps.db.transaction(async (tx) => {
    const seq = await allocateInvoiceSeq(tx, year);
    return insertInvoice(tx, {
      accountId: input.accountId,
      year,
      seq,
      number: formatInvoiceNumber(year, seq),
      amount: input.amount,
      payer,
      validUntil,
      createdAt: now,
    });
  });
  try {
    return await storeInvoicePdf(deps, invoice, input.company);
  } catch (error) {
    deps.logger?.warn(
      { err: error, invoiceId: invoice.id },
      "invoice PDF not stored; it will be rendered on demand",
    );
    return invoice;
  }
}

/** Throws VALIDATION_FAILED (details as the HTTP layer's: `body.*` paths) or returns the trimmed payer. */
function assertValidInvoiceInput(input: CreateInvoiceInput): CreateInvoiceInput["payer"] {
  const issues: { path: string; message: string }[] = [];
  const { amount } = input;
  if (amount.currency !== input.currency) {
    issues.push({
      path: "body.amount",
      message: `the amount must be in the account's currency ${input.currency}`,
    });
  } else if (!amount.isPositive()) {
    issues.push({ path: "body.amount", message: "must be greater than 0" });
  } else if (amount.compare(Money.of(MAX_INVOICE_AMOUNT, amount.currency)) > 0) {
    issues.push({ path: "body.amount", message: `must be at most ${MAX_INVOICE_AMOUNT}` });
  } else if (!Money.of(amount.toFixed(2), amount.currency).equals(amount)) {
    issues.push({ path: "body.amount", message: "at most 2 decimal places" });
  }
  const payer = {
    name: input.payer.name.trim(),
    bin: input.payer.bin.trim(),
    address: input.payer.address.trim(),
  };
  if (payer.name.length === 0 || payer.name.length > 300) {
    issues.push({ path: "body.payer.name", message: "1 to 300 characters" });
  }
  if (payer.address.length === 0 || payer.address.length > 500) {
    issues.push({ path: "body.payer.address", message: "1 to 500 characters" });
  }
  if (!isValidBinIin(payer.bin)) {
    issues.push({
      path: "body.payer.bin",
      message: "not a valid BIN/IIN: 12 digits with a correct control digit",
    });
  }
  if (issues.length > 0) {
    throw new AppError("VALIDATION_FAILED", "The invoice details are invalid.", { details: issues });
  }
  return payer;
}

/** Renders the PDF, stores it under accounts/<accountId>/invoices/<invoiceId>.pdf and records the key. */
async function storeInvoicePdf(
  deps: Pick<InvoiceDeps, "db" | "storage">,
  invoice: Invoice,
  company: string | undefined,
): Promise<Invoice> {
  const pdf = await renderPdf(invoice, company);
  const key = invoicePdfKey(invoice.accountId, invoice.id);
  await deps.storage.put(key, ReadableStream.from([pdf]), { contentType: "application/pdf" });
  await setInvoicePdfKey(deps.db, invoice, key);
  return { ...invoice, pdfKey: key };
}

function renderPdf(invoice: Invoice, company: string | undefined): Promise<Buffer> {
  return renderInvoicePdf(
    {
      number: invoice.number,
      createdAt: invoice.createdAt,
      validUntil: invoice.validUntil,
      amount: invoice.amount,
      accountCompany: company,
    },
    TYNDAU_SELLER,
    invoice.payer,
  );
}

/**
 * The invoice's PDF as a stream: the stored one, or (when it was never stored or has gone missing) one
 * rendered now and stored for next time. NOT_FOUND for another account's invoice.
 */
export async function openInvoicePdf(
  deps: Pick<InvoiceDeps, "db" | "storage" | "logger">,
  input: { accountId: string; invoiceId: string; company?: string },
): Promise<{ invoice: Invoice; stream: Readable }> {
  const invoice = await getInvoice(deps.db, input.accountId, input.invoiceId);
  if (invoice.pdfKey) {
    try {
      return { invoice, stream: await deps.storage.get(invoice.pdfKey) };
    } catch (error) {
      if (!isAppError(error) || error.code !== "NOT_FOUND") throw error;
    }
  }
  const pdf = await renderPdf(invoice, input.company);
  try {
    await storeInvoicePdf(deps, invoice, input.company);
  } catch (error) {
    deps.logger?.warn({ err: error, invoiceId: invoice.id }, "invoice PDF rendered but not stored");
  }
  return { invoice, stream: ReadableStream.from([pdf]) };
}

export interface RecordInvoicePaymentInput {
  invoiceId: string;
  /** What arrived, in the currency it arrived in. */
  amount: Money;
  /** When the money reached the seller's account (the bank statement's value date and time). */
  paidAt: Date;
  staffUserId: string | null;
  /** The staff member's client address, for the audit entry. */
  staffIp?: string | null;
}

export interface RecordInvoicePaymentResult {
  invoice: Invoice;
  credited: true;
  /** True when this confirmation repeated one already recorded: nothing new was written. */
  alreadyPaid: boolean;
}

type PaymentOutcome =
  | { kind: "credited"; invoice: Invoice; alreadyPaid: boolean }
  | { kind: "refused_expired"; invoice: Invoice }
  | { kind: "refused_mismatch"; invoice: Invoice }
  | { kind: "refused_paid"; invoice: Invoice };

/**
 * Staff confirm a bank payment against an invoice. The invoice row is locked FOR UPDATE, so concurrent
 * confirmations run one after another; the ledger's idempotency key `top_up:invoice:<id>` is a second
 * guard. Outcomes, each recorded in invoice_payments:
 * - paid at or after validUntil, or the invoice already expired → `refused_expired`, nothing credited,
 *   AppError INVOICE_EXPIRED (the money is to be returned to the payer, clause 7.3.3);
 * - amount or currency differs from the invoice → `refused_mismatch`, nothing credited, VALIDATION_FAILED;
 * - otherwise the invoice becomes paid, `credited`, and `main` is credited with the invoice amount.
 * Repeating the confirmation that paid the invoice (same amount and paidAt) returns the same result and
 * writes nothing but its audit entry. A different payment against a paid invoice (a second transfer) is
 * recorded as `refused_mismatch` and refused with INVOICE_NOT_PAYABLE: it is to be returned, not credited.
 * Refusals are committed before the error is thrown, so the flag for return survives.
 * Every confirmation gets its audit entry `staff.invoice_payment` (details.outcome) in the same
 * transaction as what it decided; `beforeCommit` (the route's Idempotency-Key answer) runs there too
 * when the invoice is credited, so the credit, its audit entry and its answer commit together or not at all.
 */
export async function recordInvoicePayment(
  deps: { db: Db; queue: Pick<JobQueue, "send">; clock: () => Date },
  input: RecordInvoicePaymentInput,
  options: { beforeCommit?: (tx: Db, result: RecordInvoicePaymentResult) => Promise<void> } = {},
): Promise<RecordInvoicePaymentResult> {
  const now = deps.clock();
  if (input.paidAt.getTime() > now.getTime()) {
    throw new AppError("VALIDATION_FAILED", "The payment date is in the future.", {
      details: [{ path: "body.paidAt", message: "must not be later than now" }],
    });
  }
  const outcome = await deps.db.transaction(async (tx): Promise<PaymentOutcome> => {
    const decided = await decideInvoicePayment(tx, deps, input, now);
    await recordAudit(tx, {
      accountId: decided.invoice.accountId,
      actor: input.staffUserId
        ? { userId: input.staffUserId, role: "staff", ip: input.staffIp ?? null }
        : systemActor,
      action: "staff.invoice_payment",
      objectType: "invoice",
      objectId: decided.invoice.id,
      details: {
        amount: input.amount.toFixed(2),
        currency: input.amount.currency,
        paidAt: input.paidAt.toISOString(),
        outcome: decided.kind === "credited" && decided.alreadyPaid ? "repeat" : decided.kind,
      },
    });
    if (decided.kind === "credited") {
      await options.beforeCommit?.(tx, {
        invoice: decided.invoice,
        credited: true,
        alreadyPaid: decided.alreadyPaid,
      });
    }
    return decided;
  });

  const { invoice } = outcome;
  switch (outcome.kind) {
    case "credited":
      return { invoice, credited: true, alreadyPaid: outcome.alreadyPaid };
    case "refused_expired":
      throw new AppError(
        "INVOICE_EXPIRED",
        `Invoice ${invoice.number} was valid until ${toAstanaIso(invoice.validUntil)}; the payment is refused and flagged for return. Nothing was credited.`,
        {
          context: { invoiceId: invoice.id },
          details: { invoiceId: invoice.id, validUntil: toAstanaIso(invoice.validUntil) },
        },
      );
    case "refused_mismatch":
      throw new AppError(
        "VALIDATION_FAILED",
        `The payment (${input.amount}) does not match invoice ${invoice.number} (${invoice.amount}); it is refused and flagged for return. Nothing was credited.`,
        {
          details: [
            {
              path: "body.amount",
              message: `must equal the invoice amount ${invoice.amount.toFixed(2)} ${invoice.amount.currency}`,
            },
          ],
        },
      );
    case "refused_paid":
      throw new AppError(
        "INVOICE_NOT_PAYABLE",
        `Invoice ${invoice.number} is already paid; this further payment is refused and flagged for return. Nothing was credited.`,
        { context: { invoiceId: invoice.id } },
      );
  }
}

/** The decision on one confirmation, in the caller's transaction (invoice row locked FOR UPDATE). */
async function decideInvoicePayment(
  tx: Db,
  deps: { queue: Pick<JobQueue, "send"> },
  input: RecordInvoicePaymentInput,
  now: Date,
): Promise<PaymentOutcome> {
  const invoice = await lockInvoice(tx, input.invoiceId);
  const record = (outcome: "credited" | "refused_expired" | "refused_mismatch") =>
    insertInvoicePayment(tx, {
      invoiceId: invoice.id,
      amount: input.amount,
      paidAt: input.paidAt,
      outcome,
      staffUserId: input.staffUserId,
    });

  if (invoice.status === "paid") {
    const repeat =
      input.amount.equals(invoice.amount) && invoice.paidAt?.getTime() === input.paidAt.getTime();
    if (repeat) return { kind: "credited", invoice, alreadyPaid: true };
    await record("refused_mismatch");
    return { kind: "refused_paid", invoice };
  }
  if (invoice.status === "expired" || input.paidAt.getTime() >= invoice.validUntil.getTime()) {
    await record("refused_expired");
    if (invoice.status === "issued" && now.getTime() >= invoice.validUntil.getTime()) {
      await markInvoiceExpired(tx, invoice.id);
      return { kind: "refused_expired", invoice: { ...invoice, status: "expired" } };
    }
    return { kind: "refused_expired", invoice };
  }
  if (!input.amount.equals(invoice.amount)) {
    await record("refused_mismatch");
    return { kind: "refused_mismatch", invoice };
  }

  await markInvoicePaid(tx, invoice.id, input.paidAt);
  await record("credited");
  // occurredAt is when the money reached the balance (now), so the ledger stays in posting order;
  // the bank's value date is kept on the invoice and its payment row.
  await creditTopUp(tx, deps.queue, {
    accountId: invoice.accountId,
    amount: invoice.amount,
    channel: "bank",
    idempotencyKey: `top_up:invoice:${invoice.id}`,
    occurredAt: now,
    invoiceId: invoice.id,
  });
  return {
    kind: "credited",
    invoice: { ...invoice, status: "paid", paidAt: input.paidAt },
    alreadyPaid: false,
  };
}

/**
 * The `invoice-expiry` job: every issued invoice whose validity ended (validUntil ≤ now) becomes expired,
 * in one statement. Idempotent: running it again finds nothing more.
 */
export async function expireInvoices(db: Db, now: Date): Promise<{ expired: number }> {
  return { expired: await expireDueInvoices(db, now) };
}
