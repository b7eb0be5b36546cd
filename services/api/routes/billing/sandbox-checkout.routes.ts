import { z } from "zod";
import { handlePaymentWebhook } from "../../../../shared/billing/card-payments.ts";
import { type CardPayment, findPaymentById } from "../../../../shared/db/repositories/payments.repository.ts";
import { AppError, notFound } from "../../../../shared/errors/app-error.ts";
import type { PaymentGateway } from "../../../../shared/providers/payments/payment-gateway.ts";
import {
  SANDBOX_GATEWAY,
  signSandboxNotification,
} from "../../../../shared/providers/payments/sandbox-gateway.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";
import { readRawBody } from "./payments.routes.ts";

/**
 * The sandbox gateway's "payment page": it stands in for a real gateway's hosted page, so the whole
 * top-up flow (redirect, signed webhook, credit, back to billing) runs offline. It signs on the
 * visitor's behalf, i.e. credits money for free, so it is mounted only when `sandboxCheckout` says so
 * and the sandbox gateway runs (outside production, or PAYMENT_GATEWAY=sandbox).
 */
export function sandboxCheckoutRoutes(
  deps: ApiDeps & { gateways: Record<string, PaymentGateway> },
): AnyRoute[] {
  const sandbox = deps.gateways[SANDBOX_GATEWAY];
  if (!deps.sandboxCheckout || !sandbox) return [];
  const db = deps.database.db;
  const params = z.object({ paymentId: z.string().min(1).max(100) });

  const loadSandboxPayment = async (paymentId: string): Promise<CardPayment> => {
    const payment = await findPaymentById(db, paymentId);
    if (!payment || payment.gateway !== SANDBOX_GATEWAY) throw notFound("Payment");
    return payment;
  };

  return [
    defineRoute({
      method: "get",
      path: "/sandbox/pay/{paymentId}",
      summary: "The sandbox gateway's payment page (HTML): Pay or Decline.",
      tag: "sandbox",
      access: "public",
      params,
      responses: { 200: { description: "An HTML page" }, 404: { description: "No such sandbox payment" } },
      handler: async ({ res, params }) => {
        const payment = await loadSandboxPayment(params.paymentId);
        res.status(200).set("Cache-Control", "no-store").type("html").send(checkoutPage(payment));
        return undefined;
      },
    }),
    defineRoute({
      method: "post",
      path: "/sandbox/pay/{paymentId}",
      summary: "The sandbox payer's answer: signs and delivers the gateway's webhook, then back to billing.",
      tag: "sandbox",
      access: "public",
      params,
      rawBody: { contentType: "application/x-www-form-urlencoded", description: "outcome=succeeded|failed" },
      responses: {
        303: { description: "Redirect to /#/billing" },
        400: { description: "No valid outcome" },
        404: { description: "No such sandbox payment" },
        413: { description: "The form is over 4 KiB" },
      },
      handler: async ({ req, params, log }) => {
        const form = new URLSearchParams((await readRawBody(req, 4 * 1024)).toString("utf8"));
        const outcome = form.get("outcome");
        if (outcome !== "succeeded" && outcome !== "failed") {
          throw new AppError("VALIDATION_FAILED", 'Choose "succeeded" (Pay) or "failed" (Decline).', {
            details: [{ path: "body.outcome", message: "succeeded or failed" }],
          });
        }
        const payment = await loadSandboxPayment(params.paymentId);
        // Exactly what an external gateway would send: signed, and handled by the same use case.
        const { rawBody, headers } = signSandboxNotification(deps.config.paymentWebhookSecret, {
          paymentId: payment.id,
          status: outcome,
          amount: payment.amount.toFixed(2),
          currency: payment.currency,
        });
        await handlePaymentWebhook(
          { db, queue: deps.queue, clock: deps.clock, logger: log },
          sandbox,
          rawBody,
          headers,
        );
        return { status: 303, headers: { Location: "/#/billing", "Cache-Control": "no-store" } };
      },
    }),
  ];
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

/** Self-contained (no external assets, no script): the CSP of the app allows inline styles only. */
function checkoutPage(payment: CardPayment): string {
  const id = escapeHtml(payment.id);
  const amount = `${escapeHtml(payment.amount.toFixed(2))} ${escapeHtml(payment.currency)}`;
  const payable = payment.status !== "succeeded";
  const form = payable
    ? `<form method="post" action="/sandbox/pay/${encodeURIComponent(payment.id)}" aria-labelledby="title">
      <fieldset>
        <legend>Answer as the card holder</legend>
        <p id="pay-hint">Pay charges the test card ${amount}; Decline refuses the payment.</p>
        <button type="submit" name="outcome" value="succeeded" aria-describedby="pay-hint">Pay</button>
        <button type="submit" name="outcome" value="failed" class="secondary" aria-describedby="pay-hint">Decline</button>
      </fieldset>
    </form>`
    : `<p role="status">This payment has already been paid.</p>`;
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <title>Sandbox payment — Tyndau</title>
  <style>
    body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1c1e21; }
    main { max-width: 28rem; margin: 3rem auto; background: #fff; padding: 1.5rem 2rem; border-radius: 8px;
           box-shadow: 0 1px 3px rgba(0,0,0,.15); }
    h1 { font-size: 1.4rem; margin-top: 0; }
    dl { display: grid; grid-template-columns: auto 1fr; gap: .25rem 1rem; }
    dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
    fieldset { border: 1px solid #c9ccd1; border-radius: 6px; padding: 1rem; }
    button { font: inherit; padding: .5rem 1.25rem; margin-right: .5rem; border-radius: 4px; border: 2px solid #0b5cad;
             background: #0b5cad; color: #fff; cursor: pointer; }
    button.secondary { background: #fff; color: #0b5cad; }
    button:focus-visible, a:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
    .note { color: #4b4f56; font-size: .9rem; }
  </style>
</head>
<body>
  <main>
    <h1 id="title">Sandbox card payment</h1>
    <p class="note">The offline test gateway: no real card is charged.</p>
    <dl>
      <dt>Amount</dt><dd>${amount}</dd>
      <dt>Status</dt><dd>${escapeHtml(payment.status)}</dd>
      <dt>Payment</dt><dd><code>${id}</code></dd>
    </dl>
    ${form}
    <p><a href="/#/billing">Back to billing</a></p>
  </main>
</body>
</html>
`;
}
