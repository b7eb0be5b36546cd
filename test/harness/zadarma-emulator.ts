import { createHash, createHmac } from "node:crypto";
import { createReadStream } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local Zadarma API v1 (https://zadarma.com/en/support/api/) for the `zadarma` connector, written
 * from its documentation, independently of the connector's code:
 * - every request carries `Authorization: <key>:<sign>`, sign = base64(hex HMAC-SHA1(secret,
 *   path + sortedQuery + md5(sortedQuery))); otherwise 401 `{"status":"error","message":"Not authorized"}`;
 * - `GET /v1/statistics/pbx/?start&end&version=2&skip&limit` → `{"status":"success","start","end","stats":[...]}`
 *   (calls with start ≤ callstart ≤ end, by callstart);
 * - `GET /v1/pbx/record/request/?pbx_call_id&lifetime` → `{"status":"success","link","lifetime_till"}`.
 */
export interface ZadarmaCall {
  pbx_call_id: string;
  call_id: string;
  callstart: string; // "YYYY-MM-DD HH:MM:SS"
  clid: string;
  destination: string;
  disposition: string;
  seconds: number;
  is_recorded: 0 | 1;
}

export interface ZadarmaEmulator {
  baseUrl: string;
  calls: ZadarmaCall[];
  statsRequests: URLSearchParams[];
  close(): Promise<void>;
}

/** PHP's http_build_query over the parameters sorted by name, as the documentation's examples build it. */
function phpQuery(params: URLSearchParams): string {
  const sorted = [...params.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replace(/%20/g, "+")}`)
    .join("&");
}

export async function startZadarmaEmulator(options: {
  apiKey: string;
  apiSecret: string;
  recordingPath: string;
  calls?: ZadarmaCall[];
}): Promise<ZadarmaEmulator> {
  const calls = [...(options.calls ?? [])];
  const statsRequests: URLSearchParams[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://zadarma");
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname.startsWith("/records/")) {
      res.writeHead(200, { "content-type": "audio/mpeg" });
      createReadStream(options.recordingPath).pipe(res);
      return;
    }
    const query = phpQuery(url.searchParams);
    const md5 = createHash("md5").update(query).digest("hex");
    const expected = Buffer.from(
      createHmac("sha1", options.apiSecret)
        .update(url.pathname + query + md5)
        .digest("hex"),
    ).toString("base64");
    if (req.headers.authorization !== `${options.apiKey}:${expected}`) {
      return json(401, { status: "error", message: "Not authorized" });
    }
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (url.pathname === "/v1/statistics/pbx/") {
      statsRequests.push(url.searchParams);
      const start = url.searchParams.get("start") ?? "";
      const end = url.searchParams.get("end") ?? "9999";
      const skip = Number(url.searchParams.get("skip") ?? 0);
      const limit = Math.min(Number(url.searchParams.get("limit") ?? 1000), 1000);
      const inWindow = calls
        .filter((c) => c.callstart >= start && c.callstart <= end)
        .sort((a, b) => (a.callstart < b.callstart ? -1 : 1));
      return json(200, { status: "success", start, end, stats: inWindow.slice(skip, skip + limit) });
    }
    if (url.pathname === "/v1/pbx/record/request/") {
      const id = url.searchParams.get("pbx_call_id");
      const call = calls.find((c) => c.pbx_call_id === id && c.is_recorded);
      if (!call) return json(404, { status: "error", message: "Record not found" });
      return json(200, {
        status: "success",
        link: `${base}/records/${encodeURIComponent(call.pbx_call_id)}.mp3`,
        lifetime_till: "2099-01-01 00:00:00",
      });
    }
    json(404, { status: "error", message: "Method not found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    calls,
    statsRequests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
