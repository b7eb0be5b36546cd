/**
 * A local stand-in for the OpenAI audio API (`POST /v1/audio/transcriptions`, multipart/form-data,
 * Bearer auth) so transcriber tests exercise the real SDK over real HTTP without the internet.
 * Each request is recorded; a script function decides each reply.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import busboy from "busboy";

export interface EmulatorFile {
  fieldName: string;
  filename: string;
  mimeType: string;
  /** Bytes received. */
  size: number;
}

export interface EmulatorRequest {
  /** 0-based arrival order. */
  index: number;
  method: string;
  path: string;
  authorization: string | undefined;
  /** Multipart text fields; repeated names (e.g. `timestamp_granularities[]`) keep every value. */
  fields: Record<string, string[]>;
  file: EmulatorFile | undefined;
}

export interface EmulatorSegment {
  start: number;
  end: number;
  text: string;
}

export type EmulatorReply =
  /** A successful transcription, shaped by the request's response_format. */
  | {
      kind: "transcription";
      text?: string;
      /** Whisper reports a language name ("english"), not a code. */
      language?: string;
      duration?: number;
      /** null or omitted: no segments key at all (as gpt-4o-transcribe answers). */
      segments?: EmulatorSegment[] | null;
    }
  /** An OpenAI-style error body `{error:{message,type,param,code}}`. */
  | {
      kind: "error";
      status: number;
      message?: string;
      type?: string;
      code?: string | null;
      headers?: Record<string, string>;
    }
  | { kind: "raw"; status: number; body: string; headers?: Record<string, string> }
  /** Never answer (the connection is dropped on close()): for client timeouts. */
  | { kind: "hang" };

export interface OpenAiEmulatorOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>` or get 401. */
  apiKey?: string;
  /** Decides the reply to each authorised transcription request; default: one segment of fixed text. */
  respond?: (request: EmulatorRequest) => EmulatorReply | Promise<EmulatorReply>;
}

export interface OpenAiEmulator {
  /** Ends with /v1, ready for the SDK's baseURL. */
  baseUrl: string;
  requests: EmulatorRequest[];
  close(): Promise<void>;
}

export const DEFAULT_EMULATOR_TEXT = "Hello from the transcription emulator.";

export async function startOpenAiEmulator(options: OpenAiEmulatorOptions = {}): Promise<OpenAiEmulator> {
  const requests: EmulatorRequest[] = [];
  const respond =
    options.respond ?? (() => ({ kind: "transcription", text: DEFAULT_EMULATOR_TEXT }) as const);

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        sendError(res, 500, err instanceof Error ? err.message : String(err), "server_error");
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "POST" || path !== "/v1/audio/transcriptions") {
      req.resume();
      sendError(
        res,
        404,
        `Unknown request URL: ${req.method} ${path}.`,
        "invalid_request_error",
        "unknown_url",
      );
      return;
    }
    const request: EmulatorRequest = {
      index: requests.length,
      method: req.method,
      path,
      authorization: req.headers.authorization,
      fields: {},
      file: undefined,
    };
    requests.push(request);

    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      req.resume();
      sendError(res, 401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key");
      return;
    }
    if (!(req.headers["content-type"] ?? "").startsWith("multipart/form-data")) {
      req.resume();
      sendError(res, 400, "Expected multipart/form-data.", "invalid_request_error");
      return;
    }

    await readMultipart(req, request);
    if (!request.file || request.file.size === 0) {
      sendError(res, 400, "No audio file was uploaded.", "invalid_request_error");
      return;
    }
    if (!request.fields.model?.[0]) {
      sendError(res, 400, "you must provide a model parameter", "invalid_request_error");
      return;
    }

    const reply = await respond(request);
    switch (reply.kind) {
      case "transcription":
        sendTranscription(res, request, reply);
        return;
      case "error":
        sendError(
          res,
          reply.status,
          reply.message ?? `Scripted error ${reply.status}.`,
          reply.type ?? "server_error",
          reply.code ?? null,
          reply.headers,
        );
        return;
      case "raw":
        res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
        res.end(reply.body);
        return;
      case "hang":
        return;
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function readMultipart(req: IncomingMessage, request: EmulatorRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    const parser = busboy({ headers: req.headers });
    parser.on("field", (name, value) => {
      request.fields[name] = [...(request.fields[name] ?? []), value];
    });
    parser.on("file", (fieldName, stream, info) => {
      const file: EmulatorFile = {
        fieldName,
        filename: info.filename ?? "",
        mimeType: info.mimeType,
        size: 0,
      };
      request.file = file;
      stream.on("data", (chunk: Buffer) => {
        file.size += chunk.length;
      });
    });
    parser.on("close", () => resolve());
    parser.on("error", reject);
    req.pipe(parser);
  });
}

function sendTranscription(
  res: ServerResponse,
  request: EmulatorRequest,
  reply: Extract<EmulatorReply, { kind: "transcription" }>,
): void {
  const format = request.fields.response_format?.[0] ?? "json";
  const segments = reply.segments ?? undefined;
  const text = reply.text ?? segments?.map((s) => s.text).join("") ?? "";
  if (format === "text") {
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end(text);
    return;
  }
  if (format === "verbose_json") {
    const body = {
      task: "transcription",
      language: reply.language ?? "english",
      duration: reply.duration ?? segments?.at(-1)?.end ?? 0,
      text,
      ...(segments === undefined
        ? {}
        : {
            segments: segments.map((s, id) => ({
              id,
              seek: 0,
              start: s.start,
              end: s.end,
              text: s.text,
              tokens: [],
              temperature: 0,
              avg_logprob: -0.1,
              compression_ratio: 1,
              no_speech_prob: 0.01,
            })),
          }),
    };
    sendJson(res, 200, body);
    return;
  }
  sendJson(res, 200, { text });
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  type: string,
  code: string | null = null,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error: { message, type, param: null, code } }, headers);
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
