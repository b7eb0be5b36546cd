/**
 * A local stand-in for Yandex SpeechKit's asynchronous recognition, API v3 REST, written from its
 * documentation (yandex.cloud/docs/speechkit/stt-v3/api-ref): one server plays both hosts.
 *
 *   POST   /stt/v3/recognizeFileAsync            body RecognizeFileRequest (JSON) → Operation
 *   GET    /operations/{id}                       → Operation (done after `pollsUntilDone` polls)
 *   GET    /stt/v3/getRecognition?operationId=    → newline-delimited `{"result": StreamingResponse}`
 *   DELETE /stt/v3/deleteRecognition?operationId= → {}
 *
 * Auth is `Authorization: Api-Key <key>` (401 otherwise) and, when configured, `x-folder-id`. Errors
 * have the gRPC-gateway shape `{ code, message, details }`. The request body is checked the way the
 * service does (content xor uri, a container or raw audio format, a language restriction with a type and
 * codes; the inline WAV must be a RIFF/WAVE file; at most 60 MB). Faults are scripted per submission
 * (`recognize`: HTTP errors, operations that fail or never finish, malformed or truncated results) or
 * per request (`intercept`: e.g. a 429 with Retry-After on the first poll). Every request is recorded;
 * `maxOpenOperations` is the most recognitions in progress at once (submitted, results not yet read).
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SpeechKitEmulatorWord {
  text: string;
  startMs: number;
  endMs: number;
}

export interface SpeechKitUtterance {
  /** Raw recognised text (the `final` message). */
  text: string;
  /** Text of the `finalRefinement.normalizedText` message; none is sent when omitted. */
  normalizedText?: string;
  startMs: number;
  endMs: number;
  /** Default: the text's words spread evenly over [startMs, endMs]. */
  words?: SpeechKitEmulatorWord[];
  /** e.g. "ru-RU"; the language label sent with the alternative. */
  language?: string;
}

export interface SpeechKitSubmission {
  index: number;
  operationId: string;
  /** The decoded inline `content`, or undefined for a `uri` request. */
  audio: Buffer | undefined;
  uri: string | undefined;
  /** From the WAV header of the content. */
  durationSec: number | undefined;
  model: string;
  restrictionType: string | undefined;
  languageCodes: string[];
  textNormalization: string | undefined;
}

export type SpeechKitHttpFault =
  /** A gRPC-gateway error body; `code` defaults from the status (429 → 8, 500 → 13, …). */
  | { kind: "error"; status: number; message?: string; code?: number; headers?: Record<string, string> }
  | { kind: "raw"; status: number; body: string; headers?: Record<string, string> }
  /** Never answer (the connection is dropped on close()). */
  | { kind: "hang" };

export type SpeechKitRecognizeReply =
  | {
      kind: "operation";
      /** Default: one utterance over the middle of the audio. */
      utterances?: SpeechKitUtterance[];
      /** Polls of GET /operations/{id} answered "not done" before "done"; Infinity = never done. Default 1. */
      pollsUntilDone?: number;
      /** A done operation that failed (google.rpc.Status). */
      error?: { code: number; message: string };
      /** How getRecognition answers: well-formed (default), wrong shapes, cut off mid-object, or not JSON. */
      results?: "ok" | "malformed" | "truncated" | "not-json";
    }
  | SpeechKitHttpFault;

export type SpeechKitRequestKind = "recognize" | "operation" | "results" | "delete" | "unknown";

export interface SpeechKitRequest {
  index: number;
  kind: SpeechKitRequestKind;
  method: string;
  path: string;
  operationId: string | undefined;
  authorization: string | undefined;
  folderId: string | undefined;
  /** The parsed JSON body of a recognize request. */
  body: unknown;
}

