import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for the CloudPayments API, following its public documentation (see the header of
 * shared/providers/payments/cloudpayments-gateway.ts for the pages): `POST /orders/create` behind HTTP
 * Basic auth (Public ID : API Secret) answering `{Success, Message, Model: {Id, Url, ...}}`, a payment
 * page at Model.Url, and Pay / Fail notifications POSTed form-encoded (or JSON) to the merchant with
 * `Content-HMAC` = base64(HMAC-SHA256(API Secret, raw body)) and `X-Content-HMAC` over the URL-decoded
 * body. Tests drive the real client code against it; nothing reaches the internet.
 */

export interface EmulatedOrderRequest {
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  requestId: string | undefined;
  /** The body exactly as received. */
  rawBody: string;
}

export interface EmulatedOrder {
  Id: string;
  Number: number;
  /** The Amount literal as it appeared in the request's JSON text. */
  amountText: string;
  Currency: string;
  Description: string;
  InvoiceId: string | undefined;
  AccountId: string | undefined;
  Url: string;
}

export interface NotificationFacts {
  invoiceId: string;
  /** The decimal text to send, e.g. "1000.00". */
  amount: string;
  currency: string;
  accountId?: string;
}

export interface DeliverOptions {
  /** Alter the body after signing it (the signature no longer matches). */
  tamper?: boolean;
  /** Form-encoded (the default) or JSON, as the merchant cabinet allows. */
  format?: "form" | "json";
  /** Which signature headers to send; both by default, as CloudPayments does. */
  signatureHeaders?: readonly ("Content-HMAC" | "X-Content-HMAC")[];
}

export interface CloudPaymentsEmulator {
  baseUrl: string;
  publicId: string;
  apiSecret: string;
  /** Every request to the API, in arrival order. */
  requests: EmulatedOrderRequest[];
  orders: Map<string, EmulatedOrder>;
  /** POSTs a (correctly or, with `tamper`, incorrectly) signed Pay or Fail notification to `targetUrl`. */
  deliver(
    kind: "Pay" | "Fail",
    facts: NotificationFacts,
    targetUrl: string,
    opts?: DeliverOptions,
  ): Promise<{ status: number; body: unknown; sentBody: string }>;
  close(): Promise<void>;
}

const CURRENCIES = new Set(["RUB", "USD", "EUR", "GBP", "KZT", "UAH", "BYN", "AZN", "AMD", "KGS", "UZS"]);

