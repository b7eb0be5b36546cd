/**
 * A local stand-in for Sber GigaChat, written from developers.sber.ru/docs/ru/gigachat/api:
 *  - `POST /api/v2/oauth` (the ngw host): form body `scope=…`, headers `Authorization: Basic <key>` and
 *    `RqUID: <uuid4>` → `{ access_token, expires_at }` (epoch ms); errors `{ code, message }`.
 *  - `POST /api/v1/chat/completions` (the gigachat host): `Authorization: Bearer <token>`, OpenAI-like
 *    body → `{ choices: [{ message: { role, content }, index, finish_reason }], created, model,
 *    object: "chat.completion", usage: { prompt_tokens, completion_tokens, total_tokens } }`;
 *    errors `{ status, message }`; an unknown, expired or revoked token gets 401.
 * Both hosts are served by one server. Tokens expire after `tokenTtlMs`; `revokeTokens()` invalidates
 * all issued ones at once (a server-side expiry the client cannot foresee). Optional TLS with a given
 * key/certificate, to test a custom CA bundle. Every request is recorded; `respond` scripts the chat replies.
 */
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import {
  type ChatEmulatorRequest,
  type ChatReply,
  chatContent,
  chatMessagesOf,
  findJsonSchema,
  parseObject,
  readBody,
  tokenUsage,
} from "./openai-emulator.ts";

export const GIGACHAT_SCOPES = ["GIGACHAT_API_PERS", "GIGACHAT_API_B2B", "GIGACHAT_API_CORP"];

export interface GigaChatOAuthRequest {
  index: number;
  authorization: string | undefined;
  rqUid: string | undefined;
  scope: string | null;
}

export interface GigaChatEmulatorOptions {
  /** The authorization key clients must present as `Basic <authKey>`. */
  authKey: string;
  /** The scope the key is issued for. Default GIGACHAT_API_PERS. */
  scope?: string;
  /** Lifetime of issued tokens. Default 30 minutes, as the service documents. */
  tokenTtlMs?: number;
  /** Decides the reply to each authorised chat request; default: the fake model's answer. */
  respond?: (request: ChatEmulatorRequest) => ChatReply | Promise<ChatReply>;
  /** Serve HTTPS with this PEM key and certificate. */
  tls?: { key: string; cert: string };
}

export interface GigaChatEmulator {
  /** The full OAuth URL (…/api/v2/oauth). */
  authUrl: string;
  /** The API root (…/api/v1). */
  apiUrl: string;
  oauthRequests: GigaChatOAuthRequest[];
  chatRequests: ChatEmulatorRequest[];
  /** Chat requests refused with 401 (unknown, expired or revoked token). */
  rejectedTokens: number;
  /** Invalidates every token issued so far. */
  revokeTokens(): void;
  close(): Promise<void>;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export async function startGigaChatEmulator(options: GigaChatEmulatorOptions): Promise<GigaChatEmulator> {
  const scope = options.scope ?? "GIGACHAT_API_PERS";
  const ttlMs = options.tokenTtlMs ?? 30 * 60_000;
  const respond = options.respond ?? (() => ({ kind: "answer" }) as const);
  const tokens = new Map<string, number>();
  const oauthRequests: GigaChatOAuthRequest[] = [];
  const chatRequests: ChatEmulatorRequest[] = [];
  const state = { rejectedTokens: 0 };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { status: 500, message: String(err) });
      else res.destroy();
    });
  };
  const server = options.tls ? createHttpsServer(options.tls, listener) : createHttpServer(listener);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const raw = await readBody(req);
    if (req.method === "POST" && path === "/api/v2/oauth") return oauth(req, res, raw);
    if (req.method === "POST" && path === "/api/v1/chat/completions") return chat(req, res, path, raw);
    sendJson(res, 404, { status: 404, message: "Not Found" });
  }

  function oauth(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const form = new URLSearchParams(raw);
    const rqUid = header(req, "rquid");
    oauthRequests.push({
      index: oauthRequests.length,
      authorization: req.headers.authorization,
      rqUid,
      scope: form.get("scope"),
    });
    if (!(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
      sendJson(res, 400, { code: 4, message: "Can't decode 'Content-Type' header" });
      return;
    }
    if (rqUid === undefined || !UUID.test(rqUid)) {
      sendJson(res, 400, { code: 5, message: "Invalid RqUID" });
      return;
    }
    if (req.headers.authorization !== `Basic ${options.authKey}`) {
      sendJson(res, 401, { code: 6, message: "credentials doesn't match db data" });
      return;
    }
    const requested = form.get("scope");
    if (requested === null || !GIGACHAT_SCOPES.includes(requested)) {
      sendJson(res, 400, { code: 7, message: "scope is empty or invalid" });
      return;
    }
    if (requested !== scope) {
      sendJson(res, 400, { code: 7, message: "scope from db not fully includes consumed scope" });
      return;
    }
    const token = randomBytes(24).toString("base64url");
    const expiresAt = Date.now() + ttlMs;
    tokens.set(token, expiresAt);
    sendJson(res, 200, { access_token: token, expires_at: expiresAt });
  }

  async function chat(req: IncomingMessage, res: ServerResponse, path: string, raw: string): Promise<void> {
    const body = parseObject(raw);
    const messages = chatMessagesOf(body?.messages, "content");
    const request: ChatEmulatorRequest = {
      index: chatRequests.length,
      path,
      headers: req.headers,
      authorization: req.headers.authorization,
      body: body ?? {},
      messages: messages ?? [],
      jsonSchema: findJsonSchema(messages ?? []),
    };
    chatRequests.push(request);

    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const expiresAt = token === undefined ? undefined : tokens.get(token);
    if (expiresAt === undefined || expiresAt <= Date.now()) {
      state.rejectedTokens++;
      sendJson(res, 401, {
        status: 401,
        message: expiresAt === undefined ? "Unauthorized" : "Token has expired",
      });
      return;
    }
    if (body === undefined || typeof body.model !== "string" || !messages || messages.length === 0) {
      sendJson(res, 422, { status: 422, message: "Invalid params: model and messages are required" });
      return;
    }

    const reply = await respond(request);
    switch (reply.kind) {
      case "hang":
        return;
      case "error":
        sendJson(
          res,
          reply.status,
          { status: reply.status, message: reply.message ?? `Scripted error ${reply.status}` },
          reply.headers,
        );
        return;
      case "raw":
        res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
        res.end(reply.body);
        return;
      default: {
        const { content, finishReason } = chatContent(reply, request);
        const usage = tokenUsage(messages, content);
        sendJson(res, 200, {
          choices: [{ message: { role: "assistant", content }, index: 0, finish_reason: finishReason }],
          created: Math.floor(Date.now() / 1000),
          model: `${body.model}:1.0.26.20`,
          object: "chat.completion",
          usage: {
            prompt_tokens: usage.input,
            completion_tokens: usage.output,
            total_tokens: usage.input + usage.output,
            precached_prompt_tokens: 0,
          },
        });
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;

  return {
    authUrl: `${origin}/api/v2/oauth`,
    apiUrl: `${origin}/api/v1`,
    oauthRequests,
    chatRequests,
    get rejectedTokens() {
      return state.rejectedTokens;
    },
    revokeTokens: () => tokens.clear(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}
