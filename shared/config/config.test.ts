import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

describe("loadConfig", () => {
  it("defaults to the embedded setup: PGlite and local files in DATA_DIR, offline speech, demo on", () => {
    const c = loadConfig({ DATA_DIR: "/srv/tyndau" });
    expect(c.database).toEqual({ kind: "pglite", dir: "/srv/tyndau/pglite" });
    expect(c.storage).toEqual({ kind: "local", root: "/srv/tyndau/recordings" });
    expect(c).toMatchObject({
      port: 3000,
      env: "development",
      embedded: true,
      demo: true,
      transcriptionProvider: "pocketsphinx",
    });
    expect(c.publicUrl).toBe("http://localhost:3000");
    expect(c.paymentWebhookSecret).toBe("sandbox-secret");
  });

  it("switches to real services when their variables are set", () => {
    const c = loadConfig({
      DATABASE_URL: "postgres://u@db/tyndau",
      S3_BUCKET: "rec",
      S3_ENDPOINT: "http://s3.local:9000",
      S3_FORCE_PATH_STYLE: "true",
      OPENAI_API_KEY: "sk-test",
    });
    expect(c.database).toMatchObject({ kind: "postgres", url: "postgres://u@db/tyndau" });
    expect(c.storage).toMatchObject({
      kind: "s3",
      bucket: "rec",
      endpoint: "http://s3.local:9000",
      forcePathStyle: true,
    });
    expect(c).toMatchObject({ embedded: false, demo: false, transcriptionProvider: "openai" });
  });

  it("refuses embedded defaults and default secrets in production, naming each", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(ConfigError);
    try {
      loadConfig({
        NODE_ENV: "production",
        DATABASE_URL: "postgres://x/y",
        PAYMENT_WEBHOOK_SECRET: "sandbox-secret",
      });
    } catch (e) {
      const message = (e as Error).message;
      expect(message).toContain("S3_BUCKET");
      expect(message).toContain("PAYMENT_WEBHOOK_SECRET");
      expect(message).toContain("APP_SECRET");
      expect(message).not.toContain("DATABASE_URL");
    }
    const ok = loadConfig({
      NODE_ENV: "production",
      DATABASE_URL: "postgres://x/y",
      S3_BUCKET: "b",
      PAYMENT_WEBHOOK_SECRET: "a-real-webhook-secret",
      APP_SECRET: "a-real-application-secret",
      SMTP_URL: "smtp://mail.internal:587",
    });
    expect(ok.env).toBe("production");
  });

  it("rejects wrong types with the variable's name", () => {
    expect(() => loadConfig({ PORT: "eighty" })).toThrow(/PORT/);
    expect(() => loadConfig({ S3_FORCE_PATH_STYLE: "maybe" })).toThrow(/S3_FORCE_PATH_STYLE/);
    expect(() => loadConfig({ TRANSCRIPTION_PROVIDER: "openai" })).toThrow(/OPENAI_API_KEY/);
    expect(() => loadConfig({ S3_ENDPOINT: "http://x" })).toThrow(/S3_BUCKET/);
  });
});
