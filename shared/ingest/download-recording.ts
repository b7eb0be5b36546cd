import { lookup } from "node:dns/promises";
import { createWriteStream } from "node:fs";
import { BlockList, isIP } from "node:net";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AppError } from "../errors/app-error.ts";

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  /** Production refuses private, loopback and link-local targets (SSRF); development allows them. */
  allowPrivateAddresses: boolean;
}

const privateRanges = new BlockList();
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
  privateRanges.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  ["::ffff:0:0", 96],
] as const) {
  privateRanges.addSubnet(net, prefix, "ipv6");
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return privateRanges.check(address, family === 4 ? "ipv4" : "ipv6");
}

/**
 * Downloads a recording URL to a local file right away (telephony links often expire within minutes),
 * following at most `maxRedirects` redirects, within a time limit, stopping at `maxBytes`.
 */
export async function downloadRecording(
  url: string,
  filePath: string,
  options: DownloadOptions,
): Promise<{ bytes: number }> {
  let current = parseUrl(url);
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    for (let hop = 0; ; hop++) {
      if (!options.allowPrivateAddresses) await assertPublicHost(current.hostname);
      const response = await fetch(current, { redirect: "manual", signal });
      if (response.status >= 300 && response.status < 400 && response.headers.get("location")) {
        await response.body?.cancel();
        if (hop >= options.maxRedirects) {
          throw new AppError(
            "MEDIA_UNREADABLE",
            `The recording URL redirected more than ${options.maxRedirects} times.`,
          );
        }
        current = parseUrl(new URL(response.headers.get("location")!, current).toString());
        continue;
      }
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        throw new AppError("MEDIA_UNREADABLE", `The recording URL answered HTTP ${response.status}.`, {
          retryable: response.status >= 500 || response.status === 429,
        });
      }
      const declared = Number(response.headers.get("content-length") ?? Number.NaN);
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        await response.body.cancel();
        throw new AppError("PAYLOAD_TOO_LARGE", "The recording at the URL is larger than the limit.");
      }
      let bytes = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          if (bytes > options.maxBytes)
            done(new AppError("PAYLOAD_TOO_LARGE", "The recording at the URL is larger than the limit."));
          else done(null, chunk);
        },
      });
      await pipeline(
        Readable.fromWeb(response.body as import("node:stream/web").ReadableStream),
        counter,
        createWriteStream(filePath),
      );
      return { bytes };
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (signal.aborted)
      throw new AppError("MEDIA_UNREADABLE", "Downloading the recording URL timed out.", { retryable: true });
    throw new AppError("MEDIA_UNREADABLE", "The recording URL could not be downloaded.", {
      retryable: true,
      cause: error,
    });
  }
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

async function assertPublicHost(hostname: string): Promise<void> {
  const host = hostname.replace(/^\[|\]$/g, "");
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  if (addresses.length === 0 || addresses.some(isPrivateAddress)) {
    throw new AppError(
      "VALIDATION_FAILED",
      "recordingUrl points to a private or local address, which is not allowed.",
    );
  }
}
