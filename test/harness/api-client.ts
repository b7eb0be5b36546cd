import { readFile } from "node:fs/promises";

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** A thin HTTP client for tests: real requests to the running app, JSON in and out. */
export function apiClient(baseUrl: string, token?: string) {
  const request = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<ApiResponse<T>> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      redirect: "manual",
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as T };
  };
  return {
    get: <T = Record<string, unknown>>(path: string) => request<T>("GET", path),
    post: <T = Record<string, unknown>>(path: string, body?: unknown) => request<T>("POST", path, body ?? {}),
    patch: <T = Record<string, unknown>>(path: string, body: unknown) => request<T>("PATCH", path, body),
    delete: <T = Record<string, unknown>>(path: string) => request<T>("DELETE", path),
    withToken: (t: string) => apiClient(baseUrl, t),
  };
}
export type ApiClient = ReturnType<typeof apiClient>;

/** Registers a fresh owner and returns a client signed in as them. */
export async function registerOwner(baseUrl: string, company = "Test LLP") {
  const email = `owner-${crypto.randomUUID()}@example.com`;
  const res = await apiClient(baseUrl).post<{ token: string; account: { id: string } }>(
    "/api/v1/auth/register",
    {
      email,
      password: "correct horse battery",
      company,
    },
  );
  if (res.status !== 201) throw new Error(`register → ${res.status} ${JSON.stringify(res.body)}`);
  return {
    client: apiClient(baseUrl, res.body.token),
    token: res.body.token,
    accountId: res.body.account.id,
    email,
  };
}

/** Pushes a recording file as telephony would (multipart: recording + metadata). */
export async function pushRecording(
  url: string,
  file: string | Buffer,
  metadata: unknown,
  headers: Record<string, string> = {},
  fileName = "call.wav",
) {
  const form = new FormData();
  form.set("metadata", typeof metadata === "string" ? metadata : JSON.stringify(metadata));
  const bytes = typeof file === "string" ? await readFile(file) : file;
  form.set("recording", new Blob([bytes]), fileName);
  const res = await fetch(url, { method: "POST", body: form, headers });
  const text = await res.text();
  return {
    status: res.status,
    body: (text ? JSON.parse(text) : {}) as Record<string, unknown> & { error?: { code: string } },
  };
}

/** Polls a call until it leaves the working states (or the time runs out). */
export async function waitForCall(client: ApiClient, callId: string, timeoutMs = 150_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get<Record<string, unknown> & { status: string }>(`/api/v1/calls/${callId}`);
    if (res.status !== 200) throw new Error(`GET call → ${res.status}`);
    if (res.body.status === "done" || res.body.status === "failed") return res.body;
    if (Date.now() > deadline) throw new Error(`call ${callId} still ${res.body.status}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
