/**
 * A local stand-in for the Yandex Cloud Foundation Models text generation API (REST, synchronous),
 * written from its API reference (TextGeneration.Completion):
 *  `POST /foundationModels/v1/completion` with `Authorization: Api-Key <key>` or `Bearer <IAM token>` and
 *  `x-folder-id`; body `{ modelUri: "gpt://<folder>/<model>/<branch>", completionOptions: { stream,
 *  temperature, maxTokens }, messages: [{ role, text }], jsonObject? | jsonSchema: { schema }? }` →
 *  `{ result: { alternatives: [{ message: { role: "assistant", text }, status }], usage: {
 *  inputTextTokens, completionTokens, totalTokens } (int64 as strings), modelVersion } }`;
 *  errors `{ error: { grpcCode, httpCode, message, httpStatus, details } }`.
 * Every request is recorded; `respond` scripts the replies.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  asRecord,
  type ChatEmulatorRequest,
  type ChatReply,
  chatContent,
  chatMessagesOf,
  findJsonSchema,
  parseObject,
  readBody,
  tokenUsage,
} from "./openai-emulator.ts";

export interface YandexFoundationModelsEmulatorOptions {
  /** Accepted as `Api-Key <apiKey>`. */
  apiKey?: string;
  /** Accepted as `Bearer <iamToken>`. */
  iamToken?: string;
  /** The folder the credentials belong to; model URIs must name it. */
  folderId: string;
  /** Decides the reply to each valid request; default: the fake model's answer. */
  respond?: (request: ChatEmulatorRequest) => ChatReply | Promise<ChatReply>;
}

export interface YandexFoundationModelsEmulator {
  /** The API root, e.g. http://127.0.0.1:1234 (the adapter appends /foundationModels/v1/completion). */
  baseUrl: string;
  requests: ChatEmulatorRequest[];
  close(): Promise<void>;
}

const GRPC_BY_HTTP: Record<number, { grpcCode: number; httpStatus: string }> = {
  400: { grpcCode: 3, httpStatus: "Bad Request" },
  401: { grpcCode: 16, httpStatus: "Unauthorized" },
  403: { grpcCode: 7, httpStatus: "Forbidden" },
  404: { grpcCode: 5, httpStatus: "Not Found" },
  429: { grpcCode: 8, httpStatus: "Too Many Requests" },
  500: { grpcCode: 13, httpStatus: "Internal Server Error" },
  503: { grpcCode: 14, httpStatus: "Service Unavailable" },
  504: { grpcCode: 4, httpStatus: "Gateway Timeout" },
};

export async function startYandexFoundationModelsEmulator(
  options: YandexFoundationModelsEmulatorOptions,
): Promise<YandexFoundationModelsEmulator> {
  const respond = options.respond ?? (() => ({ kind: "answer" }) as const);
  const requests: ChatEmulatorRequest[] = [];

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, String(err));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const raw = await readBody(req);
    if (req.method !== "POST" || path !== "/foundationModels/v1/completion") {
      sendError(res, 404, `Unknown method ${req.method} ${path}`);
      return;
    }
    const body = parseObject(raw);
    const messages = chatMessagesOf(body?.messages, "text");
    const schemaField = asRecord(asRecord(body?.jsonSchema)?.schema);
    const request: ChatEmulatorRequest = {
      index: requests.length,
      path,
      headers: req.headers,
      authorization: req.headers.authorization,
      body: body ?? {},
      messages: messages ?? [],
      jsonSchema: schemaField ?? findJsonSchema(messages ?? []),
    };
    requests.push(request);

    const auth = req.headers.authorization ?? "";
    const authorised =
      (options.apiKey !== undefined && auth === `Api-Key ${options.apiKey}`) ||
      (options.iamToken !== undefined && auth === `Bearer ${options.iamToken}`);
    if (!authorised) {
      sendError(res, 401, "Unknown api key or iam token");
      return;
    }
    const folderHeader = req.headers["x-folder-id"];
    if (folderHeader !== undefined && folderHeader !== options.folderId) {
      sendError(res, 403, `Permission to [resource-manager.folder ${String(folderHeader)}] denied`);
      return;
    }
    const problem = bodyProblem(body, messages, options.folderId);
    if (problem !== undefined) {
      sendError(res, 400, problem);
      return;
    }

    const reply = await respond(request);
    switch (reply.kind) {
      case "hang":
        return;
      case "error":
        sendError(res, reply.status, reply.message ?? `Scripted error ${reply.status}`, reply.headers);
        return;
      case "raw":
        res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
        res.end(reply.body);
        return;
      default: {
        const { content, finishReason } = chatContent(reply, request);
        const usage = tokenUsage(messages ?? [], content);
        sendJson(res, 200, {
          result: {
            alternatives: [
              {
                message: { role: "assistant", text: content },
                status:
                  finishReason === "length"
                    ? "ALTERNATIVE_STATUS_TRUNCATED_FINAL"
                    : "ALTERNATIVE_STATUS_FINAL",
              },
            ],
            usage: {
              inputTextTokens: String(usage.input),
              completionTokens: String(usage.output),
              totalTokens: String(usage.input + usage.output),
              completionTokensDetails: { reasoningTokens: "0" },
            },
            modelVersion: "23.10.2024",
          },
        });
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** The request checks the API reference states, worded like the service; undefined when valid. */
function bodyProblem(
  body: Record<string, unknown> | undefined,
  messages: unknown[] | undefined,
  folderId: string,
): string | undefined {
  if (body === undefined) return "Request body is not valid JSON";
  const modelUri = body.modelUri;
  if (typeof modelUri !== "string" || !/^(gpt|ds):\/\/[^/]+\/[^/]+(\/[^/]+)?$/.test(modelUri)) {
    return "Invalid modelUri";
  }
  if (!modelUri.startsWith(`gpt://${folderId}/`) && !modelUri.startsWith(`ds://${folderId}/`)) {
    return `Model ${modelUri} is not available in folder ${folderId}`;
  }
  if (!messages || messages.length === 0) return "messages: each message needs a role and a text";
  const options = asRecord(body.completionOptions);
  const maxTokens = options?.maxTokens;
  if (maxTokens !== undefined && !(typeof maxTokens === "string" && /^\d+$/.test(maxTokens))) {
    if (typeof maxTokens !== "number") return "completionOptions.maxTokens: invalid int64 value";
  }
  const temperature = options?.temperature;
  if (temperature !== undefined && (typeof temperature !== "number" || temperature < 0 || temperature > 1)) {
    return "completionOptions.temperature must be between 0 and 1";
  }
  if (body.jsonObject !== undefined && body.jsonSchema !== undefined) {
    return "Only one of the fields jsonObject, jsonSchema can be set";
  }
  if (body.jsonSchema !== undefined && !asRecord(asRecord(body.jsonSchema)?.schema)) {
    return "jsonSchema.schema must be an object";
  }
  return undefined;
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  const grpc = GRPC_BY_HTTP[status] ?? { grpcCode: 2, httpStatus: "Unknown" };
  sendJson(
    res,
    status,
    {
      error: { grpcCode: grpc.grpcCode, httpCode: status, message, httpStatus: grpc.httpStatus, details: [] },
    },
    headers,
  );
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
