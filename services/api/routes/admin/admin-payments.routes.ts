import { z } from "zod";
import { type RefundResult, refundPayment } from "../../../../shared/billing/card-payments.ts";
import { findPaymentById } from "../../../../shared/db/repositories/payments.repository.ts";
import { notFound } from "../../../../shared/errors/app-error.ts";
import { apiAmount, Money } from "../../../../shared/money/money.ts";
import { toAstanaIso } from "../../../../shared/time/astana-time.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { clientAddress } from "../../http/caller.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";

const refundBody = z.object({
  amount: z
    .string()
    .trim()
    .refine(Money.isValidAmount, 'A decimal string with up to 6 decimals, e.g. "1000.00".'),
  reason: z.string().trim().min(1).max(1000),
});

const refundDto = z.object({
  id: z.uuid(),
  paymentId: z.uuid(),
  accountId: z.uuid(),
  amount: z.string(),
  currency: z.string(),
  reason: z.string(),
  refundedTotal: z.string(),
  refundable: z.string(),
  createdAt: z.string(),
});

function refundAnswer(refund: RefundResult) {
  return {
    status: 200,
    body: {
      id: refund.id,
      paymentId: refund.paymentId,
      accountId: refund.accountId,
      amount: apiAmount(refund.amount),
      currency: refund.amount.currency,
      reason: refund.reason,
      refundedTotal: apiAmount(refund.refundedTotal),
      refundable: apiAmount(refund.refundable),
      createdAt: toAstanaIso(refund.createdAt),
    },
  };
}

/** Staff actions on card payments (API.md "Staff"). */
export function adminPaymentsRoutes(deps: ApiDeps): AnyRoute[] {
  const db = deps.database.db;
  return [
    defineRoute({
      method: "post",
      path: "/api/v1/admin/payments/{id}/refund",
      summary:
        "Refund a technical error (7.2.5) as a compensating transaction; never more than the payment in total.",
      tag: "admin",
      access: ["staff"],
      idempotent: true,
      params: z.object({ id: z.string().min(1).max(100) }),
      body: refundBody,
      responses: {
        200: { description: "Refunded", schema: refundDto },
        404: { description: "No such payment" },
        409: {
          description:
            "REFUND_EXCEEDS_PAYMENT (refunds would exceed the payment), or CONFLICT (not succeeded, or the balance is lower than the refund)",
        },
      },
      handler: async ({ params, body, auth, log, req, keepAnswer }) => {
        const payment = await findPaymentById(db, params.id);
        if (!payment) throw notFound("Payment");
        // The refund, its audit entry and the Idempotency-Key's answer commit in one transaction.
        const refund = await refundPayment(
          { db, clock: deps.clock },
          {
            paymentId: payment.id,
            amount: Money.of(body.amount, payment.currency),
            reason: body.reason,
            staffUserId: auth.user.id,
            staffIp: clientAddress(req),
          },
          { beforeCommit: (tx, done) => keepAnswer(tx, refundAnswer(done)) },
        );
        const { id: refundId, accountId, amount } = refund;
        log.info(
          { refundId, paymentId: payment.id, accountId, amount: amount.toJSON() },
          "payment refunded by staff",
        );
        return refundAnswer(refund);
      },
    }),
  ];
}
