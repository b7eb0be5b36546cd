import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

interface ApiErrorLike extends Error {
  status: number;
  code: string;
  details: unknown;
}
interface ApiModule {
  api: Record<"get" | "post" | "patch" | "delete", (path: string, options?: object) => Promise<unknown>> & {
    blob: (path: string, options?: object) => Promise<{ blob: Blob; fileName: string | undefined }>;
  };
  apiUrl: (template: string, options?: object) => string;
  ApiError: new (...args: unknown[]) => ApiErrorLike;
  session: { token: string | null; onUnauthenticated: () => void };
}

// The web app is plain JS outside this project's tsconfig (it has its own, with checkJs): import it by URL.
const { api, apiUrl, ApiError, session } = (await import(
  new URL("./api.js", import.meta.url).href
)) as ApiModule;

const store = new Map<string, string>();
const calls: { url: string; init: RequestInit }[] = [];
let answer: () => Response = () => new Response("{}", { status: 200 });

beforeEach(() => {
  store.clear();
  calls.length = 0;
  vi.stubGlobal("localStorage", {
    getItem: (k: string) => store.get(k) ?? null,
    setItem: (k: string, v: string) => store.set(k, v),
    removeItem: (k: string) => store.delete(k),
  });
  vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return answer();
  });
});
afterEach(() => {
  vi.unstubAllGlobals();
  session.onUnauthenticated = () => {};
});

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });

describe("the web app's API client", () => {
  it("fills path templates (encoded) and appends the query without empty values", () => {
    expect(apiUrl("/api/v1/calls/{id}", { path: { id: "a/b c" } })).toBe("/api/v1/calls/a%2Fb%20c");
    expect(
      apiUrl("/api/v1/reports/calls", {
        query: { from: "2026-01-01", to: "", q: null, answer: ["x", "y"], limit: 25 },
      }),
    ).toBe("/api/v1/reports/calls?from=2026-01-01&answer=x&answer=y&limit=25");
    expect(() => apiUrl("/api/v1/calls/{id}", {})).toThrow(/\{id\}/);
  });

  it("sends the bearer token and JSON bodies; a POST without a body sends {}", async () => {
    session.token = "tyn_secret_token";
    answer = json(201, { id: "1" });
    expect(await api.post("/api/v1/sources", { body: { name: "PBX" } })).toEqual({ id: "1" });
    await api.post("/api/v1/auth/logout");
    await api.get("/api/v1/me");
    const [create, logout, me] = calls;
    expect(create?.init).toMatchObject({
      method: "POST",
      body: '{"name":"PBX"}',
      headers: { "content-type": "application/json", authorization: "Bearer tyn_secret_token" },
    });
    expect(logout?.init.body).toBe("{}");
    expect(me?.init).toMatchObject({
      method: "GET",
      body: undefined,
      headers: { authorization: "Bearer tyn_secret_token" },
    });
    expect(me?.init.headers).not.toHaveProperty("content-type");
  });

  it("passes declared headers (Idempotency-Key) through", async () => {
    await api.post("/api/v1/billing/payments", {
      body: { amount: "1.00" },
      headers: { "Idempotency-Key": "k-12345678" },
    });
    expect(calls[0]?.init.headers).toMatchObject({ "Idempotency-Key": "k-12345678" });
  });

  it("turns the error envelope into an ApiError; a 401 outside /auth signs out", async () => {
    session.token = "tyn_secret_token";
    const onUnauthenticated = vi.fn();
    session.onUnauthenticated = onUnauthenticated;
    answer = json(400, {
      error: { code: "VALIDATION_FAILED", message: "bad", requestId: "r", details: [1] },
    });
    const error = await api.get("/api/v1/me").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: "VALIDATION_FAILED", message: "bad", details: [1] });

    answer = json(401, { error: { code: "UNAUTHENTICATED", message: "no", requestId: "r" } });
    await expect(api.post("/api/v1/auth/login", { body: {} })).rejects.toMatchObject({ status: 401 });
    expect(onUnauthenticated).not.toHaveBeenCalled();
    await expect(api.get("/api/v1/me")).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    expect(onUnauthenticated).toHaveBeenCalledOnce();
    expect(session.token).toBeNull();
  });

  it("answers {} for 204 and unreadable bodies, HTTP_<status> without an envelope, NETWORK when unreachable", async () => {
    answer = () => new Response(null, { status: 204 });
    expect(await api.delete("/api/v1/users/{id}", { path: { id: "u" } })).toEqual({});
    answer = () => new Response("<html>", { status: 502, statusText: "Bad Gateway" });
    await expect(api.get("/api/v1/me")).rejects.toMatchObject({
      status: 502,
      code: "HTTP_502",
      message: "Bad Gateway",
    });
    vi.stubGlobal("fetch", async () => {
      throw new TypeError("Failed to fetch");
    });
    await expect(api.get("/api/v1/me")).rejects.toMatchObject({ status: 0, code: "NETWORK" });
  });

  it("downloads a file with the name from Content-Disposition", async () => {
    answer = () =>
      new Response("a;b\n", {
        status: 200,
        headers: { "content-disposition": 'attachment; filename="calls.csv"' },
      });
    const { blob, fileName } = await api.blob("/api/v1/calls/export.csv", {
      query: { delimiter: "semicolon" },
    });
    expect(calls[0]?.url).toBe("/api/v1/calls/export.csv?delimiter=semicolon");
    expect(fileName).toBe("calls.csv");
    expect(await blob.text()).toBe("a;b\n");
  });
});
