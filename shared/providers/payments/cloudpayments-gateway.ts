/**
 * CloudPayments (cloudpayments.ru; Kazakhstan merchants: cloudpayments.kz, same protocol) — card top-ups
 * through one-time payment links ("orders"), following the public developer documentation:
 *
 * - API basics, https://developers.cloudpayments.ru/#printsip-raboty — HTTPS POST with JSON, HTTP Basic
 *   auth (login: Public ID, password: API Secret), answers `{"Success", "Message", "Model"}`.
 * - Idempotency, https://developers.cloudpayments.ru/#idempotentnost-api — header `X-Request-ID`: a
 *   repeated request with the same id returns the first result instead of creating a second order.
 * - Payment links, https://developers.cloudpayments.ru/#sozdanie-scheta-dlya-otpravki-po-pochte —
 *   `POST /orders/create` `{Amount, Currency, Description, InvoiceId, AccountId, RequireConfirmation,
 *   SendEmail, SuccessRedirectUrl, FailRedirectUrl}` → `Model: {Id, Url, ...}`; the payer pays at `Url`.
 * - Notifications, https://developers.cloudpayments.ru/#uvedomleniya — Pay (Status "Completed" for a
 *   one-stage payment) and Fail (Status "Declined", Reason, ReasonCode) are POSTed as
 *   application/x-www-form-urlencoded (or JSON, per the cabinet's setting) with TransactionId, Amount,
 *   Currency, InvoiceId, AccountId, …; the site must answer `{"code":0}`, otherwise they are retried.
 * - Checking notifications, https://developers.cloudpayments.ru/#proverka-uvedomleniy — header
 *   `Content-HMAC` = base64(HMAC-SHA256(API Secret, raw body)); `X-Content-HMAC` is the same over the
 *   URL-decoded body.
 *
 * Configure only the Pay and Fail notifications to point at /api/v1/webhooks/payments/cloudpayments
 * (a Check notification carries a Status too and must not be mistaken for a payment). Orders are created
 * one-stage (RequireConfirmation=false), so "Authorized" is refused as unexpected.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { AppError } from "../../errors/app-error.ts";
import { Money } from "../../money/money.ts";
import { headerValue, isCurrency, type PaymentGateway, type WebhookEvent } from "./payment-gateway.ts";

export const CLOUDPAYMENTS_GATEWAY = "cloudpayments";

export interface CloudPaymentsOptions {
  publicId: string;
  apiSecret: string;
  /** The API host; the emulator in tests, or another host named by the merchant's contract. */
  apiBaseUrl?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const orderResponse = z.object({
  Success: z.boolean(),
  Message: z.string().nullish(),
  Model: z
    .object({
      Id: z.union([z.string(), z.number()]).transform(String),
      Url: z.url(),
    })
    .loose()
    .nullish(),
});

/** Fields kept in payment_events: the payment's facts, never card data or the payer's personal data. */
const STORED_FIELDS = [
  "TransactionId",
  "Amount",
  "Currency",
  "PaymentAmount",
  "PaymentCurrency",
  "InvoiceId",
  "AccountId",
  "Status",
  "StatusCode",
  "OperationType",
  "Reason",
  "ReasonCode",
  "TestMode",
  "DateTime",
] as const;

