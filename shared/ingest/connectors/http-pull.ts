import { z } from "zod";
import { callMetadataSchema } from "../call-metadata.ts";
import { downloadRecording } from "../download-recording.ts";
import {
  type ConnectorContext,
  fetchRemoteJson,
  type PullConnector,
  parseRemote,
  pullCommonConfig,
} from "./connector.ts";

/** Settings of an `http_pull` source (docs/PULL-SOURCES.md). */
export const httpPullConfig = z
  .object({
    url: z.url().refine((u) => /^https?:/.test(u), "must be http or https"),
    ...pullCommonConfig,
  })
  .strict();
export const httpPullSecrets = z.object({ bearerToken: z.string().min(1).max(4096).optional() }).strict();

/** The feed's answer: calls after the cursor, oldest first, and the cursor after the last of them. */
const feedPage = z.object({
  items: z.array(callMetadataSchema.extend({ recordingUrl: z.url() }).strip()),
  nextCursor: z.string().max(2000).nullable().optional(),
  hasMore: z.boolean().optional(),
});

/**
 * A generic JSON call feed: `GET <url>?limit=N&cursor=C` (first run `since=<ISO>` instead of the cursor),
 * `Authorization: Bearer <token>` when configured; answer `{"items":[...],"nextCursor","hasMore"}`.
 */
export function createHttpPullConnector(
  config: z.output<typeof httpPullConfig>,
  secrets: z.output<typeof httpPullSecrets>,
  since: Date,
  ctx: ConnectorContext,
): PullConnector {
  const what = "The call feed";
  return {
    async fetchPage(cursor) {
      const url = new URL(config.url);
      url.searchParams.set("limit", String(config.pageSize));
      if (cursor) url.searchParams.set("cursor", cursor);
      else url.searchParams.set("since", since.toISOString());
      const headers: Record<string, string> = { accept: "application/json" };
      if (secrets.bearerToken) headers.authorization = `Bearer ${secrets.bearerToken}`;
      const page = parseRemote(what, feedPage, await fetchRemoteJson(what, url, { headers }, ctx.download));
      const next = page.nextCursor ?? cursor;
      return {
        calls: page.items.map(({ recordingUrl, ...metadata }) => ({
          metadata,
          fetchRecording: (filePath: string) => downloadRecording(recordingUrl, filePath, ctx.download),
        })),
        cursor: next,
        done: page.hasMore === false || page.items.length === 0 || !page.nextCursor,
      };
    },
  };
}
