import { createHash, createHmac } from "node:crypto";
import { z } from "zod";
import { downloadRecording } from "../download-recording.ts";
import {
  type ConnectorContext,
  fetchRemoteJson,
  type PullConnector,
  parseRemote,
  pullCommonConfig,
  sourceAuthFailed,
  sourceUnavailable,
} from "./connector.ts";

/** Settings of a `zadarma` source (docs/PULL-SOURCES.md). */
export const zadarmaConfig = z
  .object({
    baseUrl: z.url().default("https://api.zadarma.com"),
    ...pullCommonConfig,
  })
  .strict();
export const zadarmaSecrets = z
  .object({ apiKey: z.string().min(1).max(200), apiSecret: z.string().min(1).max(200) })
  .strict();

/**
 * Zadarma API v1 request signing (https://zadarma.com/en/support/api/, "Authorization"): parameters
 * sorted by name and encoded as a query string; sign = base64(hex(HMAC-SHA1(secret,
 * method + params + md5(params)))) where method is the path, e.g. "/v1/statistics/pbx/"; header
 * `Authorization: <key>:<sign>`.
 */
export function zadarmaSignature(secret: string, method: string, params: Record<string, string>): string {
  const query = zadarmaQuery(params);
  const md5 = createHash("md5").update(query).digest("hex");
  const hex = createHmac("sha1", secret)
    .update(method + query + md5)
    .digest("hex");
  return Buffer.from(hex, "utf8").toString("base64");
}

/** PHP http_build_query over sorted keys (RFC 1738: spaces as '+'), as Zadarma's own clients send. */
export function zadarmaQuery(params: Record<string, string>): string {
  return new URLSearchParams(
    Object.keys(params)
      .sort()
      .map((k) => [k, params[k]!] as [string, string]),
  ).toString();
}

/** "2026-01-05 09:30:00" (Zadarma's format; the source account's time zone must be UTC, see docs). */
export const zadarmaTime = (d: Date) => d.toISOString().slice(0, 19).replace("T", " ");
const fromZadarmaTime = (s: string) => new Date(`${s.replace(" ", "T")}Z`);

const statsAnswer = z.object({
  status: z.literal("success"),
  stats: z.array(
    z
      .object({
        call_id: z.string().optional(),
        pbx_call_id: z.string().min(1).max(200),
        callstart: z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
        clid: z.string().optional(),
        destination: z.union([z.string(), z.number()]).optional(),
        disposition: z.string().optional(),
        seconds: z.number().optional(),
        is_recorded: z.union([z.boolean(), z.number(), z.string()]).optional(),
      })
      .loose(),
  ),
});
const recordAnswer = z.object({
  status: z.literal("success"),
  link: z.url().optional(),
  links: z.array(z.url()).optional(),
});

/** Cursor: the window being read ([start, end], by callstart) and how many of its rows were taken. */
const cursorSchema = z.object({
  start: z.string(),
  end: z.string().optional(),
  skip: z.number().int().min(0),
});

const WINDOW_OVERLAP_MS = 60 * 60 * 1000;

const isShortNumber = (n: string | undefined) => !!n && /^\d{1,5}$/.test(n);

/**
 * Zadarma call history: `GET /v1/statistics/pbx/?start&end&version=2&skip&limit` lists PBX calls;
 * for each recorded one `GET /v1/pbx/record/request/?pbx_call_id&lifetime` gives a short-lived link.
 */
export function createZadarmaConnector(
  config: z.output<typeof zadarmaConfig>,
  secrets: z.output<typeof zadarmaSecrets>,
  since: Date,
  ctx: ConnectorContext,
): PullConnector {
  const what = "Zadarma";
  const call = async (method: string, params: Record<string, string>) => {
    const url = new URL(method, config.baseUrl);
    url.search = zadarmaQuery(params);
    const body = await fetchRemoteJson(
      what,
      url,
      {
        headers: {
          Authorization: `${secrets.apiKey}:${zadarmaSignature(secrets.apiSecret, method, params)}`,
        },
      },
      ctx.download,
    );
    const status = (body as { status?: string; message?: string } | null)?.status;
    if (status === "error") {
      const message = String((body as { message?: unknown }).message ?? "");
      if (/auth|sign|key/i.test(message)) throw sourceAuthFailed(what);
      // The remote's own text is not repeated: lastError carries only fixed phrases.
      throw sourceUnavailable(what, "it answered an error");
    }
    return body;
  };

  return {
    async fetchPage(raw) {
      const cursor = raw
        ? cursorSchema.parse(JSON.parse(raw))
        : { start: zadarmaTime(since), end: undefined, skip: 0 };
      const end = cursor.end ?? zadarmaTime(ctx.now);
      const page = parseRemote(
        what,
        statsAnswer,
        await call("/v1/statistics/pbx/", {
          start: cursor.start,
          end,
          version: "2",
          skip: String(cursor.skip),
          limit: String(config.pageSize),
        }),
      );
      const done = page.stats.length < config.pageSize;
      // A call appears in the statistics once it ends, listed by its start: the next window reaches back
      // an hour so calls in progress at `end` are not missed (rows seen again are skipped unread).
      const overlapped = zadarmaTime(new Date(fromZadarmaTime(end).getTime() - WINDOW_OVERLAP_MS));
      // Zadarma times are "YYYY-MM-DD HH:MM:SS" strings: the later of two is the greater string.
      const later = [overlapped, cursor.start].sort().at(-1) ?? cursor.start;
      const next = done
        ? { start: later, skip: 0 }
        : { start: cursor.start, end, skip: cursor.skip + page.stats.length };
      const calls = page.stats
        .filter((s) => s.is_recorded === undefined || [true, 1, "1", "true"].includes(s.is_recorded))
        .map((s) => {
          const destination = s.destination === undefined ? undefined : String(s.destination);
          const outbound = isShortNumber(s.clid) && !isShortNumber(destination);
          return {
            metadata: {
              externalId: s.pbx_call_id,
              startedAt: fromZadarmaTime(s.callstart).toISOString(),
              direction: outbound ? ("outbound" as const) : ("inbound" as const),
              operator: { externalId: (outbound ? s.clid : destination)?.slice(0, 200) },
              client: { phone: (outbound ? destination : s.clid)?.slice(0, 40) },
            },
            fetchRecording: async (filePath: string) => {
              const rec = parseRemote(
                what,
                recordAnswer,
                await call("/v1/pbx/record/request/", { pbx_call_id: s.pbx_call_id, lifetime: "1800" }),
              );
              const link = rec.link ?? rec.links?.[0];
              if (!link) throw sourceUnavailable(what, "it gave no recording link");
              return downloadRecording(link, filePath, ctx.download);
            },
          };
        });
      return { calls, cursor: JSON.stringify(next), done };
    },
  };
}
