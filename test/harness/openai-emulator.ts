/**
 * A local stand-in for the OpenAI API so provider tests exercise the real SDK over real HTTP without the
 * internet:
 *  - `POST /v1/audio/transcriptions` (multipart/form-data), for the transcriber;
 *  - `POST /v1/chat/completions` (JSON), for the analyzers, with `response_format` checked as OpenAI does
 *    (strict json_schema rules, the word "json" for json_object) and a deterministic fake model that
 *    answers a template's questions from the dialogue in the prompt (`fakeModelReply`, shared with the
 *    GigaChat and Yandex emulators).
 * Both use Bearer auth. Each request is recorded; a script function decides each reply.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
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
  /** Decides the reply to each valid chat completion request; default: the fake model's answer. */
  respondChat?: (request: ChatEmulatorRequest) => ChatReply | Promise<ChatReply>;
}

export interface OpenAiEmulator {
  /** Ends with /v1, ready for the SDK's baseURL. */
  baseUrl: string;
  /** Transcription requests. */
  requests: EmulatorRequest[];
  /** Chat completion requests, including refused ones. */
  chatRequests: ChatEmulatorRequest[];
  close(): Promise<void>;
}

/** A chat message as any of the emulated providers received it (GigaChat `content`, Yandex `text`). */
export interface ChatMessageRecord {
  role: string;
  content: string;
}

export interface ChatEmulatorRequest {
  /** 0-based arrival order among this emulator's chat requests. */
  index: number;
  path: string;
  headers: IncomingHttpHeaders;
  authorization: string | undefined;
  /** The parsed JSON body (empty when it was not JSON). */
  body: Record<string, unknown>;
  messages: ChatMessageRecord[];
  /**
   * The reply schema the request carries (OpenAI `response_format.json_schema.schema`, Yandex
   * `jsonSchema.schema`), else one written into a message; undefined when there is none.
   */
  jsonSchema: unknown;
}

/** What an emulated chat endpoint does with one request, in each provider's own protocol. */
export type ChatReply =
  /** The fake model's answer, computed from the request (see `fakeModelReply`). */
  | { kind: "answer" }
  /** This exact assistant content (valid, invalid, fenced, prose — whatever the test needs). */
  | { kind: "content"; content: string }
  /** The fake model's answer cut in half, as when the token limit stops the model mid-object. */
  | { kind: "truncated" }
  /** The provider's error body with this status (and e.g. a Retry-After header). */
  | { kind: "error"; status: number; message?: string; headers?: Record<string, string> }
  /** Exactly this HTTP reply. */
  | { kind: "raw"; status: number; body: string; headers?: Record<string, string> }
  /** Never answer (the connection is dropped on close()): for client timeouts. */
  | { kind: "hang" };

export const DEFAULT_EMULATOR_TEXT = "Hello from the transcription emulator.";

