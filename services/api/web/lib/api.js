// The API client: JSON over fetch with the bearer token from sign-in, errors as ApiError.

const TOKEN_KEY = "tyndau.token";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const session = {
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  },
  /** Called on 401: the app signs out and shows the sign-in page. */
  onUnauthenticated: () => {},
};

async function request(method, path, body, { raw = false } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (session.token) headers.authorization = `Bearer ${session.token}`;
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
  if (res.ok && raw) return res;
  const text = res.status === 204 ? "" : await res.text();
  let json = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = {};
  }
  if (!res.ok) {
    const e = json.error ?? {};
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
  return json;
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body = {}) => request("POST", path, body),
  patch: (path, body) => request("PATCH", path, body),
  delete: (path) => request("DELETE", path),
  /** A file download with the token (links cannot carry the Authorization header). */
  blob: async (path) => {
    const res = await request("GET", path, undefined, { raw: true });
    const disposition = res.headers.get("content-disposition") ?? "";
    const name = /filename="([^"]+)"/.exec(disposition)?.[1];
    return { blob: await res.blob(), fileName: name };
  },
};

/** A query string from an object, leaving out empty values; arrays repeat the key. */
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
