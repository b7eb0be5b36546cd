import type { Mailer } from "./mailer.ts";
import { createOutboxMailer } from "./outbox-mailer.ts";
import { createSmtpMailer } from "./smtp-mailer.ts";

export interface MailerOptions {
  /** SMTP_URL: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465`; unset → outbox. */
  smtpUrl?: string;
  /** MAIL_FROM, e.g. `Tyndau <no-reply@tyndau.kz>`. */
  from: string;
  /** Where the outbox adapter writes `.eml` files (DATA_DIR/outbox); unused with SMTP. */
  outboxDir: string;
}

/** The mail adapter the configuration asks for: SMTP when a URL is set, else `.eml` files on disk. */
export function createMailer(options: MailerOptions): Mailer {
  if (options.smtpUrl) return createSmtpMailer({ url: options.smtpUrl, from: options.from });
  return createOutboxMailer({ dir: options.outboxDir, from: options.from });
}
