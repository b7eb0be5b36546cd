import { and, desc, eq, lte, sql } from "drizzle-orm";
import { AppError } from "../../errors/app-error.ts";
import { type Money, moneyFromDb } from "../../money/money.ts";
import type { Db } from "../client.ts";
import { queryRows } from "../client.ts";
import { invoicePayments, invoices } from "../schema/index.ts";

/**
 * Bank-transfer invoices, their gap-free numbering and the bank payments staff report against them.
 * Amounts are Money here and numeric(20,6) strings in the database; nothing else converts between the two.
 */

type InvoiceRow = typeof invoices.$inferSelect;

export type InvoiceStatus = InvoiceRow["status"];

export interface Invoice {
  id: string;
  accountId: string;
  year: number;
  seq: number;
  /** "<year>-<seq padded to 6>", e.g. "2026-000123". */
  number: string;
  status: InvoiceStatus;
  amount: Money;
  payer: { name: string; bin: string; address: string };
  /** Exclusive end of validity: 00:00 Astana after the 5th working day (see invoiceValidUntil). */
  validUntil: Date;
  pdfKey: string | null;
  paidAt: Date | null;
  createdAt: Date;
}

export type InvoicePaymentOutcome = (typeof invoicePayments.$inferSelect)["outcome"];

/** Next number of the year; the counter row stays locked until the caller's transaction ends. */
export async function allocateInvoiceSeq(tx: Db, year: number): Promise<number> {
  const [row] = await queryRows<{ last_seq: number }>(
    tx,
    sql`insert into invoice_counters (year, last_seq) values (${year}, 1)
        on conflict (year) do update set last_seq = invoice_counters.last_seq + 1
        returning last_seq`,
  );
  return Number(row!.last_seq);
}

/** Inserts an issued invoice (its number allocated by allocateInvoiceSeq in the same transaction). */
export async function insertInvoice(
  tx: Db,
  input: {
    accountId: string;
    year: number;
    seq: number;
    number: string;
    amount: Money;
    payer: { name: string; bin: string; address: string };
    validUntil: Date;
    createdAt: Date;
  },
): Promise<Invoice> {
  const [row] = await tx
    .insert(invoices)
    .values({
      accountId: input.accountId,
      year: input.year,
      seq: input.seq,
      number: input.number,
      status: "issued",
      amount: input.amount.toDbString(),
      currency: input.amount.currency,
      payerName: input.payer.name,
      payerBin: input.payer.bin,
      payerAddress: input.payer.address,
      validUntil: input.validUntil,
      createdAt: input.createdAt,
    })
    .returning();
  return toInvoice(row!);
}

export async function setInvoicePdfKey(
  db: Db,
  invoice: { id: string; accountId: string },
  pdfKey: string,
): Promise<void> {
  await db
    .update(invoices)
    .set({ pdfKey })
    .where(and(eq(invoices.id, invoice.id), eq(invoices.accountId, invoice.accountId)));
}

/** The account's invoices, newest first, keyset-paginated on (createdAt, id). */
export async function findInvoices(
  db: Db,
  accountId: string,
  options: { limit?: number; before?: { at: Date; id: string } } = {},
): Promise<Invoice[]> {
  const rows = await db
    .select()
    .from(invoices)
    .where(
      and(
        eq(invoices.accountId, accountId),
        options.before
          ? sql`(${invoices.createdAt}, ${invoices.id}) < (${options.before.at.toISOString()}::timestamptz, ${options.before.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(desc(invoices.createdAt), desc(invoices.id))
    .limit(options.limit ?? 100);
  return rows.map(toInvoice);
}

/** One invoice of the account; NOT_FOUND when absent or another account's (never say which). */
export async function getInvoice(db: Db, accountId: string, id: string): Promise<Invoice> {
  const [row] = await db
    .select()
    .from(invoices)
    .where(and(eq(invoices.id, id), eq(invoices.accountId, accountId)));
  if (!row) throw new AppError("NOT_FOUND", "Invoice not found.");
  return toInvoice(row);
}

/** Staff only: an invoice of any account. */
export async function getInvoiceForStaff(db: Db, id: string): Promise<Invoice> {
  const [row] = await db.select().from(invoices).where(eq(invoices.id, id));
  if (!row) throw new AppError("NOT_FOUND", "Invoice not found.");
  return toInvoice(row);
}

/** Any account's invoice with its row locked FOR UPDATE until the caller's transaction ends; NOT_FOUND. */
export async function lockInvoice(tx: Db, id: string): Promise<Invoice> {
  const [row] = await tx.select().from(invoices).where(eq(invoices.id, id)).for("update");
  if (!row) throw new AppError("NOT_FOUND", "Invoice not found.");
  return toInvoice(row);
}

/** A bank payment reported against the invoice, with what was decided about it. */
export async function insertInvoicePayment(
  tx: Db,
  input: {
    invoiceId: string;
    amount: Money;
    paidAt: Date;
    outcome: InvoicePaymentOutcome;
    staffUserId: string | null;
  },
): Promise<void> {
  await tx.insert(invoicePayments).values({
    invoiceId: input.invoiceId,
    amount: input.amount.toDbString(),
    paidAt: input.paidAt,
    outcome: input.outcome,
    staffUserId: input.staffUserId,
  });
}

/** Issued → paid (nothing happens to an invoice in any other status). */
export async function markInvoicePaid(tx: Db, id: string, paidAt: Date): Promise<void> {
  await tx
    .update(invoices)
    .set({ status: "paid", paidAt })
    .where(and(eq(invoices.id, id), eq(invoices.status, "issued")));
}

export async function markInvoiceExpired(tx: Db, id: string): Promise<void> {
  await tx.update(invoices).set({ status: "expired" }).where(eq(invoices.id, id));
}

/** Every issued invoice whose validity ended (validUntil ≤ now) becomes expired, in one statement. */
export async function expireDueInvoices(db: Db, now: Date): Promise<number> {
  const rows = await db
    .update(invoices)
    .set({ status: "expired" })
    .where(and(eq(invoices.status, "issued"), lte(invoices.validUntil, now)))
    .returning({ id: invoices.id });
  return rows.length;
}

function toInvoice(row: InvoiceRow): Invoice {
  return {
    id: row.id,
    accountId: row.accountId,
    year: row.year,
    seq: row.seq,
    number: row.number,
    status: row.status,
    amount: moneyFromDb(row.amount, row.currency),
    payer: { name: row.payerName, bin: row.payerBin, address: row.payerAddress },
    validUntil: row.validUntil,
    pdfKey: row.pdfKey,
    paidAt: row.paidAt,
    createdAt: row.createdAt,
  };
}