export async function startOpenAiEmulator(options: OpenAiEmulatorOptions = {}): Promise<OpenAiEmulator> {
  const requests: EmulatorRequest[] = [];
  const chatRequests: ChatEmulatorRequest[] = [];
  const respond =
    options.respond ?? (() => ({ kind: "transcription", text: DEFAULT_EMULATOR_TEXT }) as const);
  const respondChat = options.respondChat ?? (() => ({ kind: "answer" }) as const);

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        sendError(res, 500, err instanceof Error ? err.message : String(err), "server_error");
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method === "POST" && path === "/v1/chat/completions") {
      await handleChat(req, res, path);
      return;
    }
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

  /** `POST /v1/chat/completions` as platform.openai.com/docs/api-reference/chat/create describes it. */
  async function handleChat(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const raw = await readBody(req);
    const body = parseObject(raw);
    const messages = chatMessagesOf(body?.messages, "content");
    const responseFormat = asRecord(body?.response_format);
    const request: ChatEmulatorRequest = {
      index: chatRequests.length,
      path,
      headers: req.headers,
      authorization: req.headers.authorization,
      body: body ?? {},
      messages: messages ?? [],
      jsonSchema: asRecord(responseFormat?.json_schema)?.schema ?? findJsonSchema(messages ?? []),
    };
    chatRequests.push(request);

    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      sendError(res, 401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key");
      return;
    }
    if (!(req.headers["content-type"] ?? "").startsWith("application/json") || body === undefined) {
      sendError(res, 400, "We could not parse the JSON body of your request.", "invalid_request_error");
      return;
    }
    if (typeof body.model !== "string" || body.model === "") {
      sendError(res, 400, "you must provide a model parameter", "invalid_request_error");
      return;
    }
    if (!messages || messages.length === 0) {
      sendError(
        res,
        400,
        "'messages' must be a non-empty array of {role, content}.",
        "invalid_request_error",
      );
      return;
    }
    const formatProblem = responseFormatProblem(responseFormat, messages);
    if (formatProblem !== undefined) {
      sendError(res, 400, formatProblem, "invalid_request_error");
      return;
    }

    const reply = await respondChat(request);
    if (reply.kind === "hang") return;
    if (reply.kind === "error") {
      sendError(
        res,
        reply.status,
        reply.message ?? `Scripted error ${reply.status}.`,
        reply.status === 429 ? "requests" : "server_error",
        reply.status === 429 ? "rate_limit_exceeded" : null,
        reply.headers,
      );
      return;
    }
    if (reply.kind === "raw") {
      res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
      res.end(reply.body);
      return;
    }
    const { content, finishReason } = chatContent(reply, request);
    const usage = tokenUsage(messages, content);
    sendJson(res, 200, {
      id: `chatcmpl-emu${request.index}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content, refusal: null },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      usage: {
        prompt_tokens: usage.input,
        completion_tokens: usage.output,
        total_tokens: usage.input + usage.output,
      },
    });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    chatRequests,
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

// ---------------------------------------------------------------------------------------------------
// Chat helpers, shared with the GigaChat and Yandex emulators
// ---------------------------------------------------------------------------------------------------

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    return asRecord(JSON.parse(text));
  } catch {
    return undefined;
  }
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** `[{role, <textField>}]` → records; undefined when the list or any message is malformed. */
export function chatMessagesOf(value: unknown, textField: string): ChatMessageRecord[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const messages: ChatMessageRecord[] = [];
  for (const item of value) {
    const message = asRecord(item);
    const role = message?.role;
    const text = message?.[textField];
    if (typeof role !== "string" || typeof text !== "string") return undefined;
    messages.push({ role, content: text });
  }
  return messages;
}

/** A JSON Schema with `properties.answers`, written on a line of its own in one of the messages. */
export function findJsonSchema(messages: ChatMessageRecord[]): unknown {
  for (const message of messages) {
    for (const line of message.content.split("\n")) {
      if (!line.startsWith("{")) continue;
      const parsed = parseObject(line);
      if (asRecord(asRecord(parsed?.properties)?.answers)) return parsed;
    }
  }
  return undefined;
}

/** The assistant content and finish reason for an answer / content / truncated reply. */
export function chatContent(
  reply: Extract<ChatReply, { kind: "answer" | "content" | "truncated" }>,
  request: ChatEmulatorRequest,
): { content: string; finishReason: "stop" | "length" } {
  if (reply.kind === "content") return { content: reply.content, finishReason: "stop" };
  const answer = fakeModelReply(request.messages, request.jsonSchema);
  return reply.kind === "truncated"
    ? { content: answer.slice(0, Math.floor(answer.length / 2)), finishReason: "length" }
    : { content: answer, finishReason: "stop" };
}

/** Roughly four characters a token, as providers' tokenizers average on such text. */
export function tokenUsage(
  messages: ChatMessageRecord[],
  content: string,
): { input: number; output: number } {
  const input = messages.reduce((sum, m) => sum + m.content.length, 0);
  return { input: Math.ceil(input / 4), output: Math.max(1, Math.ceil(content.length / 4)) };
}

const STRICT_KEYWORDS = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "enum",
  "const",
  "description",
  "title",
  "anyOf",
  "$defs",
  "$ref",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "pattern",
  "format",
  "minItems",
  "maxItems",
]);

/** OpenAI's checks of `response_format`, with its wording; undefined when the request passes. */
function responseFormatProblem(
  format: Record<string, unknown> | undefined,
  messages: ChatMessageRecord[],
): string | undefined {
  if (format === undefined || format.type === "text") return undefined;
  if (format.type === "json_object") {
    return messages.some((m) => /json/i.test(m.content))
      ? undefined
      : "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.";
  }
  if (format.type !== "json_schema") return `Invalid value: '${String(format.type)}'.`;
  const spec = asRecord(format.json_schema);
  const name = spec?.name;
  if (typeof name !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(name)) {
    return "Invalid 'response_format.json_schema.name': must match ^[a-zA-Z0-9_-]{1,64}$.";
  }
  if (spec?.strict !== true) return undefined;
  const problems = strictSchemaProblems(spec.schema, "()");
  return problems.length === 0
    ? undefined
    : `Invalid schema for response_format '${name}': ${problems.slice(0, 3).join(" ")}`;
}

/** The strict-mode rules: supported keywords only; every object closed and requiring all its properties. */
export function strictSchemaProblems(node: unknown, context: string): string[] {
  const schema = asRecord(node);
  if (!schema) return [`In context=${context}, schema must be a JSON Schema object.`];
  const problems: string[] = [];
  for (const key of Object.keys(schema)) {
    if (!STRICT_KEYWORDS.has(key)) problems.push(`In context=${context}, '${key}' is not permitted.`);
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const properties = asRecord(schema.properties);
  if (types.includes("object") || properties) {
    if (schema.additionalProperties !== false) {
      problems.push(
        `In context=${context}, 'additionalProperties' is required to be supplied and to be false.`,
      );
    }
    const required = Array.isArray(schema.required) ? schema.required : [];
    for (const key of Object.keys(properties ?? {})) {
      if (!required.includes(key)) {
        problems.push(
          `In context=${context}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${key}'.`,
        );
      }
    }
    for (const [key, child] of Object.entries(properties ?? {})) {
      problems.push(...strictSchemaProblems(child, `${context}, 'properties', '${key}'`));
    }
  }
  if (schema.items !== undefined) problems.push(...strictSchemaProblems(schema.items, `${context}, 'items'`));
  if (Array.isArray(schema.anyOf)) {
    schema.anyOf.forEach((child, i) => {
      problems.push(...strictSchemaProblems(child, `${context}, 'anyOf', '${i}'`));
    });
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// The fake model
// ---------------------------------------------------------------------------------------------------

interface PromptLine {
  index: number;
  speaker: string;
  text: string;
  words: string[];
}

/** Words that say nothing about a question's subject. */
const STOP_WORDS = [
  "about",
  "call",
  "client",
  "customer",
  "does",
  "from",
  "have",
  "operator",
  "that",
  "their",
  "there",
  "this",
  "were",
  "what",
  "when",
  "which",
  "with",
  "клиент",
  "оператор",
  "звонок",
  "было",
  "были",
  "какой",
  "который",
];

const stem = (word: string): string => word.slice(0, 5);
const STOP_STEMS = new Set(STOP_WORDS.map(stem));
const WORDS = /[\p{L}\p{N}]+/gu;

/**
 * A deterministic stand-in for a language model answering a template (the same for every emulated
 * provider, so one call analysed by each gives the same answers). It reads the questions from the
 * request's JSON Schema (each answer's `description` is the question) and the numbered dialogue lines
 * `[n] speaker 1.23s: text` from the messages, and "understands" a line as relevant to a question when
 * the line contains a word starting like one of the question's words (4+ letters, not a stop word):
 *  - boolean: true when some line is relevant, else false;
 *  - score: the scale's minimum plus the number of relevant lines, capped at the maximum;
 *  - choice: the first option that occurs in the dialogue, else null;
 *  - text: the relevant lines joined, else null.
 * Evidence cites up to two relevant lines, quoting up to four words from the matching one.
 * Without a schema it replies `{}` (a model that was not told the shape).
 */
export function fakeModelReply(messages: ChatMessageRecord[], jsonSchema: unknown): string {
  const questions = asRecord(asRecord(asRecord(asRecord(jsonSchema)?.properties)?.answers)?.properties);
  if (!questions) return "{}";
  const lines = promptLines(messages);
  const answers: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(questions)) {
    const question = asRecord(node);
    const valueSchema = asRecord(asRecord(question?.properties)?.value) ?? {};
    const description = typeof question?.description === "string" ? question.description : key;
    answers[key] = fakeAnswer(description, valueSchema, lines);
  }
  return JSON.stringify({ answers });
}

