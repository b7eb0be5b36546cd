import { createReadStream } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A generic JSON call feed as an `http_pull` source reads it (docs/PULL-SOURCES.md):
 * `GET /calls?limit&cursor|since` → `{"items":[{externalId, startedAt, recordingUrl, ...}],"nextCursor","hasMore"}`,
 * oldest first; the cursor is the position after the last item. Recordings are served at /recordings/<id>.
 */
export interface FeedCall {
  externalId: string;
  startedAt: string;
  direction?: "inbound" | "outbound";
  clientPhone?: string;
}

export interface CallFeedServer {
  url: string;
  calls: FeedCall[];
  /** Every /calls request's query, in order. */
  requests: URLSearchParams[];
  close(): Promise<void>;
}

export async function startCallFeedServer(options: {
  recordingPath: string;
  bearerToken?: string;
  calls?: FeedCall[];
}): Promise<CallFeedServer> {
  const calls = [...(options.calls ?? [])];
  const requests: URLSearchParams[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://feed");
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname.startsWith("/recordings/")) {
      res.writeHead(200, { "content-type": "audio/wav" });
      createReadStream(options.recordingPath).pipe(res);
      return;
    }
    if (url.pathname !== "/calls") return json(404, { error: "not found" });
    if (options.bearerToken && req.headers.authorization !== `Bearer ${options.bearerToken}`) {
      return json(401, { error: "unauthorized" });
    }
    requests.push(url.searchParams);
    const limit = Math.min(Number(url.searchParams.get("limit") ?? 100), 1000);
    const cursor = url.searchParams.get("cursor");
    const since = url.searchParams.get("since");
    const start = cursor
      ? Number(cursor)
      : calls.findIndex((c) => !since || c.startedAt >= since) === -1
        ? calls.length
        : calls.findIndex((c) => !since || c.startedAt >= since);
    const page = calls.slice(start, start + limit);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    json(200, {
      items: page.map((c) => ({
        externalId: c.externalId,
        startedAt: c.startedAt,
        direction: c.direction,
        client: c.clientPhone ? { phone: c.clientPhone } : undefined,
        recordingUrl: `${base}/recordings/${encodeURIComponent(c.externalId)}.wav`,
      })),
      nextCursor: String(start + page.length),
      hasMore: start + page.length < calls.length,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/calls`,
    calls,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