export interface SpeechKitEmulatorOptions {
  /** When set, requests must carry `Authorization: Api-Key <apiKey>`. */
  apiKey?: string;
  /** When set, requests must carry this `x-folder-id`. */
  folderId?: string;
  /** Decides what each valid submission becomes. */
  recognize?: (submission: SpeechKitSubmission) => SpeechKitRecognizeReply | Promise<SpeechKitRecognizeReply>;
  /** Runs first for every request (after auth); a fault returned here is sent instead of the normal answer. */
  intercept?: (
    request: SpeechKitRequest,
  ) => SpeechKitHttpFault | undefined | Promise<SpeechKitHttpFault | undefined>;
  /** Request body limit in bytes (the service's is 60 MB). */
  maxBodyBytes?: number;
}

interface EmulatedOperation {
  id: string;
  submission: SpeechKitSubmission;
  reply: Extract<SpeechKitRecognizeReply, { kind: "operation" }>;
  polls: number;
  resultsRead: boolean;
  deleted: boolean;
  createdAt: string;
}

export interface SpeechKitEmulator {
  /** Base URL for both the stt and the operation host. */
  url: string;
  requests: SpeechKitRequest[];
  submissions: SpeechKitSubmission[];
  /** Recognitions submitted whose results have not been read yet. */
  readonly openOperations: number;
  readonly maxOpenOperations: number;
  /** The most HTTP requests being handled at once. */
  readonly maxConcurrentRequests: number;
  close(): Promise<void>;
}

export const DEFAULT_SPEECHKIT_TEXT = "привет из эмулятора speechkit";
const MAX_BODY_BYTES = 60 * 1024 * 1024;
const GRPC_CODE_BY_STATUS: Record<number, number> = {
  400: 3,
  401: 16,
  403: 7,
  404: 5,
  409: 10,
  429: 8,
  500: 13,
  501: 12,
  503: 14,
  504: 4,
};

