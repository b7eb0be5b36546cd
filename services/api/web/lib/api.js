// @ts-check
// The API client: JSON over fetch with the bearer token from sign-in, errors as ApiError. Every call names
// an OpenAPI path template ("/api/v1/calls/{id}") with its parameters, so the type check holds paths,
// parameters, bodies and answers to the types generated from the server's schemas (api-types.d.ts).
/** @import { ApiPaths } from "./api-types.js" */

const TOKEN_KEY = "tyndau.token";

/**
 * @typedef {"get" | "post" | "patch" | "delete"} Method
 */
/**
 * The paths that have an operation for method M.
 * @template {Method} M
 * @typedef {{ [P in keyof ApiPaths]: M extends keyof ApiPaths[P] ? P : never }[keyof ApiPaths]} PathOf
 */
/**
 * The operation at path P and method M.
 * @template {keyof ApiPaths} P
 * @template {Method} M
 * @typedef {M extends keyof ApiPaths[P] ? ApiPaths[P][M] : never} Operation
 */
/**
 * What a call passes: the path parameters, the query, the JSON body and headers the operation declares.
 * @template O
 * @typedef {(O extends { path: infer X } ? { path: X } : { path?: never }) &
 *   (O extends { query: infer Q } ? ({} extends Q ? { query?: Q } : { query: Q }) : { query?: never }) &
 *   (O extends { body: infer B } ? { body: B } : { body?: never }) &
 *   (O extends { header: infer H } ? { headers?: H } : { headers?: never })} Options
 */
/**
 * The options argument, optional when nothing in it is required.
 * @template O
 * @typedef {{} extends Options<O> ? [options?: Options<O>] : [options: Options<O>]} OptionsArg
 */
/**
 * The JSON answer of a successful call (any of its 2xx answers).
 * @template O
 * @typedef {O extends { responses: infer R } ? R[keyof R] : never} Answer
 */
/**
 * The query parameters of path P, method M (for building them up before the call).
 * @template {keyof ApiPaths} P
 * @template {Method} [M="get"]
 * @typedef {Operation<P, M> extends { query: infer Q } ? Q : never} Query
 */
/**
 * The JSON body of path P, method M.
 * @template {keyof ApiPaths} P
 * @template {Method} [M="post"]
 * @typedef {Operation<P, M> extends { body: infer B } ? B : never} Body
 */
/**
 * The answer of path P, method M (for naming it in JSDoc).
 * @template {keyof ApiPaths} P
 * @template {Method} [M="get"]
 * @typedef {Answer<Operation<P, M>>} AnswerOf
 */

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} code the error envelope's code (or HTTP_<status>, NETWORK)
   * @param {string} message
   * @param {unknown} [details]
   */
  constructor(status, code, message, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * The text to show for a failure (an ApiError's message is the server's).
 * @param {unknown} error
 */
export const errorMessage = (error) => (error instanceof Error ? error.message : String(error));

export const session = {
  /** @returns {string | null} */
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  /** @param {string | null} value */
  set token(value) {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  },
  /** Called on 401: the app signs out and shows the sign-in page. */
  onUnauthenticated: () => {},
};

/**
 * "/api/v1/calls/{id}" with { id } → "/api/v1/calls/<id>", then the query string.
 * @param {string} template
 * @param {{ path?: Record<string, unknown>, query?: object }} [options]
 */
export function apiUrl(template, options = {}) {
  const { path = {}, query = {} } = options;
  const url = template.replace(/\{(\w+)\}/g, (_, name) => {
    const value = path[name];
    if (value === undefined || value === null) throw new Error(`${template}: no value for {${name}}`);
    return encodeURIComponent(String(value));
  });
  return `${url}${queryString(query)}`;
}

/**
 * @param {string} method
 * @param {string} path the URL (path and query)
 * @param {unknown} body JSON body; undefined sends none
 * @param {Record<string, string>} [extraHeaders]
 * @returns {Promise<Response>}
 */
async function send(method, path, body, extraHeaders = {}) {
  /** @type {Record<string, string>} */
  const headers = { ...extraHeaders };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  /** @type {Response} */
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "NETWORK", "The server cannot be reached.");
  }
  if (res.ok) return res;
  const json = await readJson(res);
  const e =
    /** @type {{ error?: { code?: string, message?: string, details?: unknown } }} */ (json).error ?? {};
  const error = new ApiError(
    res.status,
    e.code ?? `HTTP_${res.status}`,
    e.message ?? res.statusText,
    e.details,
  );
  if (res.status === 401 && session.token && !path.startsWith("/api/v1/auth/")) {
    session.token = null;
    session.onUnauthenticated();
  }
  throw error;
}

/**
 * The body as JSON; {} for 204, an empty or an unreadable body.
 * @param {Response} res
 * @returns {Promise<unknown>}
 */
async function readJson(res) {
  const text = res.status === 204 ? "" : await res.text();
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return {};
  }
}

/**
 * One typed call: fills the path template, sends the body as JSON and answers the parsed JSON.
 * @param {Method} method
 * @param {string} template
 * @param {{ path?: Record<string, unknown>, query?: object, body?: unknown, headers?: object }} options
 * @param {unknown} [defaultBody] sent when the call gives no body (POST sends {})
 * @returns {Promise<any>} the answer as the server sent it; `api`'s signatures give it its type
 */
async function request(method, template, options, defaultBody) {
  const body = options.body === undefined ? defaultBody : options.body;
  const headers = /** @type {Record<string, string>} */ (options.headers ?? {});
  return readJson(await send(method.toUpperCase(), apiUrl(template, options), body, headers));
}

/**
 * The client: one method per HTTP method, called with a path template and what its operation takes.
 * @typedef {{
 *   get<P extends PathOf<"get">>(path: P, ...options: OptionsArg<Operation<P, "get">>): Promise<Answer<Operation<P, "get">>>,
 *   post<P extends PathOf<"post">>(path: P, ...options: OptionsArg<Operation<P, "post">>): Promise<Answer<Operation<P, "post">>>,
 *   patch<P extends PathOf<"patch">>(path: P, ...options: OptionsArg<Operation<P, "patch">>): Promise<Answer<Operation<P, "patch">>>,
 *   delete<P extends PathOf<"delete">>(path: P, ...options: OptionsArg<Operation<P, "delete">>): Promise<Answer<Operation<P, "delete">>>,
 *   blob<P extends PathOf<"get">>(path: P, ...options: OptionsArg<Operation<P, "get">>): Promise<{ blob: Blob, fileName: string | undefined }>,
 * }} Api
 */

/** @type {Api} */
export const api = {
  get: (path, ...[options = {}]) => request("get", path, options),
  // A POST without a body still sends {} (as JSON), which every JSON route accepts.
  post: (path, ...[options = {}]) => request("post", path, options, {}),
  patch: (path, ...[options = {}]) => request("patch", path, options),
  delete: (path, ...[options = {}]) => request("delete", path, options),
  /** A file download with the token (links cannot carry the Authorization header). */
  blob: async (path, ...[options = {}]) => {
    const res = await send("GET", apiUrl(path, options), undefined);
    const disposition = res.headers.get("content-disposition") ?? "";
    const name = /filename="([^"]+)"/.exec(disposition)?.[1];
    return { blob: await res.blob(), fileName: name };
  },
};

/**
 * A query string from an object, leaving out empty values; arrays repeat the key.
 * @param {object} params
 */
export function queryString(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) for (const item of v) q.append(k, item);
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
