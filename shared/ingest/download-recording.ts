import { createWriteStream } from "node:fs";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AppError } from "../errors/app-error.ts";
import {
  isPrivateAddress,
  literalAddress,
  PrivateAddressError,
  publicOnlyLookup,
} from "../security/public-address.ts";

export { isPrivateAddress };

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  /** Production refuses private, loopback and link-local targets (SSRF); development allows them. */
  allowPrivateAddresses: boolean;
  /** Which addresses count as private when they are refused (default: isPrivateAddress); tests narrow it. */
  isBlocked?: (address: string) => boolean;
  /** Retries after a transient failure (default 2). */
  retries?: number;
  /** First backoff delay; doubles each retry (default 250 ms). */
  retryBaseMs?: number;
}

/**
 * Downloads a recording URL to a local file right away (telephony links often expire within minutes),
 * following at most `maxRedirects` redirects, within a time limit, stopping at `maxBytes`. Transient
 * failures (5xx, 429, a reset or refused connection) are retried with backoff; 4xx are not.
 *
 * SSRF: outside development every connection goes through a DNS lookup that refuses private addresses,
 * so the check applies to the address actually connected to (no DNS rebinding between check and
 * connect), and again on every redirect hop.
 */
export async function downloadRecording(
  url: string,
  filePath: string,
  options: DownloadOptions,
): Promise<{ bytes: number; attempts: number }> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  const retries = options.retries ?? 2;
  const start = parseUrl(url);
  for (let attempt = 1; ; attempt++) {
    try {
      const { bytes } = await downloadOnce(start, filePath, options, signal);
      return { bytes, attempts: attempt };
    } catch (error) {
      const appError = toAppError(error, signal);
      if (!appError.retryable || attempt > retries || signal.aborted) throw appError;
      const delay = (options.retryBaseMs ?? 250) * 2 ** (attempt - 1);
      await new Promise((r) => setTimeout(r, delay));
      if (signal.aborted) throw toAppError(error, signal);
    }
  }
}

async function downloadOnce(
  start: URL,
  filePath: string,
  options: DownloadOptions,
  signal: AbortSignal,
): Promise<{ bytes: number }> {
  let current = start;
  for (let hop = 0; ; hop++) {
    if (!options.allowPrivateAddresses) {
      const literal = literalAddress(current);
      if (literal && (options.isBlocked ?? isPrivateAddress)(literal)) throw privateAddressError();
    }
    const response = await request(current, options, signal);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location) {
      response.resume();
      if (hop >= options.maxRedirects) {
        throw new AppError(
          "MEDIA_UNREADABLE",
          `The recording URL redirected more than ${options.maxRedirects} times.`,
        );
      }
      current = parseUrl(new URL(location, current).toString());
      continue;
    }
    if (status < 200 || status >= 300) {
      response.resume();
      throw new AppError("MEDIA_UNREADABLE", `The recording URL answered HTTP ${status}.`, {
        retryable: status >= 500 || status === 429,
      });
    }
    const declared = Number(response.headers["content-length"] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      response.destroy();
      throw tooLarge();
    }
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > options.maxBytes) done(tooLarge());
        else done(null, chunk);
      },
    });
    await pipeline(response, counter, createWriteStream(filePath), { signal });
    return { bytes };
  }
}

function request(url: URL, options: DownloadOptions, signal: AbortSignal): Promise<IncomingMessage> {
  const get = url.protocol === "https:" ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const req = get(url, {
      signal,
      lookup: options.allowPrivateAddresses
        ? undefined
        : publicOnlyLookup(options.isBlocked ?? isPrivateAddress),
      headers: { "user-agent": "Tyndau-ingest/1", accept: "*/*" },
    });
    req.on("response", resolve);
    req.on("error", reject);
  });
}

function privateAddressError(): AppError {
  return new AppError(
    "VALIDATION_FAILED",
    "recordingUrl points to a private or local address, which is not allowed.",
  );
}

function tooLarge(): AppError {
  return new AppError("PAYLOAD_TOO_LARGE", "The recording at the URL is larger than the limit.");
}

function toAppError(error: unknown, signal: AbortSignal): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof PrivateAddressError) return privateAddressError();
  if (signal.aborted)
    return new AppError("MEDIA_UNREADABLE", "Downloading the recording URL timed out.", { retryable: false });
  const code = (error as { code?: string }).code ?? "";
  const transient = [
    "ECONNRESET",
    "ECONNREFUSED",
    "EPIPE",
    "ETIMEDOUT",
    "EAI_AGAIN",
    "UND_ERR_SOCKET",
  ].includes(code);
  return new AppError("MEDIA_UNREADABLE", "The recording URL could not be downloaded.", {
    retryable: transient,
    cause: error,
  });
}

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AppError("VALIDATION_FAILED", "recordingUrl is not a URL.");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new AppError("VALIDATION_FAILED", "recordingUrl must be http or https.");
  }
  return parsed;
}