export async function startCloudPaymentsEmulator(
  options: { publicId?: string; apiSecret?: string } = {},
): Promise<CloudPaymentsEmulator> {
  const publicId = options.publicId ?? `pk_${randomBytes(8).toString("hex")}`;
  const apiSecret = options.apiSecret ?? randomBytes(16).toString("hex");
  const requests: EmulatedOrderRequest[] = [];
  const orders = new Map<string, EmulatedOrder>();
  const byRequestId = new Map<string, EmulatedOrder>();
  let baseUrl = "";
  let orderNumber = 100;
  let transactionId = 3_000_000;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks).toString("utf8");
      const url = new URL(req.url ?? "/", baseUrl);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
        res.end(JSON.stringify(body));
      };

      if (req.method === "GET" && url.pathname.startsWith("/d/")) {
        const order = orders.get(url.pathname.slice(3));
        if (!order) return json(404, { Success: false, Message: "Not found" });
        res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
        res.end(
          `<!doctype html><title>Order ${order.Number}</title><p>${order.amountText} ${order.Currency}</p>`,
        );
        return;
      }
      if (req.method !== "POST" || url.pathname !== "/orders/create") {
        return json(404, { Success: false, Message: "Not found" });
      }

      const authorization = req.headers.authorization;
      const requestId = header(req, "x-request-id");
      requests.push({
        path: url.pathname,
        authorization,
        contentType: req.headers["content-type"],
        requestId,
        rawBody,
      });
      const expected = `Basic ${Buffer.from(`${publicId}:${apiSecret}`).toString("base64")}`;
      if (authorization !== expected) {
        res.writeHead(401);
        res.end();
        return;
      }
      if (requestId && byRequestId.has(requestId)) return json(200, orderAnswer(byRequestId.get(requestId)!));

      let body: Record<string, unknown>;
      try {
        body = JSON.parse(rawBody) as Record<string, unknown>;
      } catch {
        return json(200, { Success: false, Message: "Invalid JSON" });
      }
      // The emulator checks the amount's text on its own: a JSON number with at most 2 decimals.
      const amountText = /"Amount"\s*:\s*(-?\d+(?:\.\d+)?)\s*[,}]/.exec(rawBody)?.[1];
      if (typeof body.Amount !== "number" || !amountText || !/^\d+(\.\d{1,2})?$/.test(amountText)) {
        return json(200, { Success: false, Message: "Amount is required" });
      }
      if (body.Amount <= 0) return json(200, { Success: false, Message: "Amount must be positive" });
      if (typeof body.Currency !== "string" || !CURRENCIES.has(body.Currency)) {
        return json(200, { Success: false, Message: "Currency is not supported" });
      }
      if (typeof body.Description !== "string" || body.Description.length === 0) {
        return json(200, { Success: false, Message: "Description is required" });
      }
      const id = randomBytes(8).toString("base64url");
      const order: EmulatedOrder = {
        Id: id,
        Number: ++orderNumber,
        amountText,
        Currency: body.Currency,
        Description: body.Description,
        InvoiceId: typeof body.InvoiceId === "string" ? body.InvoiceId : undefined,
        AccountId: typeof body.AccountId === "string" ? body.AccountId : undefined,
        Url: `${baseUrl}/d/${id}`,
      };
      orders.set(id, order);
      if (requestId) byRequestId.set(requestId, order);
      return json(200, orderAnswer(order));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl,
    publicId,
    apiSecret,
    requests,
    orders,
    async deliver(kind, facts, targetUrl, opts = {}) {
      const fields: Record<string, string> = {
        TransactionId: String(++transactionId),
        Amount: facts.amount,
        Currency: facts.currency,
        PaymentAmount: facts.amount,
        PaymentCurrency: facts.currency,
        DateTime: new Date().toISOString().slice(0, 19).replace("T", " "),
        CardFirstSix: "424242",
        CardLastFour: "4242",
        CardType: "Visa",
        CardExpDate: "12/30",
        TestMode: "1",
        Status: kind === "Pay" ? "Completed" : "Declined",
        OperationType: "Payment",
        InvoiceId: facts.invoiceId,
        AccountId: facts.accountId ?? "",
        Name: "TEST CARDHOLDER",
        Email: "payer+test@example.com",
        IpAddress: "127.0.0.1",
        Description: "Top-up & more",
        ...(kind === "Fail" ? { Reason: "InsufficientFunds", ReasonCode: "5051" } : {}),
      };
      const format = opts.format ?? "form";
      const signedBody =
        format === "form"
          ? new URLSearchParams(fields).toString()
          : // CloudPayments' JSON notifications carry amounts as JSON numbers.
            `{${Object.entries(fields)
              .map(([k, v]) =>
                k === "Amount" || k === "PaymentAmount" || k === "TransactionId"
                  ? `${JSON.stringify(k)}:${v}`
                  : `${JSON.stringify(k)}:${JSON.stringify(v)}`,
              )
              .join(",")}}`;
      const sentBody = opts.tamper
        ? format === "form"
          ? signedBody.replace(`Amount=${encodeURIComponent(facts.amount)}`, "Amount=1.00")
          : signedBody.replace(`"Amount":${facts.amount}`, `"Amount":1.00`)
        : signedBody;
      const hmac = (data: string) => createHmac("sha256", apiSecret).update(data, "utf8").digest("base64");
      const wanted = opts.signatureHeaders ?? ["Content-HMAC", "X-Content-HMAC"];
      const headers: Record<string, string> = {
        "Content-Type":
          format === "form"
            ? "application/x-www-form-urlencoded; charset=utf-8"
            : "application/json; charset=utf-8",
      };
      if (wanted.includes("Content-HMAC")) headers["Content-HMAC"] = hmac(signedBody);
      if (wanted.includes("X-Content-HMAC")) {
        headers["X-Content-HMAC"] = hmac(
          format === "form" ? decodeURIComponent(signedBody.replace(/\+/g, " ")) : signedBody,
        );
      }
      const response = await fetch(targetUrl, { method: "POST", headers, body: sentBody });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body, sentBody };
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

function orderAnswer(order: EmulatedOrder) {
  const now = new Date();
  return {
    Success: true,
    Message: null,
    Model: {
      Id: order.Id,
      Number: order.Number,
      Amount: Number(order.amountText),
      Currency: order.Currency,
      CurrencyCode: 0,
      Email: null,
      Description: order.Description,
      RequireConfirmation: false,
      Url: order.Url,
      CultureName: "ru-RU",
      CreatedDate: `/Date(${now.getTime()})/`,
      CreatedDateIso: now.toISOString(),
      PaymentDate: null,
      PaymentDateIso: null,
      StatusCode: 0,
      Status: "Created",
      InternalId: order.Number,
    },
  };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
