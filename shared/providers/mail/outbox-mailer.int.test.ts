import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRawMessage, startTestSmtpServer } from "../../../test/harness/smtp-server.ts";
import { AppError } from "../../errors/app-error.ts";
import { createMailer } from "./create-mailer.ts";
import { createOutboxMailer } from "./outbox-mailer.ts";

const FROM = "Tyndau <no-reply@tyndau.kz>";
const message = {
  to: ["owner@example.kz", "second-owner@example.kz"],
  subject: "Tyndau: баланс ниже порога / balance below your threshold",
  text: "Доступный баланс — 400.00 KZT.\n\nThe available balance is 400.00 KZT.\n",
};

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "tyndau-outbox-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("outbox mailer", () => {
  it("writes each message as one complete .eml file, creating the directory", async () => {
    const dir = path.join(root, "a", "outbox");
    const mailer = createOutboxMailer({ dir, from: FROM, clock: () => new Date("2026-03-05T07:08:09.123Z") });
    await mailer.send(message);
    await mailer.send({ ...message, to: ["third@example.kz"] });

    const files = (await readdir(dir)).sort();
    expect(files).toHaveLength(2);
    for (const f of files) expect(f).toMatch(/^20260305T070809Z-[0-9a-f-]{36}\.eml$/);
    const raws = await Promise.all(files.map((f) => readFile(path.join(dir, f), "utf8")));
    const first = raws.find((r) => r.includes("owner@example.kz, second-owner@example.kz"));
    expect(first).toBeDefined();
    // RFC 822 on disk: CRLF line ends, headers, then the MIME-encoded body.
    expect(first).toContain("\r\n\r\n");
    expect(first).not.toMatch(/[^\r]\n/);
    const parsed = parseRawMessage(first!);
    expect(parsed.headers.from).toBe(FROM);
    expect(parsed.headers.to).toBe("owner@example.kz, second-owner@example.kz");
    expect(parsed.headers["mime-version"]).toBe("1.0");
    expect(parsed.subject).toBe(message.subject);
    expect(parsed.text).toContain("Доступный баланс — 400.00 KZT.");
    expect(parsed.text).toContain("The available balance is 400.00 KZT.");
  });

  it("fails with a non-retryable AppError when the directory cannot be created", async () => {
    const blocker = path.join(root, "not-a-dir");
    await writeFile(blocker, "x");
    const mailer = createOutboxMailer({ dir: path.join(blocker, "outbox"), from: FROM });
    let error: unknown;
    try {
      await mailer.send(message);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "INTERNAL", retryable: false });
  });

  it("refuses a message without recipients", async () => {
    const dir = path.join(root, "empty");
    const mailer = createOutboxMailer({ dir, from: FROM });
    await expect(mailer.send({ ...message, to: [] })).rejects.toBeInstanceOf(AppError);
    await expect(readdir(dir)).rejects.toThrow();
  });
});

describe("createMailer", () => {
  it("writes to the outbox when no SMTP URL is configured", async () => {
    const outboxDir = path.join(root, "factory-outbox");
    await createMailer({ from: FROM, outboxDir }).send(message);
    const files = (await readdir(outboxDir)).filter((f) => f.endsWith(".eml"));
    expect(files).toHaveLength(1);
  });

  it("sends over SMTP when SMTP_URL is set, and then writes nothing to the outbox", async () => {
    const smtp = await startTestSmtpServer();
    const outboxDir = path.join(root, "unused-outbox");
    try {
      await createMailer({ smtpUrl: smtp.url, from: FROM, outboxDir }).send(message);
      expect(smtp.messages).toHaveLength(1);
      expect(smtp.messages[0]).toMatchObject({
        from: "no-reply@tyndau.kz",
        to: message.to,
        subject: message.subject,
      });
      expect(smtp.messages[0]!.text).toContain("Доступный баланс — 400.00 KZT.");
    } finally {
      await smtp.close();
    }
    await expect(readdir(outboxDir)).rejects.toThrow();
  });
});