export async function startSpeechKitEmulator(
  options: SpeechKitEmulatorOptions = {},
): Promise<SpeechKitEmulator> {
  const requests: SpeechKitRequest[] = [];
  const submissions: SpeechKitSubmission[] = [];
  const operations = new Map<string, EmulatedOperation>();
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
  let open = 0;
  let maxOpen = 0;
  let active = 0;
  let maxActive = 0;

  const server = createServer((req, res) => {
    active++;
    maxActive = Math.max(maxActive, active);
    res.on("close", () => {
      active--;
    });
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, err instanceof Error ? err.message : String(err));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    const kind = kindOf(method, url.pathname);
    const operationId =
      kind === "operation"
        ? decodeURIComponent(url.pathname.slice("/operations/".length))
        : (url.searchParams.get("operationId") ?? url.searchParams.get("operation_id") ?? undefined);
    const raw = await readBody(req, maxBody);
    const request: SpeechKitRequest = {
      index: requests.length,
      kind,
      method,
      path: url.pathname,
      operationId: operationId || undefined,
      authorization: req.headers.authorization,
      folderId: header(req, "x-folder-id"),
      body: undefined,
    };
    requests.push(request);

    if (kind === "unknown") {
      sendError(res, 404, `Unknown method ${method} ${url.pathname}`);
      return;
    }
    if (options.apiKey !== undefined && req.headers.authorization !== `Api-Key ${options.apiKey}`) {
      sendError(res, 401, "The token is invalid");
      return;
    }
    if (options.folderId !== undefined && request.folderId !== options.folderId) {
      sendError(res, 403, "Permission denied: folder mismatch");
      return;
    }
    if (raw === "too-large") {
      sendError(res, 400, `grpc: received message larger than max (${maxBody})`);
      return;
    }
    if (kind === "recognize") {
      try {
        request.body = JSON.parse(raw.toString("utf8"));
      } catch {
        sendError(res, 400, "Syntax error: request body is not JSON");
        return;
      }
    }
    const fault = await options.intercept?.(request);
    if (fault) {
      sendFault(res, fault);
      return;
    }

    switch (kind) {
      case "recognize":
        await recognize(request, res);
        return;
      case "operation":
        pollOperation(request, res);
        return;
      case "results":
        sendResults(request, res);
        return;
      case "delete": {
        const op = operations.get(request.operationId ?? "");
        if (!op || op.deleted) {
          sendError(res, 404, `Operation ${request.operationId} not found`);
          return;
        }
        op.deleted = true;
        sendJson(res, 200, {});
        return;
      }
    }
  }

  async function recognize(request: SpeechKitRequest, res: ServerResponse): Promise<void> {
    const problem = validateRecognizeRequest(request.body);
    if (typeof problem === "string") {
      sendError(res, 400, problem);
      return;
    }
    const submission: SpeechKitSubmission = {
      index: submissions.length,
      operationId: `e03${randomBytes(8).toString("hex")}`,
      ...problem,
    };
    submissions.push(submission);
    const reply = (await options.recognize?.(submission)) ?? { kind: "operation" as const };
    if (reply.kind !== "operation") {
      sendFault(res, reply);
      return;
    }
    const now = new Date().toISOString();
    const op: EmulatedOperation = {
      id: submission.operationId,
      submission,
      reply,
      polls: 0,
      resultsRead: false,
      deleted: false,
      createdAt: now,
    };
    operations.set(op.id, op);
    open++;
    maxOpen = Math.max(maxOpen, open);
    sendJson(res, 200, operationBody(op, false));
  }

  function pollOperation(request: SpeechKitRequest, res: ServerResponse): void {
    const op = operations.get(request.operationId ?? "");
    if (!op) {
      sendError(res, 404, `Operation ${request.operationId} not found`);
      return;
    }
    op.polls++;
    const done = op.polls >= (op.reply.pollsUntilDone ?? 1);
    if (done && op.reply.error && !op.resultsRead) {
      // A failed operation has no results to read: it no longer counts as open.
      op.resultsRead = true;
      open--;
    }
    sendJson(res, 200, operationBody(op, done));
  }

  function sendResults(request: SpeechKitRequest, res: ServerResponse): void {
    const op = operations.get(request.operationId ?? "");
    if (!op || op.deleted) {
      sendError(res, 404, `Operation ${request.operationId} not found`);
      return;
    }
    if (op.polls < (op.reply.pollsUntilDone ?? 1) || op.reply.error) {
      sendError(res, 400, "Operation is not done or has failed", 9);
      return;
    }
    if (!op.resultsRead) {
      op.resultsRead = true;
      open--;
    }
    const utterances = op.reply.utterances ?? defaultUtterances(op.submission);
    const lines = resultMessages(op, utterances).map((m) => JSON.stringify(m));
    let body = `${lines.join("\n")}\n`;
    switch (op.reply.results ?? "ok") {
      case "malformed":
        body = `${JSON.stringify({ result: { final: { alternatives: [{ text: "x", words: [{ text: "x", startTimeMs: "soon", endTimeMs: 5 }] }] } } })}\n`;
        break;
      case "truncated":
        body = body.slice(0, Math.max(1, Math.floor(body.length * 0.6)));
        break;
      case "not-json":
        body = "<html><body>502 Bad Gateway</body></html>";
        break;
      default:
        break;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(body);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    submissions,
    get openOperations() {
      return open;
    },
    get maxOpenOperations() {
      return maxOpen;
    },
    get maxConcurrentRequests() {
      return maxActive;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function kindOf(method: string, path: string): SpeechKitRequestKind {
  if (method === "POST" && path === "/stt/v3/recognizeFileAsync") return "recognize";
  if (method === "GET" && /^\/operations\/[^/]+$/.test(path)) return "operation";
  if (method === "GET" && path === "/stt/v3/getRecognition") return "results";
  if (method === "DELETE" && path === "/stt/v3/deleteRecognition") return "delete";
  return "unknown";
}

/** Checks a RecognizeFileRequest as documented; returns a message for a 400 or the submission's fields. */
function validateRecognizeRequest(
  body: unknown,
): string | Omit<SpeechKitSubmission, "index" | "operationId"> {
  if (!isObject(body)) return "Request body must be a JSON object";
  const content = body.content;
  const uri = body.uri;
  if ((content === undefined) === (uri === undefined)) return "Exactly one of content or uri must be set";
  if (content !== undefined && typeof content !== "string") return "content must be base64 bytes";
  if (uri !== undefined && typeof uri !== "string") return "uri must be a string";
  const model = body.recognitionModel;
  if (!isObject(model)) return "recognitionModel is required";
  const format = model.audioFormat;
  if (!isObject(format)) return "recognitionModel.audioFormat is required";
  const container = format.containerAudio;
  const rawAudio = format.rawAudio;
  if ((container === undefined) === (rawAudio === undefined))
    return "Exactly one of audioFormat.containerAudio or audioFormat.rawAudio must be set";
  let containerType: string | undefined;
  if (container !== undefined) {
    if (!isObject(container) || !["WAV", "OGG_OPUS", "MP3"].includes(String(container.containerAudioType)))
      return "audioFormat.containerAudio.containerAudioType must be WAV, OGG_OPUS or MP3";
    containerType = String(container.containerAudioType);
  }
  let restrictionType: string | undefined;
  let languageCodes: string[] = [];
  if (model.languageRestriction !== undefined) {
    const restriction = model.languageRestriction;
    if (!isObject(restriction) || !["WHITELIST", "BLACKLIST"].includes(String(restriction.restrictionType)))
      return "languageRestriction.restrictionType must be WHITELIST or BLACKLIST";
    if (
      !Array.isArray(restriction.languageCode) ||
      !restriction.languageCode.every((c) => typeof c === "string")
    )
      return "languageRestriction.languageCode must be a list of language codes";
    restrictionType = String(restriction.restrictionType);
    languageCodes = restriction.languageCode as string[];
  }
  const normalization = isObject(model.textNormalization)
    ? model.textNormalization.textNormalization
    : undefined;
  let audio: Buffer | undefined;
  let durationSec: number | undefined;
  if (typeof content === "string") {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content)) return "content is not valid base64";
    audio = Buffer.from(content, "base64");
    if (audio.length === 0) return "content is empty";
    if (containerType === "WAV") {
      durationSec = wavDurationSec(audio);
      if (durationSec === undefined) return "Audio is not a valid WAV file";
    }
  }
  return {
    audio,
    uri: typeof uri === "string" ? uri : undefined,
    durationSec,
    model: typeof model.model === "string" && model.model !== "" ? model.model : "general",
    restrictionType,
    languageCodes,
    textNormalization: typeof normalization === "string" ? normalization : undefined,
  };
}

function defaultUtterances(submission: SpeechKitSubmission): SpeechKitUtterance[] {
  const totalMs = Math.round((submission.durationSec ?? 2) * 1000);
  return [
    {
      text: DEFAULT_SPEECHKIT_TEXT,
      normalizedText: "Привет из эмулятора SpeechKit.",
      startMs: Math.round(totalMs * 0.1),
      endMs: Math.round(totalMs * 0.9),
      language: submission.languageCodes.find((c) => c !== "auto") ?? "ru-RU",
    },
  ];
}

/** The documented message sequence per utterance: final, finalRefinement (if normalised), eouUpdate. */
function resultMessages(op: EmulatedOperation, utterances: readonly SpeechKitUtterance[]): unknown[] {
  const session = { uuid: op.id, userRequestId: op.id };
  const messages: unknown[] = [];
  let wall = 100;
  const cursors = (finalIndex: number, timeMs: number) => ({
    receivedDataMs: String(timeMs),
    resetTimeMs: "0",
    partialTimeMs: String(timeMs),
    finalTimeMs: String(timeMs),
    finalIndex: String(finalIndex),
    eouTimeMs: String(timeMs),
  });
  messages.push({
    result: {
      sessionUuid: session,
      audioCursors: cursors(0, 0),
      responseWallTimeMs: String(wall),
      statusCode: { codeType: "WORKING", message: "" },
      channelTag: "0",
    },
  });
  for (const [i, u] of utterances.entries()) {
    wall += 10;
    const alternative = (text: string) => ({
      words: (u.words ?? spreadWords(u.text, u.startMs, u.endMs)).map((w) => ({
        text: w.text,
        startTimeMs: String(w.startMs),
        endTimeMs: String(w.endMs),
      })),
      text,
      startTimeMs: String(Math.max(0, u.startMs - 300)),
      endTimeMs: String(u.endMs + 300),
      confidence: 0,
      languages: u.language ? [{ languageCode: u.language, probability: 0.93 }] : [],
    });
    messages.push({
      result: {
        sessionUuid: session,
        audioCursors: cursors(i, u.endMs),
        responseWallTimeMs: String(wall),
        final: { alternatives: [alternative(u.text)], channelTag: "0" },
        channelTag: "0",
      },
    });
    if (u.normalizedText !== undefined) {
      messages.push({
        result: {
          sessionUuid: session,
          audioCursors: cursors(i, u.endMs),
          responseWallTimeMs: String(wall + 1),
          finalRefinement: {
            finalIndex: String(i),
            normalizedText: { alternatives: [alternative(u.normalizedText)], channelTag: "0" },
          },
          channelTag: "0",
        },
      });
    }
    messages.push({
      result: {
        sessionUuid: session,
        audioCursors: cursors(i, u.endMs),
        responseWallTimeMs: String(wall + 2),
        eouUpdate: { timeMs: String(u.endMs) },
        channelTag: "0",
      },
    });
  }
  return messages;
}

function spreadWords(text: string, startMs: number, endMs: number): SpeechKitEmulatorWord[] {
  const words = text.split(/\s+/).filter((w) => w !== "");
  const step = (endMs - startMs) / Math.max(1, words.length);
  return words.map((w, k) => ({
    text: w,
    startMs: Math.round(startMs + k * step),
    endMs: Math.round(startMs + (k + 0.9) * step),
  }));
}

function operationBody(op: EmulatedOperation, done: boolean): Record<string, unknown> {
  const base = {
    id: op.id,
    description: "STT v3 async recognition",
    createdAt: op.createdAt,
    createdBy: "emulator",
    modifiedAt: new Date().toISOString(),
    done,
    metadata: null,
  };
  if (!done) return base;
  if (op.reply.error) return { ...base, error: { ...op.reply.error, details: [] } };
  return { ...base, response: {} };
}

/** Seconds of audio a RIFF/WAVE header declares (data size / byte rate). */
function wavDurationSec(audio: Buffer): number | undefined {
  if (
    audio.length < 12 ||
    audio.toString("ascii", 0, 4) !== "RIFF" ||
    audio.toString("ascii", 8, 12) !== "WAVE"
  )
    return undefined;
  let byteRate: number | undefined;
  for (let offset = 12; offset + 8 <= audio.length; ) {
    const id = audio.toString("ascii", offset, offset + 4);
    const size = audio.readUInt32LE(offset + 4);
    if (id === "fmt " && offset + 16 <= audio.length) byteRate = audio.readUInt32LE(offset + 16);
    if (id === "data") {
      if (!byteRate) return undefined;
      return Math.min(size, audio.length - offset - 8) / byteRate;
    }
    offset += 8 + size + (size % 2);
  }
  return undefined;
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(tooLarge ? "too-large" : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendFault(res: ServerResponse, fault: SpeechKitHttpFault): void {
  switch (fault.kind) {
    case "error":
      sendError(
        res,
        fault.status,
        fault.message ?? `Scripted error ${fault.status}`,
        fault.code,
        fault.headers,
      );
      return;
    case "raw":
      res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
      res.end(fault.body);
      return;
    case "hang":
      return;
  }
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  code?: number,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { code: code ?? GRPC_CODE_BY_STATUS[status] ?? 2, message, details: [] }, headers);
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

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
