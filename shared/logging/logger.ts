import { pino } from "pino";

export type Logger = pino.Logger;

/**
 * Structured JSON logs. Secrets, tokens, passwords, transcripts and signed URLs are never logged;
 * the redact list is a second line of defence for fields that slip into a log object by accident.
 */
export function createLogger(options: {
  level: string;
  name?: string;
  destination?: pino.DestinationStream;
}): Logger {
  return pino(
    {
      name: options.name ?? "tyndau",
      level: options.level,
      redact: {
        paths: [
          "password",
          "*.password",
          "token",
          "*.token",
          "authorization",
          "*.authorization",
          "req.headers.authorization",
          "signingSecret",
          "*.signingSecret",
          "apiKey",
          "*.apiKey",
          "text",
          "*.text",
          "transcript",
          "*.transcript",
          "signedUrl",
          "*.signedUrl",
        ],
        censor: "[redacted]",
      },
    },
    options.destination ?? pino.destination(1),
  );
}
