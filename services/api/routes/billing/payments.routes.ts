import type { Readable } from "node:stream";
import type { Request } from "express";
import { z } from "zod";
import { handlePaymentWebhook, startCardPayment } from "../../../../shared/billing/card-payments.ts";
import { type CardPayment, findPayments } from "../../../../shared/db/repositories/payments.repository.ts";
import { AppError } from "../../../../shared/errors/app-error.ts";
import { apiAmount, Money } from "../../../../shared/money/money.ts";
import type { PaymentGateway } from "../../../../shared/providers/payments/payment-gateway.ts";
import { toAstanaIso } from "../../../../shared/time/astana-time.ts";
import type { ApiDeps } from "../../api-deps.ts";
import { type AnyRoute, defineRoute } from "../../http/route.ts";

/** A gateway notification is a few hundred bytes; anything near this limit is not one. */
export const WEBHOOK_MAX_BYTES = 64 * 1024;

export interface PaymentsRoutesDeps extends ApiDeps {
  gateways: Record<string, PaymentGateway>;
  /** The gateway new card payments go through (a key of `gateways`); undefined when none runs here. */
  defaultGateway: string | undefined;
}

const amountText = z
  .string()
  .trim()
  .refine(Money.isValidAmount, 'A decimal string with up to 6 decimals, e.g. "1000.00".');

const startedPaymentDto = z.object({
  id: z.uuid(),
  status: z.literal("pending"),
  amount: z.string(),
  currency: z.string(),
  redirectUrl: z.url(),
});

const paymentDto = z.object({
  id: z.uuid(),
  status: z.enum(["pending", "succeeded", "failed"]),
  amount: z.string(),
  currency: z.string(),
  gateway: z.string(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
  failureReason: z.string().nullable(),
});

const toPaymentDto = (p: CardPayment): z.infer<typeof paymentDto> => ({
  id: p.id,
  status: p.status,
  amount: apiAmount(p.amount),
  currency: p.currency,
  gateway: p.gateway,
  createdAt: toAstanaIso(p.createdAt),
  completedAt: p.completedAt ? toAstanaIso(p.completedAt) : null,
  failureReason: p.failureReason,
});

export function paymentsRoutes(deps: PaymentsRoutesDeps): AnyRoute[] {
  const db = deps.database.db;
  return [
    defineRoute({
      method: "post",
      path: "/api/v1/billing/payments",
      summary: "Start a card top-up: returns the gateway page the owner pays on.",
      tag: "billing",
      access: ["owner"],
      idempotent: true,
      body: z.object({ amount: amountText }),
      responses: {
        201: { description: "Pending payment", schema: startedPaymentDto },
        400: { description: "Not a valid amount (at most 10,000,000 per payment, 2 decimals)" },
        409: {
          description:
            "No card gateway runs on this server (PAYMENT_GATEWAY_UNAVAILABLE): nothing is created",
        },
      },
      handler: async ({ body, auth, log }) => {
        const gateway = deps.defaultGateway ? deps.gateways[deps.defaultGateway] : undefined;
        if (!gateway) {
          throw new AppError(
            "PAYMENT_GATEWAY_UNAVAILABLE",
            "Card payments are not available on this server; top up by bank invoice instead.",
          );
        }
        const currency = auth.account.currency;
        const started = await startCardPayment(
          { db, gateway, clock: deps.clock, publicUrl: deps.config.publicUrl },
          { accountId: auth.account.id, currency, amount: Money.of(body.amount, currency) },
        );
        log.info({ paymentId: started.id, gateway: gateway.name }, "card payment started");
        return {
          status: 201,
          body: {
            id: started.id,
            status: started.status,
            amount: apiAmount(started.amount),
            currency: started.currency,
            redirectUrl: started.redirectUrl,
          },
        };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/billing/payments",
      summary: "The account's card payments, newest first.",
      tag: "billing",
      access: ["owner"],
      query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
      responses: { 200: { description: "Payments", schema: z.object({ items: z.array(paymentDto) }) } },
      handler: async ({ auth, query }) => {
        const items = await findPayments(db, auth.account.id, { limit: query.limit });
        return { status: 200, body: { items: items.map(toPaymentDto) } };
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/webhooks/payments/{gateway}",
      summary:
        "A payment gateway's notification, authenticated by its signature over the raw body (sandbox: X-Signature).",
      tag: "billing",
      access: "token",
      params: z.object({ gateway: z.string().min(1).max(40) }),
      rawBody: {
        contentType: "application/json",
        description:
          'sandbox: {"paymentId","status":"succeeded"|"failed","amount","currency"}; cloudpayments: form-encoded Pay/Fail',
      },
      responses: {
        200: { description: "Handled (also for repeats); the body is what the gateway expects" },
        401: { description: "Missing or bad signature: nothing written" },
        404: { description: "Unknown gateway or payment" },
        413: { description: "Body too large" },
        422: { description: "Amount or currency differ from the payment: nothing credited" },
      },
      handler: async ({ req, params, log }) => {
        const gateway = Object.hasOwn(deps.gateways, params.gateway)
          ? deps.gateways[params.gateway]
          : undefined;
        if (!gateway) {
          req.resume();
          throw new AppError("NOT_FOUND", "No such payment gateway.");
        }
        const rawBody = await readRawBody(req, WEBHOOK_MAX_BYTES);
        const result = await handlePaymentWebhook(
          { db, queue: deps.queue, clock: deps.clock, logger: log },
          gateway,
          rawBody,
          requestHeaders(req),
        );
        return gateway.acknowledge(result);
      },
    }),
  ];
}

/**
 * Reads a small body from a stream, refusing more than `maxBytes` (413) without buffering the excess: the
 * rest is drained so the error answer still reaches the client.
 */
export function readRawBody(stream: Readable, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > maxBytes) {
        cleanup();
        stream.resume();
        reject(new AppError("PAYLOAD_TOO_LARGE", `The body is larger than ${maxBytes} bytes.`));
        return;
      }
      chunks.push(buffer);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
  });
}

/** Request headers as single strings, names lower-cased (as Node gives them). */
export function requestHeaders(req: Request): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}
