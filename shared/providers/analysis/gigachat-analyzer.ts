/**
 * Analysis through Sber GigaChat (developers.sber.ru/docs/ru/gigachat/api).
 *
 * Auth: `POST {authUrl}` (default https://ngw.devices.sberbank.ru:9443/api/v2/oauth), form body
 * `scope=GIGACHAT_API_PERS|GIGACHAT_API_B2B|GIGACHAT_API_CORP`, headers `Authorization: Basic <authorization
 * key>` (base64 of client_id:client_secret, as the personal cabinet issues it) and `RqUID: <uuid4>` →
 * `{ access_token, expires_at }` (epoch milliseconds; a token lives 30 minutes). The token is cached,
 * renewed `renewBeforeMs` before it expires, and renewed once more if the API still answers 401.
 * Concurrent analyses share one token request.
 *
 * Chat: `POST {apiUrl}/chat/completions` (default https://gigachat.devices.sberbank.ru/api/v1),
 * `Authorization: Bearer <access_token>`, OpenAI-like body `{ model, messages, stream: false, max_tokens }`
 * → `choices[0].message.content`, `usage.prompt_tokens / completion_tokens`. GigaChat has no JSON-schema
 * mode, so the schema is written into the system prompt and the engine's validation and repair do the rest.
 *
 * TLS: both Sber hosts present certificates of the Russian Ministry of Digital Development's root CA
 * ("Russian Trusted Root CA"), which Node does not ship. `caCertPath` names a PEM bundle that is trusted
 * in addition to Node's own roots. This adapter uses `node:https` with its own Agent for that: Node's
 * global fetch can only take a custom CA through an undici dispatcher, and `undici` is bundled inside
 * Node but not importable without adding it as a dependency; changing the process-wide dispatcher
 * (or NODE_EXTRA_CA_CERTS) would widen the trust of every other request the process makes.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";
import { rootCertificates } from "node:tls";
import { z } from "zod";
import { AppError } from "../../errors/app-error.ts";
import type { CallAnalyzer } from "./call-analyzer.ts";
import {
  createLlmAnalyzer,
  httpFailure,
  isTlsVerificationError,
  type LlmCompletion,
  type LlmCompletionRequest,
  requestDeadline,
  retryAfterSeconds,
  toChatMessages,
  transportFailure,
} from "./llm-analyzer.ts";

export type GigaChatScope = "GIGACHAT_API_PERS" | "GIGACHAT_API_B2B" | "GIGACHAT_API_CORP";

export interface GigaChatAnalyzerOptions {
  /** The "Authorization key" of the GigaChat API project (base64 of client_id:client_secret). */
  authKey: string;
  /** Default GIGACHAT_API_PERS (individuals); B2B / CORP for companies' paid packages. */
  scope?: GigaChatScope;
  /** "GigaChat" (default), "GigaChat-Pro", "GigaChat-Max", "GigaChat-2-Max" … */
  model?: string;
  authUrl?: string;
  /** The API root, ending with /api/v1. */
  apiUrl?: string;
  /** PEM file of the CA(s) to trust besides Node's roots (the Russian Trusted Root CA for Sber). */
  caCertPath?: string;
  /** Per HTTP request (token or chat), milliseconds. Default 120 s. */
  timeoutMs?: number;
  /** A cached token is replaced this long before it expires. Default 60 s. */
  renewBeforeMs?: number;
  /** Sent only when set: GigaChat's own default applies otherwise. */
  temperature?: number;
  /** Cap on the reply's tokens. Default 4000. */
  maxOutputTokens?: number;
  /** Epoch milliseconds; tests move it to reach token expiry. */
  now?: () => number;
}

export const GIGACHAT_AUTH_URL = "https://ngw.devices.sberbank.ru:9443/api/v2/oauth";
export const GIGACHAT_API_URL = "https://gigachat.devices.sberbank.ru/api/v1";
const PROVIDER = "gigachat";
const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_RENEW_BEFORE_MS = 60_000;
const DEFAULT_MAX_OUTPUT_TOKENS = 4000;

const tokenSchema = z.object({ access_token: z.string().min(1), expires_at: z.number() });

const completionSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullish() }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: z.object({ prompt_tokens: z.number().nullish(), completion_tokens: z.number().nullish() }).nullish(),
});