export function createCloudPaymentsGateway(options: CloudPaymentsOptions): PaymentGateway {
  const apiBaseUrl = (options.apiBaseUrl ?? "https://api.cloudpayments.ru").replace(/\/$/, "");
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const authorization = `Basic ${Buffer.from(`${options.publicId}:${options.apiSecret}`, "utf8").toString("base64")}`;

  return {
    name: CLOUDPAYMENTS_GATEWAY,

    async createPayment({ paymentId, amount, description, returnUrl, accountId }) {
      const fields = {
        Currency: amount.currency,
        Description: description,
        InvoiceId: paymentId,
        ...(accountId ? { AccountId: accountId } : {}),
        RequireConfirmation: false,
        SendEmail: false,
        SuccessRedirectUrl: returnUrl,
        FailRedirectUrl: returnUrl,
      };
      // The API reads Amount as a JSON number: its text is written from the decimal, never via a float.
      const body = `{"Amount":${amount.toFixed(2)},${JSON.stringify(fields).slice(1)}`;
      let response: Response;
      try {
        response = await doFetch(`${apiBaseUrl}/orders/create`, {
          method: "POST",
          headers: {
            Authorization: authorization,
            "Content-Type": "application/json",
            Accept: "application/json",
            "X-Request-ID": paymentId,
          },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw new AppError("UNAVAILABLE", "The payment gateway could not be reached; try again shortly.", {
          retryable: true,
          cause: error,
          context: { gateway: CLOUDPAYMENTS_GATEWAY },
        });
      }
      const text = await response.text();
      if (!response.ok) {
        throw new AppError("UNAVAILABLE", "The payment gateway refused to create the payment.", {
          retryable: response.status >= 500 || response.status === 429,
          context: { gateway: CLOUDPAYMENTS_GATEWAY, status: response.status },
        });
      }
      let parsed: z.infer<typeof orderResponse>;
      try {
        parsed = orderResponse.parse(JSON.parse(text));
      } catch (error) {
        throw new AppError("UNAVAILABLE", "The payment gateway answered in an unexpected format.", {
          retryable: true,
          cause: error,
          context: { gateway: CLOUDPAYMENTS_GATEWAY },
        });
      }
      if (!parsed.Success || !parsed.Model) {
        throw new AppError("UNAVAILABLE", "The payment gateway refused to create the payment.", {
          context: { gateway: CLOUDPAYMENTS_GATEWAY, message: parsed.Message ?? null },
        });
      }
      return { redirectUrl: parsed.Model.Url, externalId: parsed.Model.Id };
    },

    parseWebhook(rawBody, headers) {
      verifySignature(options.apiSecret, rawBody, headers);
      const fields = parseFields(rawBody, headerValue(headers, "content-type"));
      const paymentId = fields.InvoiceId;
      if (!paymentId) throw new AppError("VALIDATION_FAILED", "The notification has no InvoiceId.");
      const currency = fields.Currency;
      const amountText = fields.Amount;
      if (!currency || !amountText) {
        throw new AppError("VALIDATION_FAILED", "The notification has no Amount or Currency.");
      }
      if (!Money.isValidAmount(amountText)) {
        throw new AppError("VALIDATION_FAILED", "The notification's Amount is not a decimal number.");
      }
      const raw: Record<string, unknown> = {};
      for (const key of STORED_FIELDS) if (fields[key] !== undefined) raw[key] = fields[key];
      const event: WebhookEvent = {
        paymentId,
        status: statusOf(fields),
        amount: isCurrency(currency) ? Money.of(amountText, currency) : undefined,
        currency,
        raw,
      };
      if (fields.TransactionId) event.externalId = fields.TransactionId;
      return event;
    },

    acknowledge() {
      return { status: 200, body: { code: 0 } };
    },
  };
}

function statusOf(fields: Record<string, string | undefined>): "succeeded" | "failed" {
  const status = fields.Status;
  if (status === "Completed") return "succeeded";
  if (status === "Declined") return "failed";
  if (status === undefined && (fields.ReasonCode !== undefined || fields.Reason !== undefined))
    return "failed";
  throw new AppError("VALIDATION_FAILED", `Unexpected payment status ${JSON.stringify(status ?? null)}.`);
}

function verifySignature(secret: string, rawBody: Buffer, headers: Record<string, string | undefined>): void {
  const contentHmac = headerValue(headers, "content-hmac")?.trim();
  const xContentHmac = headerValue(headers, "x-content-hmac")?.trim();
  let valid = false;
  if (contentHmac) {
    valid = sameDigest(hmacBase64(secret, rawBody), contentHmac);
  } else if (xContentHmac) {
    // X-Content-HMAC is computed over the URL-decoded body.
    const text = rawBody.toString("utf8");
    for (const decoded of [safeDecode(text), safeDecode(text.replace(/\+/g, " "))]) {
      if (
        decoded !== undefined &&
        sameDigest(hmacBase64(secret, Buffer.from(decoded, "utf8")), xContentHmac)
      ) {
        valid = true;
      }
    }
  } else {
    throw new AppError("UNAUTHENTICATED", "The Content-HMAC header is missing.");
  }
  if (!valid) throw new AppError("UNAUTHENTICATED", "The notification signature does not match.");
}

function hmacBase64(secret: string, data: Buffer): Buffer {
  return createHmac("sha256", secret).update(data).digest();
}

function sameDigest(expected: Buffer, headerBase64: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(headerBase64)) return false;
  const given = Buffer.from(headerBase64, "base64");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The notification's top-level fields as text: form values as sent, JSON numbers as their literal text. */
function parseFields(rawBody: Buffer, contentType: string | undefined): Record<string, string | undefined> {
  const text = rawBody.toString("utf8");
  const isJson = (contentType ?? "").toLowerCase().includes("json") || text.trimStart().startsWith("{");
  const fields: Record<string, string | undefined> = {};
  if (!isJson) {
    for (const [key, value] of new URLSearchParams(text)) fields[key] = value;
    return fields;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError("VALIDATION_FAILED", "The notification is not valid JSON.");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new AppError("VALIDATION_FAILED", "The notification is not a JSON object.");
  }
  const numbers = topLevelNumberLiterals(text);
  for (const [key, value] of Object.entries(json)) {
    if (typeof value === "string") fields[key] = value;
    else if (typeof value === "number") fields[key] = numbers.get(key);
    else if (typeof value === "boolean") fields[key] = value ? "1" : "0";
  }
  return fields;
}

/**
 * The source text of each number directly inside the top-level object of a JSON document (already known
 * to be valid), so that `"Amount": 1000.10` is read as the decimal 1000.10 and not as a binary float.
 */
export function topLevelNumberLiterals(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let depth = 0;
  let expectKey = false;
  let key: string | undefined;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const literal = text.slice(i, j + 1);
      if (depth === 1 && expectKey) {
        key = JSON.parse(literal) as string;
        expectKey = false;
      } else {
        key = undefined;
      }
      i = j + 1;
    } else if (c === "{" || c === "[") {
      depth++;
      expectKey = depth === 1 && c === "{";
      key = undefined;
      i++;
    } else if (c === "}" || c === "]") {
      depth--;
      i++;
    } else if (c === ",") {
      if (depth === 1) expectKey = true;
      i++;
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      const match = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
      const literal = match?.[0] ?? c;
      if (depth === 1 && key !== undefined) out.set(key, literal);
      key = undefined;
      i += literal.length;
    } else {
      i++;
    }
  }
  return out;
}
