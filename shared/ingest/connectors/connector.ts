import { z } from "zod";
import { AppError } from "../../errors/app-error.ts";
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

export const sourceUnavailable = (what: string, detail: string, cause?: unknown) =>
  new AppError("SOURCE_UNAVAILABLE", `${what} is unavailable: ${detail}.`, { retryable: true, cause });

/** fetch() with a time limit; network errors become SOURCE_UNAVAILABLE, 401/403 SOURCE_AUTH_FAILED. */
export async function fetchRemoteJson(
  what: string,
  url: URL,
  init: RequestInit,
  timeoutMs = 30_000,
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
  } catch (error) {
    throw sourceUnavailable(what, "it could not be reached", error);
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw sourceAuthFailed(what, response.status);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw sourceUnavailable(what, `it answered HTTP ${response.status}`);
  }
  try {
    return await response.json();
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
