import { z } from "zod";
import { confirmInvoicePayment } from "../../../../shared/billing/confirm-invoice-payment.ts";
import type { RecordInvoicePaymentResult } from "../../../../shared/billing/invoices.ts";
import { currencies } from "../../../../shared/money/money.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { clientAddress } from "../../http/caller.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import { invoiceDto, toInvoiceDto } from "../billing/invoices.routes.ts";

const paymentBody = z.object({
  /** What arrived on the bank statement. */
  amount: z.string().regex(/^\d{1,14}(\.\d{1,6})?$/, 'a decimal string, e.g. "150000.00"'),
  /** When the money arrived (the statement's value date and time), ISO-8601 with offset. */
  paidAt: z.iso.datetime({ offset: true }),
  /** The currency that arrived; the invoice's own when omitted. */
  currency: z.enum(currencies).optional(),
});

const staffInvoiceDto = invoiceDto.extend({ accountId: z.uuid() });

function paymentAnswer(result: RecordInvoicePaymentResult) {
  return {
    status: 200,
    body: {
      invoice: { ...toInvoiceDto(result.invoice), accountId: result.invoice.accountId },
      credited: result.credited,
    },
  };
}

export function adminInvoicesRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  return [
    defineRoute({
      method: "post",
      path: "/api/v1/admin/invoices/{id}/payments",
      summary:
        "Staff: confirm a bank payment against an invoice; credits main once, refuses expired invoices.",
      tag: "admin",
      access: ["staff"],
      idempotent: true,
      params: z.object({ id: z.uuid() }),
      body: paymentBody,
      responses: {
        200: {
          description: "Credited (also for a repeated confirmation)",
          schema: z.object({ invoice: staffInvoiceDto, credited: z.literal(true) }),
        },
        400: { description: "Amount or currency differs from the invoice: refused, flagged for return" },
        404: { description: "No such invoice" },
        409: {
          description: "INVOICE_EXPIRED (refused, flagged for return) or INVOICE_NOT_PAYABLE (already paid)",
        },
      },
      handler: async ({ params, body, auth, log, req, keepAnswer }) => {
        // The credit, its audit entry and the Idempotency-Key's answer commit in one transaction.
        const result = await confirmInvoicePayment(
          { db, queue: deps.queue, clock: deps.clock, mailer: deps.mailer, logger: log },
          {
            invoiceId: params.id,
            amount: body.amount,
            currency: body.currency,
            paidAt: new Date(body.paidAt),
            staffUserId: auth.user.id,
            staffIp: clientAddress(req),
          },
          { beforeCommit: (tx, done) => keepAnswer(tx, paymentAnswer(done)) },
        );
        return paymentAnswer(result);
      },
    }),
  ];
}
