import { type Currency, currencies, type Money } from "../../money/money.ts";

/**
 * A card payment gateway (PRODUCT.md "Top-up by card", clause 7.2): it creates a payment page for one of
 * our payments and later tells us, in a signed notification, whether the card was charged. Each gateway is
 * an adapter behind this interface (HOUSE-STYLE rule 3): the built-in `sandbox` and `cloudpayments`.
 */
export interface PaymentGateway {
  /** The `{gateway}` segment of the webhook URL and the `payments.gateway` column. */
  readonly name: string;
  /**
   * Registers the payment with the gateway and returns where the owner's browser goes to pay.
   * Vendor failures become AppError UNAVAILABLE (retryable).
   */
  createPayment(input: CreateGatewayPayment): Promise<{ redirectUrl: string; externalId?: string }>;
  /**
   * Verifies the signature over the RAW body bytes, then parses the notification.
   * Throws AppError UNAUTHENTICATED on a missing or bad signature and VALIDATION_FAILED on a malformed body.
   */
  parseWebhook(rawBody: Buffer, headers: Record<string, string | undefined>): WebhookEvent;
  /** What the gateway expects back once a notification was handled (e.g. CloudPayments wants {"code":0}). */
  acknowledge(result: WebhookHandling): { status: number; body: unknown };
}

export interface CreateGatewayPayment {
  /** Our payment id; the gateway echoes it in its notifications. */
  paymentId: string;
  amount: Money;
  description: string;
  /** Where the payer's browser returns after paying or declining. */
  returnUrl: string;
  /** Our account id, for gateways that group payments per customer. */
  accountId?: string;
}

export interface WebhookEvent {
  paymentId: string;
  /** The gateway's own transaction id, when it sends one. */
  externalId?: string;
  status: "succeeded" | "failed";
  /**
   * Parsed from the gateway's decimal text exactly (never through a JS number). Undefined when the
   * currency is not one we keep money in: such an event can only be a mismatch.
   */
  amount: Money | undefined;
  currency: string;
  /** The notification's fields as stored in payment_events (card data left out). */
  raw: Record<string, unknown>;
}

/** What became of one webhook delivery; recorded as payment_events.outcome. */
export type WebhookOutcome =
  /** The payment succeeded now and `main` was credited. */
  | "credited"
  /** A repeated success of an already credited payment: nothing changed. */
  | "duplicate"
  /** The payment is marked failed. */
  | "failed"
  /** A repeated failure of an already failed payment: nothing changed. */
  | "duplicate_failure"
  /** A failure reported after the success: the credit stays (logged for staff). */
  | "failure_after_success"
  /** Amount or currency differ from the payment: nothing credited, answered 422. */
  | "mismatch";

export interface WebhookHandling {
  paymentId: string;
  outcome: WebhookOutcome;
}

export function isCurrency(code: string): code is Currency {
  return (currencies as readonly string[]).includes(code);
}

/** Header lookup that does not depend on the caller having lower-cased the names. */
export function headerValue(headers: Record<string, string | undefined>, name: string): string | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}
