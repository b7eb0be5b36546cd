import { randomUUID } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import nodemailer from "nodemailer";
import { AppError } from "../../errors/app-error.ts";
import type { Mailer, MailMessage } from "./mailer.ts";

export interface OutboxMailerOptions {
  /** Directory the `.eml` files go to, e.g. DATA_DIR/outbox; created when missing. */
  dir: string;
  /** The `From:` header. */
  from: string;
  /** Names the files; defaults to the wall clock. */
  clock?: () => Date;
}

/**
 * The offline mail adapter for embedded defaults: each message becomes one RFC 822 file
 * `<UTC timestamp>-<uuid>.eml` in `dir`, MIME-encoded exactly as SMTP would carry it (open it with any
 * mail client). Written to a hidden temp file in the same directory, then renamed: a reader never sees
 * a half-written `.eml`, and a crash leaves only a `.tmp` file behind.
 */
export function createOutboxMailer(options: OutboxMailerOptions): Mailer {
  const clock = options.clock ?? (() => new Date());
  // Builds the message in memory; nothing leaves the process.
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "windows" });

  return {
    async send(message: MailMessage) {
      if (message.to.length === 0) {
        throw new AppError("INTERNAL", "An e-mail needs at least one recipient.");
      }
      let raw: unknown;
      try {
        const info = await composer.sendMail({
          from: options.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          ...(message.html === undefined ? {} : { html: message.html }),
        });
        raw = info.message;
      } catch (error) {
        throw new AppError("INTERNAL", "The e-mail could not be composed.", { cause: error });
      }
      if (!Buffer.isBuffer(raw)) throw new AppError("INTERNAL", "The e-mail could not be composed.");

      const stamp = clock()
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d+Z$/, "Z");
      const name = `${stamp}-${randomUUID()}.eml`;
      const finalPath = path.join(options.dir, name);
      const tempPath = path.join(options.dir, `.${name}.tmp`);
      try {
        await mkdir(options.dir, { recursive: true });
        await writeFile(tempPath, raw, { flag: "wx", mode: 0o600 });
        await rename(tempPath, finalPath);
      } catch (error) {
        await rm(tempPath, { force: true }).catch(() => {});
        const code = (error as NodeJS.ErrnoException).code;
        // A full or read-only disk may recover; a missing permission will not until someone fixes it.
        const retryable = code !== "EACCES" && code !== "EPERM" && code !== "ENOTDIR" && code !== "EISDIR";
        throw new AppError(
          retryable ? "UNAVAILABLE" : "INTERNAL",
          `The e-mail could not be written to the outbox${code ? ` [${code}]` : ""}.`,
          { retryable, cause: error, context: { dir: options.dir } },
        );
      }
    },
  };
}
