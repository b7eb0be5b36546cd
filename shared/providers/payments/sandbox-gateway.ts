import { z } from "zod";
import { AppError } from "../../errors/app-error.ts";
import { Money } from "../../money/money.ts";
import { hmacSha256Hex, safeEqualHex } from "../../security/tokens.ts";
import { headerValue, isCurrency, type PaymentGateway, type WebhookEvent } from "./payment-gateway.ts";

/**
 * The built-in offline gateway (API.md "Billing"): the "payment page" is our own /sandbox/pay/<id>, and
 * its notification is JSON {"paymentId","status","amount","currency"} signed with
 * `X-Signature: <hex HMAC-SHA256(PAYMENT_WEBHOOK_SECRET, raw body)>`. No card data ever exists here.
 */
export const SANDBOX_GATEWAY = "sandbox";

const sandboxNotification = z.object({
  paymentId: z.string().min(1).max(100),
  status: z.enum(["succeeded", "failed"]),
  // A string, so the amount is the exact decimal the gateway meant; a JSON number is refused.
  amount: z.string().refine(Money.isValidAmount, 'a decimal string such as "1000.00"'),
  currency: z.string().min(1).max(10),
});

export type SandboxNotification = z.infer<typeof sandboxNotification>;

export function createSandboxGateway(options: { secret: string; publicUrl: string }): PaymentGateway {
  const publicUrl = options.publicUrl.replace(/\/$/, "");
  return {
    name: SANDBOX_GATEWAY,
    async createPayment({ paymentId }) {
      return { redirectUrl: `${publicUrl}/sandbox/pay/${encodeURIComponent(paymentId)}` };
    },
    parseWebhook(rawBody, headers) {
      const signature = headerValue(headers, "x-signature")?.trim().toLowerCase();
      if (!signature || !/^[0-9a-f]{64}$/.test(signature)) {
        throw new AppError("UNAUTHENTICATED", "The X-Signature header is missing or malformed.");
      }
      if (!safeEqualHex(hmacSha256Hex(options.secret, rawBody), signature)) {
        throw new AppError("UNAUTHENTICATED", "The webhook signature does not match.");
      }
      let json: unknown;
      try {
        json = JSON.parse(rawBody.toString("utf8"));
      } catch {
        throw new AppError("VALIDATION_FAILED", "The notification is not valid JSON.");
      }
      const parsed = sandboxNotification.safeParse(json);
      if (!parsed.success) {
        throw new AppError("VALIDATION_FAILED", "The notification is invalid.", {
          details: parsed.error.issues.map((i) => ({
            path: ["body", ...i.path].join("."),
            message: i.message,
          })),
        });
      }
      const n = parsed.data;
      const event: WebhookEvent = {
        paymentId: n.paymentId,
        status: n.status,
        amount: isCurrency(n.currency) ? Money.of(n.amount, n.currency) : undefined,
        currency: n.currency,
        raw: { ...n },
      };
      return event;
    },
    acknowledge(result) {
      return { status: 200, body: { received: true, outcome: result.outcome } };
    },
  };
}

/** Signs a sandbox notification exactly as the sandbox gateway expects it (checkout page and tests). */
export function signSandboxNotification(
  secret: string,
  notification: SandboxNotification,
): { rawBody: Buffer; headers: Record<string, string> } {
  const rawBody = Buffer.from(JSON.stringify(notification), "utf8");
  return {
    rawBody,
    headers: { "content-type": "application/json", "x-signature": hmacSha256Hex(secret, rawBody) },
  };
}
