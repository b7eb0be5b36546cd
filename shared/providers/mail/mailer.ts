/**
 * Outgoing e-mail (HOUSE-STYLE rule 3): the SMTP adapter (smtp-mailer.ts) in production, the outbox adapter
 * (outbox-mailer.ts, `.eml` files on disk) on embedded defaults; create-mailer.ts picks one from config.
 */
export interface MailMessage {
  /** Envelope and `To:` recipients; at least one. */
  to: string[];
  subject: string;
  /** Plain-text body (UTF-8). */
  text: string;
  html?: string;
}

export interface Mailer {
  /**
   * Resolves once the message was handed over (accepted by the SMTP server, or written to the outbox).
   * Rejects with AppError: `UNAVAILABLE` with `retryable: true` for connection failures, timeouts and
   * temporary (4xx) refusals; a non-retryable AppError when the server refused the message for good
   * (5xx: bad credentials, rejected recipient) or the message itself is invalid.
   */
  send(message: MailMessage): Promise<void>;
}
