import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { createWriteStream } from "node:fs";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AppError } from "../errors/app-error.ts";

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

// Separate lists: node's BlockList matches IPv4 addresses against IPv4-mapped IPv6 subnets, so a single
// list holding ::ffff:0:0/96 would call every IPv4 address private.
const privateV4 = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  privateV4.addSubnet(net, prefix, "ipv4");
}
const privateV6 = new BlockList();
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  privateV6.addSubnet(net, prefix, "ipv6");
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return privateV4.check(address, "ipv4");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return privateV4.check(mapped[1]!, "ipv4");
  // Other IPv4-mapped/compatible spellings (::ffff:7f00:1) are refused rather than decoded.
  if (/^::ffff:/i.test(address) || /^::[0-9a-f]{1,4}:[0-9a-f]{1,4}$/i.test(address)) return true;
  return privateV6.check(address, "ipv6");
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
      const host = current.hostname.replace(/^\[|\]$/g, "");
      if (isIP(host) && (options.isBlocked ?? isPrivateAddress)(host)) throw privateAddressError();
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

/** A dns.lookup that fails for private, loopback and link-local answers: used for every connection. */
const publicOnlyLookup =
  (isBlocked: (address: string) => boolean): LookupFunction =>
  (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const list = addresses as LookupAddress[];
      if (list.length === 0 || list.some((a) => isBlocked(a.address))) {
        return callback(new PrivateAddressError(), "", 0);
      }
      if ((options as { all?: boolean }).all) {
        (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      } else callback(null, list[0]!.address, list[0]!.family);
    });
  };

class PrivateAddressError extends Error {
  constructor() {
    super("private address");
  }
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
