import type { NodemailerError } from "nodemailer";
import nodemailer from "nodemailer";
import { AppError } from "../../errors/app-error.ts";
import type { Mailer, MailMessage } from "./mailer.ts";

export interface SmtpMailerOptions {
  /**
   * `smtp://[user:pass@]host[:port]` — STARTTLS (port 587 by default): required when the URL carries
   * credentials, so a password never goes out in clear text, else used when the server offers it;
   * `?requireTLS=true|false` overrides (false: e.g. a trusted relay on localhost without TLS).
   * `smtps://[user:pass@]host[:port]` — TLS from the first byte (port 465 by default).
   * User and password are percent-decoded. Server certificates are always verified.
   */
  url: string;
  /** The `From:` header, e.g. `Tyndau <no-reply@tyndau.kz>`. */
  from: string;
  /** Milliseconds; defaults below. A send never waits on a dead server longer than these. */
  timeouts?: Partial<SmtpTimeouts>;
}

export interface SmtpTimeouts {
  /** TCP (and for smtps, TLS) connection established. */
  connectionMs: number;
  /** The server's 220 greeting after connecting. */
  greetingMs: number;
  /** Inactivity on an open connection (any command's reply). */
  socketMs: number;
  /** Resolving the host name. */
  dnsMs: number;
}

export const DEFAULT_SMTP_TIMEOUTS: SmtpTimeouts = {
  connectionMs: 10_000,
  greetingMs: 10_000,
  socketMs: 30_000,
  dnsMs: 10_000,
};

/**
 * The real mail adapter: one SMTP connection per message (notifications are few; no pool to keep
 * healthy or close). Vendor errors become AppErrors (see `toMailError`); neither the password nor the
 * message body ever appears in an error message.
 */
export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  const endpoint = parseSmtpUrl(options.url);
  const timeouts = { ...DEFAULT_SMTP_TIMEOUTS, ...options.timeouts };
  const transport = nodemailer.createTransport({
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.secure,
    requireTLS: endpoint.requireTLS,
    auth: endpoint.auth,
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    dnsTimeout: timeouts.dnsMs,
    // Never print SMTP traffic: it carries the recipients and the body.
    logger: false,
    debug: false,
  });

  return {
    async send(message: MailMessage) {
      if (message.to.length === 0) {
        throw new AppError("INTERNAL", "An e-mail needs at least one recipient.");
      }
      try {
        // A partial rejection (some recipients refused, others accepted) resolves: the message went out,
        // and sending it again would duplicate it for those who got it.
        await transport.sendMail({
          from: options.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          ...(message.html === undefined ? {} : { html: message.html }),
        });
      } catch (error) {
        throw toMailError(error, endpoint.host);
      }
    },
  };
}

export interface SmtpEndpoint {
  host: string;
  port: number;
  secure: boolean;
  requireTLS: boolean;
  auth: { user: string; pass: string } | undefined;
}

/** Parses SMTP_URL; the error never repeats the URL, which may hold a password. */
export function parseSmtpUrl(url: string): SmtpEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AppError("INTERNAL", "The SMTP URL is not a valid URL (expected smtp:// or smtps://).");
  }
  if (parsed.protocol !== "smtp:" && parsed.protocol !== "smtps:") {
    throw new AppError(
      "INTERNAL",
      `The SMTP URL must start with smtp:// or smtps://, not ${parsed.protocol}//.`,
    );
  }
  // WHATWG URL keeps IPv6 literals bracketed; the socket wants them bare.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host.length === 0) throw new AppError("INTERNAL", "The SMTP URL has no host.");
  const secure = parsed.protocol === "smtps:";
  const user = decodeURIComponent(parsed.username);
  const pass = decodeURIComponent(parsed.password);
  const auth = user.length > 0 ? { user, pass } : undefined;
  const requireTLSParam = parsed.searchParams.get("requireTLS");
  if (requireTLSParam !== null && !["true", "1", "false", "0"].includes(requireTLSParam)) {
    throw new AppError("INTERNAL", "The SMTP URL's requireTLS must be true or false.");
  }
  // A password never crosses the network in clear text unless the URL says so (?requireTLS=false).
  const requireTLS =
    requireTLSParam === null
      ? !secure && auth !== undefined
      : requireTLSParam === "true" || requireTLSParam === "1";
  if (secure && requireTLS) {
    throw new AppError("INTERNAL", "requireTLS applies to smtp:// (STARTTLS); smtps:// is TLS already.");
  }
  return {
    host,
    port: parsed.port ? Number(parsed.port) : secure ? 465 : 587,
    secure,
    requireTLS,
    auth,
  };
}

/** nodemailer codes that say a failure will repeat until someone changes the configuration or the message. */
const PERMANENT_CODES = new Set([
  "EAUTH",
  "ENOAUTH",
  "EOAUTH2",
  "ECONFIG",
  "EENVELOPE",
  "EMESSAGE",
  "EMAXRECIPIENTS",
  "EREQUIRETLS",
]);

/**
 * Vendor error → AppError. An SMTP reply decides by its class (RFC 5321): 4yz and 503 are temporary,
 * other 5yz permanent. Without a reply, connection-level failures (refused, reset, timeouts, DNS, TLS
 * handshake) are temporary; authentication and envelope/message problems are permanent.
 */
export function toMailError(error: unknown, host: string): AppError {
  const e = (error ?? {}) as NodemailerError;
  const code = typeof e.code === "string" ? e.code : undefined;
  const responseCode = typeof e.responseCode === "number" ? e.responseCode : undefined;
  const context = { host, smtpCode: code, smtpResponseCode: responseCode, smtpCommand: e.command };
  const permanent =
    responseCode !== undefined
      ? responseCode >= 500 && responseCode < 600 && responseCode !== 503
      : code !== undefined && PERMANENT_CODES.has(code);
  if (permanent) {
    return new AppError(
      "INTERNAL",
      `The mail server refused the message${responseCode ? ` (${responseCode})` : ""}${code ? ` [${code}]` : ""}.`,
      { retryable: false, cause: error, context },
    );
  }
  return new AppError(
    "UNAVAILABLE",
    `The mail server is unavailable${responseCode ? ` (${responseCode})` : ""}${code ? ` [${code}]` : ""}; try again later.`,
    { retryable: true, cause: error, context },
  );
}
