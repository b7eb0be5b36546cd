import { z } from "zod";
import { createInvoice, openInvoicePdf } from "../../../../shared/billing/invoices.ts";
import {
  findInvoices,
  getInvoice,
  type Invoice,
} from "../../../../shared/db/repositories/invoices.repository.ts";
import { apiAmount, Money } from "../../../../shared/money/money.ts";
import { toAstanaIso } from "../../../../shared/time/astana-time.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { fetchPage, pageOf, pageQuery } from "../../http/cursor.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";

/** A positive-looking decimal with at most 2 places; the use case checks > 0 and the upper bound. */
const invoiceAmount = z
  .string()
  .regex(
    /^(0|[1-9]\d{0,9})(\.\d{1,2})?$/,
    'a decimal string with at most 2 decimal places, e.g. "150000.00"',
  );

const createInvoiceBody = z.object({
  amount: invoiceAmount,
  payer: z.object({
    name: z.string().trim().min(1).max(300),
    bin: z
      .string()
      .trim()
      .regex(/^\d{12}$/, "12 digits"),
    address: z.string().trim().min(1).max(500),
  }),
});

export const invoiceDto = z.object({
  id: z.uuid(),
  number: z.string(),
  status: z.enum(["issued", "paid", "expired"]),
  amount: z.string(),
  currency: z.string(),
  /** Exclusive end of validity: 00:00 Astana (+05:00) after the 5th working day. */
  validUntil: z.string(),
  pdfUrl: z.string(),
  payer: z.object({ name: z.string(), bin: z.string(), address: z.string() }),
  createdAt: z.string(),
  paidAt: z.string().nullable(),
});

export function toInvoiceDto(invoice: Invoice): z.infer<typeof invoiceDto> {
  return {
    id: invoice.id,
    number: invoice.number,
    status: invoice.status,
    amount: apiAmount(invoice.amount),
    currency: invoice.amount.currency,
    validUntil: toAstanaIso(invoice.validUntil),
    pdfUrl: `/api/v1/billing/invoices/${invoice.id}/pdf`,
    payer: invoice.payer,
    createdAt: toAstanaIso(invoice.createdAt),
    paidAt: invoice.paidAt ? toAstanaIso(invoice.paidAt) : null,
  };
}

const idParams = z.object({ id: z.uuid() });

export function invoicesRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  return [
    defineRoute({
      method: "post",
      path: "/api/v1/billing/invoices",
      summary: "Issue a bank-transfer invoice (valid 5 Kazakhstan working days) with a PDF.",
      tag: "billing",
      access: ["owner"],
      idempotent: true,
      body: createInvoiceBody,
      responses: {
        201: { description: "The invoice", schema: invoiceDto },
        400: { description: "Invalid amount or payer (e.g. a BIN/IIN with a wrong control digit)" },
      },
      handler: async ({ body, auth, log }) => {
        const currency = auth.account.currency;
        const invoice = await createInvoice(
          { db, storage: deps.storage, clock: deps.clock, logger: log },
          {
            accountId: auth.account.id,
            currency,
            amount: Money.of(body.amount, currency),
            payer: body.payer,
            company: auth.account.company,
          },
        );
        return { status: 201, body: toInvoiceDto(invoice) };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/billing/invoices",
      summary: "The account's invoices, newest first.",
      tag: "billing",
      access: ["owner"],
      query: pageQuery,
      responses: { 200: { description: "A page", schema: pageOf(invoiceDto) } },
      handler: async ({ query, auth }) => {
        const { rows, nextCursor } = await fetchPage(
          query,
          ({ limit, after }) => findInvoices(db, auth.account.id, { limit, before: after }),
          (invoice) => ({ at: invoice.createdAt, id: invoice.id }),
        );
        return { status: 200, body: { items: rows.map(toInvoiceDto), nextCursor } };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/billing/invoices/{id}",
      summary: "One invoice.",
      tag: "billing",
      access: ["owner"],
      params: idParams,
      responses: {
        200: { description: "The invoice", schema: invoiceDto },
        404: { description: "Not found" },
      },
      handler: async ({ params, auth }) => ({
        status: 200,
        body: toInvoiceDto(await getInvoice(db, auth.account.id, params.id)),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/billing/invoices/{id}/pdf",
      summary: "The invoice as a PDF download.",
      tag: "billing",
      access: ["owner"],
      params: idParams,
      responses: { 200: { description: "application/pdf" }, 404: { description: "Not found" } },
      handler: async ({ params, auth, res, log }) => {
        const { invoice, stream } = await openInvoicePdf(
          { db, storage: deps.storage, logger: log },
          { accountId: auth.account.id, invoiceId: params.id, company: auth.account.company },
        );
        res.setHeader("Content-Type", "application/pdf");
        res.setHeader("Content-Disposition", `attachment; filename="invoice-${invoice.number}.pdf"`);
        res.setHeader("Cache-Control", "private, no-store");
        res.status(200);
        stream.pipe(res);
        await new Promise<void>((resolve, reject) => {
          stream.on("end", resolve);
          stream.on("error", reject);
        });
        return undefined;
      },
    }),
  ];
}
