import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

/** A message as the test SMTP server received it. */
export interface ReceivedMail {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO), lower-cased, in the order given: who actually gets the message. */
  to: string[];
  /** The `Subject:` header, RFC 2047 encoded-words decoded. */
  subject: string;
  /** The text/plain body, transfer-encoding decoded (quoted-printable or base64) as UTF-8. */
  text: string;
  /** Header fields (names lower-cased, values unfolded, encoded-words decoded). */
  headers: Record<string, string>;
  /** The message exactly as transmitted (after SMTP dot-unstuffing). */
  raw: string;
}

export interface TestSmtpServer {
  /** `smtp://127.0.0.1:<port>`: plain SMTP, no STARTTLS offered, AUTH optional (any credentials pass). */
  url: string;
  port: number;
  messages: ReceivedMail[];
  /** Messages for one recipient. */
  messagesTo(address: string): ReceivedMail[];
  close(): Promise<void>;
}

export interface TestSmtpServerOptions {
  /**
   * Refuse a recipient: return an SMTP reply code (e.g. 550 permanent, 450 temporary) for an address,
   * or undefined to accept it.
   */
  rejectRecipient?: (address: string) => number | undefined;
}

/** A local SMTP server on 127.0.0.1 and a free port, collecting every message it accepts. */
export async function startTestSmtpServer(options: TestSmtpServerOptions = {}): Promise<TestSmtpServer> {
  const messages: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ["STARTTLS"],
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? "anonymous" });
    },
    onRcptTo(address, _session, callback) {
      const code = options.rejectRecipient?.(address.address);
      if (code === undefined) {
        callback();
        return;
      }
      const error = Object.assign(new Error(`Recipient refused by the test server`), { responseCode: code });
      callback(error);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", (error) => callback(error));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const parsed = parseRawMessage(raw);
        const from = session.envelope.mailFrom;
        messages.push({
          ...parsed,
          from: from ? from.address : "",
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          raw,
        });
        callback();
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    messagesTo: (address) => messages.filter((m) => m.to.includes(address.toLowerCase())),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Just enough MIME for tests: header fields, the Subject decoded, and the first text/plain body
 * (single-part or inside a multipart), decoded from quoted-printable or base64.
 */
export function parseRawMessage(raw: string): {
  subject: string;
  text: string;
  headers: Record<string, string>;
} {
  const { headers, body } = splitEntity(raw);
  return { headers, subject: headers.subject ?? "", text: textBodyOf(headers, body) ?? "" };
}

function splitEntity(raw: string): { headers: Record<string, string>; body: string } {
  const normalized = raw.replace(/\r\n/g, "\n");
  const end = normalized.indexOf("\n\n");
  const head = end === -1 ? normalized : normalized.slice(0, end);
  const body = end === -1 ? "" : normalized.slice(end + 2);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\n[ \t]+/g, " ").split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers[name] ??= decodeEncodedWords(line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function textBodyOf(headers: Record<string, string>, body: string): string | undefined {
  const contentType = (headers["content-type"] ?? "text/plain").toLowerCase();
  if (contentType.startsWith("multipart/")) {
    const boundary = /boundary="?([^";]+)"?/i.exec(headers["content-type"] ?? "")?.[1];
    if (!boundary) return undefined;
    const parts = body.split(`--${boundary}`).slice(1);
    for (const part of parts) {
      if (part.startsWith("--")) break;
      const entity = splitEntity(part.replace(/^\n/, ""));
      const text = textBodyOf(entity.headers, entity.body);
      if (text !== undefined) return text;
    }
    return undefined;
  }
  if (!contentType.startsWith("text/plain")) return undefined;
  const encoding = (headers["content-transfer-encoding"] ?? "7bit").toLowerCase();
  if (encoding === "quoted-printable") return decodeQuotedPrintable(body).replace(/\n$/, "");
  if (encoding === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  return body.replace(/\n$/, "");
}

function decodeQuotedPrintable(input: string): string {
  return quotedPrintableBytes(input.replace(/=\n/g, "")).toString("utf8");
}

function quotedPrintableBytes(input: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    const hex = input.slice(i + 1, i + 3);
    if (ch === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      for (const b of Buffer.from(ch, "utf8")) bytes.push(b);
    }
  }
  return Buffer.from(bytes);
}

/** RFC 2047: `=?charset?B|Q?…?=`, whitespace between adjacent encoded-words dropped (UTF-8 only). */
function decodeEncodedWords(value: string): string {
  const pattern = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;
  const joined = value.replace(/(\?=)\s+(?==\?)/g, "$1");
  // Adjacent words may split one multi-byte character: decode the bytes of a run together.
  return joined.replace(/(?:=\?[^?]+\?[BbQq]\?[^?]*\?=)+/g, (run) => {
    const bytes: Buffer[] = [];
    for (const m of run.matchAll(pattern)) {
      const [, , encoding, data = ""] = m;
      if (encoding?.toUpperCase() === "B") bytes.push(Buffer.from(data, "base64"));
      else bytes.push(quotedPrintableBytes(data.replace(/_/g, " ")));
    }
    return Buffer.concat(bytes).toString("utf8");
  });
}
