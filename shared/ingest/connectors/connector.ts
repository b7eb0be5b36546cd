import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { z } from "zod";
import { AppError, isAppError } from "../../errors/app-error.ts";
import {
  isPrivateAddress,
  literalAddress,
  PrivateAddressError,
  publicOnlyLookup,
} from "../../security/public-address.ts";
import type { CallMetadata } from "../call-metadata.ts";
import type { DownloadOptions } from "../download-recording.ts";

/** One call a remote lists: its metadata and a way to fetch its recording to a local file. */
export interface PulledCall {
  metadata: CallMetadata & { externalId: string };
  /** Set when the remote lists the call but its metadata is unusable: counted as failed, not fetched. */
  invalid?: AppError;
  fetchRecording(filePath: string): Promise<{ bytes: number }>;
}

/** One page of a remote's call history; `cursor` is where the next page (or the next run) starts. */
export interface PullPage {
  calls: PulledCall[];
  cursor: string | null;
  /** True when the remote has nothing more after this page for now. */
  done: boolean;
}

/** The one interface every pull connector implements (http_pull, s3_pull, zadarma). */
export interface PullConnector {
  /** `cursor` null → the first page since the source's `since` date (backfill). */
  fetchPage(cursor: string | null): Promise<PullPage>;
}

export interface ConnectorContext {
  now: Date;
  download: DownloadOptions;
}

/** Fields shared by all pull kinds: backfill start and page size. */
export const pullCommonConfig = {
  /** Backfill: take calls from this instant on (default: the moment the source is created). */
  since: z.iso.datetime({ offset: true }).optional(),
  pageSize: z.number().int().min(1).max(1000).default(100),
};

export const sourceAuthFailed = (what: string, status?: number) =>
  new AppError(
    "SOURCE_AUTH_FAILED",
    `${what} refused the source's credentials${status ? ` (HTTP ${status})` : ""}; check them in the source's settings.`,
  );

/**
 * The remote could not be used. `detail` is one of a few fixed phrases (never a network error's text, an
 * address, or what the remote said), so `lastError` tells an owner what to check without telling anyone
 * what lives on an internal network: an address that is refused because it is not public reads exactly
 * like one that does not answer.
 */
export const sourceUnavailable = (what: string, detail: string, cause?: unknown) =>
  new AppError("SOURCE_UNAVAILABLE", `${what} is unavailable: ${detail}.`, { retryable: true, cause });

export const UNREACHABLE = "it could not be reached";

/** Largest JSON answer a remote may send (a feed page of 1000 calls is well under 1 MiB). */
export const MAX_REMOTE_JSON_BYTES = 4 * 1024 * 1024;

/** Which addresses a connector may connect to: DownloadOptions' policy (production: public only). */
export type NetworkPolicy = Pick<DownloadOptions, "allowPrivateAddresses" | "isBlocked">;

/**
 * GET a JSON document within a time limit and a size limit (counted while it streams), connecting only to
 * public addresses unless the policy allows private ones (the lookup refuses private answers, so the check
 * holds for the address actually connected to); redirects are not followed. Network errors and refused
 * addresses become SOURCE_UNAVAILABLE "could not be reached", 401/403 SOURCE_AUTH_FAILED.
 */
export async function fetchRemoteJson(
  what: string,
  url: URL,
  init: { headers: Record<string, string> },
  network: NetworkPolicy,
  timeoutMs = 30_000,
  maxBytes = MAX_REMOTE_JSON_BYTES,
): Promise<unknown> {
  const isBlocked = network.isBlocked ?? isPrivateAddress;
  if (url.protocol !== "http:" && url.protocol !== "https:") throw sourceUnavailable(what, UNREACHABLE);
  if (!network.allowPrivateAddresses) {
    const literal = literalAddress(url);
    if (literal && isBlocked(literal)) throw sourceUnavailable(what, UNREACHABLE, new PrivateAddressError());
  }
  const signal = AbortSignal.timeout(timeoutMs);
  let response: IncomingMessage;
  try {
    response = await new Promise<IncomingMessage>((resolve, reject) => {
      const get = url.protocol === "https:" ? https.get : http.get;
      const req = get(url, {
        signal,
        headers: init.headers,
        lookup: network.allowPrivateAddresses ? undefined : publicOnlyLookup(isBlocked),
      });
      req.on("response", resolve);
      req.on("error", reject);
    });
  } catch (error) {
    throw sourceUnavailable(what, UNREACHABLE, error);
  }
  const status = response.statusCode ?? 0;
  if (status === 401 || status === 403) {
    response.resume();
    throw sourceAuthFailed(what, status);
  }
  if (status < 200 || status >= 300) {
    response.resume();
    throw sourceUnavailable(what, `it answered HTTP ${status}`);
  }
  const tooLarge = () =>
    sourceUnavailable(what, `its answer is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB`);
  if (Number(response.headers["content-length"] ?? 0) > maxBytes) {
    response.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        response.destroy();
        throw tooLarge();
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (isAppError(error)) throw error;
    throw sourceUnavailable(what, UNREACHABLE, error);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (error) {
    throw sourceUnavailable(what, "its answer is not JSON", error);
  }
}

/** Describes why a remote answer does not match the expected shape, without echoing its data. */
export function parseRemote<S extends z.ZodType>(what: string, schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const first = result.error.issues[0];
    throw sourceUnavailable(
      what,
      `its answer has an unexpected shape (${first?.path.join(".") || "body"}: ${first?.message ?? "invalid"})`,
    );
  }
  return result.data;
}