interface CachedToken {
  value: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export function createGigaChatAnalyzer(options: GigaChatAnalyzerOptions): CallAnalyzer {
  const authUrl = new URL(options.authUrl ?? GIGACHAT_AUTH_URL);
  const chatUrl = new URL(`${(options.apiUrl ?? GIGACHAT_API_URL).replace(/\/+$/, "")}/chat/completions`);
  const scope = options.scope ?? "GIGACHAT_API_PERS";
  const model = options.model ?? "GigaChat";
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const renewBeforeMs = options.renewBeforeMs ?? DEFAULT_RENEW_BEFORE_MS;
  const now = options.now ?? Date.now;
  // Read once at start: a missing bundle is a configuration error to see at boot, not per call.
  const httpsAgent =
    options.caCertPath === undefined
      ? undefined
      : new https.Agent({
          keepAlive: true,
          ca: [...rootCertificates, readFileSync(options.caCertPath, "utf8")],
        });

  let token: CachedToken | undefined;
  let pendingToken: Promise<CachedToken> | undefined;

  async function send(
    url: URL,
    init: { headers: Record<string, string>; body: string },
    signal: AbortSignal | undefined,
  ): Promise<HttpReply> {
    const deadline = requestDeadline(timeoutMs, signal);
    try {
      return await postOnce(url, init, deadline.signal, url.protocol === "https:" ? httpsAgent : undefined);
    } catch (err) {
      if (deadline.timedOut()) throw transportFailure(PROVIDER, "timeout", err, { model });
      if (signal?.aborted) throw transportFailure(PROVIDER, "cancelled", err, { model });
      if (isTlsVerificationError(err)) throw transportFailure(PROVIDER, "tls", err, { model });
      throw transportFailure(PROVIDER, "network", err, { model });
    }
  }

  async function requestToken(): Promise<CachedToken> {
    // Not tied to one analysis' signal: concurrent analyses wait on this same request.
    const reply = await send(
      authUrl,
      {
        headers: {
          Authorization: `Basic ${options.authKey}`,
          RqUID: randomUUID(),
          "Content-Type": "application/x-www-form-urlencoded",
          Accept: "application/json",
        },
        body: new URLSearchParams({ scope }).toString(),
      },
      undefined,
    );
    if (reply.status !== 200) throw failureOf(reply, "token request");
    const parsed = tokenSchema.safeParse(parseJson(reply.body));
    if (!parsed.success) {
      throw transportFailure(PROVIDER, "protocol", new Error("the token response has no access_token"));
    }
    const { access_token, expires_at } = parsed.data;
    // Documented in milliseconds; an older variant of the service spoke seconds.
    return { value: access_token, expiresAt: expires_at < 1e12 ? expires_at * 1000 : expires_at };
  }

  async function currentToken(): Promise<string> {
    if (token && token.expiresAt - renewBeforeMs > now()) return token.value;
    if (!pendingToken) {
      pendingToken = requestToken()
        .then((fresh) => {
          token = fresh;
          return fresh;
        })
        .finally(() => {
          pendingToken = undefined;
        });
    }
    return (await pendingToken).value;
  }

  async function chat(request: LlmCompletionRequest, accessToken: string): Promise<HttpReply> {
    const body = {
      model,
      messages: toChatMessages(request),
      stream: false,
      max_tokens: options.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS,
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
    };
    return send(
      chatUrl,
      {
        headers: {
          Authorization: `Bearer ${accessToken}`,
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-Request-ID": randomUUID(),
        },
        body: JSON.stringify(body),
      },
      request.signal,
    );
  }

  async function complete(request: LlmCompletionRequest): Promise<LlmCompletion> {
    const accessToken = await currentToken();
    let reply = await chat(request, accessToken);
    if (reply.status === 401) {
      // Revoked or expired early: forget it (unless a concurrent call already replaced it) and retry once.
      if (token?.value === accessToken) token = undefined;
      reply = await chat(request, await currentToken());
    }
    if (reply.status !== 200) throw failureOf(reply, "chat completion");

    const parsed = completionSchema.safeParse(parseJson(reply.body));
    if (!parsed.success) {
      throw transportFailure(PROVIDER, "protocol", new Error("no choices[0].message in the completion"), {
        model,
      });
    }
    const choice = parsed.data.choices[0]!;
    if (choice.finish_reason === "blacklist") {
      // GigaChat's own content filter stopped the reply; the same dialogue will be stopped again.
      throw new AppError("ANALYSIS_FAILED", "GigaChat's content filter declined to answer about this call.", {
        retryable: false,
        context: { provider: PROVIDER, model },
      });
    }
    return {
      content: choice.message.content ?? "",
      usage: {
        inputTokens: parsed.data.usage?.prompt_tokens ?? 0,
        outputTokens: parsed.data.usage?.completion_tokens ?? 0,
      },
    };
  }

  function failureOf(reply: HttpReply, what: string): AppError {
    const retryAfterSec = retryAfterSeconds((name) => headerValue(reply.headers, name));
    const detail = errorMessageOf(reply.body) ?? `${what} failed`;
    // A rejected authorization key stays rejected; say which credential is wrong.
    const prefix = what === "token request" ? "the token request was refused: " : "";
    return httpFailure(PROVIDER, reply.status, `${prefix}${detail}`, { model, retryAfterSec });
  }

  return createLlmAnalyzer({ name: PROVIDER, complete, schemaInPrompt: true });
}

interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One POST over node:http(s); rejects on network errors, on abort, and on a body cut short. */
function postOnce(
  url: URL,
  init: { headers: Record<string, string>; body: string },
  signal: AbortSignal,
  agent: https.Agent | undefined,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === "https:" ? https : http;
    const body = Buffer.from(init.body, "utf8");
    const req = transport.request(
      url,
      {
        method: "POST",
        headers: { ...init.headers, "Content-Length": String(body.length) },
        signal,
        ...(agent === undefined ? {} : { agent }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("close", () => {
          if (!res.complete) reject(new Error("the connection closed before the response was complete"));
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** GigaChat errors are `{ status, message }`; its OAuth service answers `{ code, message }`. */
function errorMessageOf(body: string): string | undefined {
  const parsed = parseJson(body);
  if (typeof parsed === "object" && parsed !== null && "message" in parsed) {
    const message = (parsed as { message: unknown }).message;
    if (typeof message === "string" && message !== "") return message;
  }
  return undefined;
}