function fakeAnswer(
  question: string,
  valueSchema: Record<string, unknown>,
  lines: PromptLine[],
): { value: unknown; evidence: { segment: number; quote: string }[] } {
  const stems = [
    ...new Set((question.toLowerCase().match(WORDS) ?? []).filter((w) => w.length >= 4).map(stem)),
  ].filter((s) => !STOP_STEMS.has(s));
  const hits = lines
    .map((line) => ({ line, at: line.words.findIndex((w) => stems.includes(stem(w.toLowerCase()))) }))
    .filter((hit) => hit.at >= 0);
  const evidence = hits
    .slice(0, 2)
    .map(({ line, at }) => ({ segment: line.index, quote: line.words.slice(at, at + 4).join(" ") }));
  const types = Array.isArray(valueSchema.type) ? valueSchema.type : [valueSchema.type];

  if (Array.isArray(valueSchema.enum)) {
    const options = valueSchema.enum.filter((o): o is string => typeof o === "string");
    for (const line of lines) {
      const option = options.find((o) => line.text.toLowerCase().includes(o.toLowerCase()));
      if (option !== undefined) return { value: option, evidence: [{ segment: line.index, quote: option }] };
    }
    return { value: null, evidence: [] };
  }
  if (types.includes("boolean")) return { value: hits.length > 0, evidence };
  if (types.includes("integer") || types.includes("number")) {
    const min = typeof valueSchema.minimum === "number" ? valueSchema.minimum : 0;
    const max = typeof valueSchema.maximum === "number" ? valueSchema.maximum : min + 10;
    return { value: Math.min(max, min + hits.length), evidence };
  }
  if (hits.length === 0) return { value: null, evidence: [] };
  return {
    value: hits
      .map(({ line }) => line.text)
      .join(" ")
      .slice(0, 500),
    evidence,
  };
}

function promptLines(messages: ChatMessageRecord[]): PromptLine[] {
  // The first message holding numbered lines is the dialogue; a repair turn only repeats the reply.
  for (const message of messages) {
    const lines = [...message.content.matchAll(/^\[(\d+)\] (\S+) \d+(?:\.\d+)?s: (.*)$/gm)].map((m) => ({
      index: Number(m[1]),
      speaker: m[2]!,
      text: m[3]!,
      words: m[3]!.match(WORDS) ?? [],
    }));
    if (lines.length > 0) return lines;
  }
  return [];
}
