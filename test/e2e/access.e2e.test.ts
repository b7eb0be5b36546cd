import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allRoutes } from "../../services/api/app.ts";
import type { AnyRoute } from "../../services/api/http/route.ts";
import { createStaffUser } from "../../shared/accounts/create-staff-user.ts";
import { apiClient, registerOwner } from "../harness/api-client.ts";
import { validBin } from "../harness/kz-ids.ts";
import { startTestApp, type TestApp } from "../harness/test-app.ts";

/**
 * The role table, from the routes' own declarations: every route that names roles refuses the others
 * (403) and anonymous callers (401), and lets its roles through (whatever the answer to an empty body).
 */
let app: TestApp;
const tokens: Record<"owner" | "manager" | "staff", string> = { owner: "", manager: "", staff: "" };

beforeAll(async () => {
  app = await startTestApp("postgres");
  const owner = await registerOwner(app.baseUrl);
  tokens.owner = owner.token;
  const email = `manager-${owner.accountId}@example.com`;
  await owner.client.post("/api/v1/users", { email, password: "manager password", role: "manager" });
  tokens.manager = (
    await apiClient(app.baseUrl).post<{ token: string }>("/api/v1/auth/login", {
      email,
      password: "manager password",
    })
  ).body.token;
  await createStaffUser(app.database.db, {
    email: `staff-${owner.accountId}@tyndau.kz`,
    password: "staff password 1",
  });
  tokens.staff = (
    await apiClient(app.baseUrl).post<{ token: string }>("/api/v1/auth/login", {
      email: `staff-${owner.accountId}@tyndau.kz`,
      password: "staff password 1",
    })
  ).body.token;
});
afterAll(async () => {
  await app?.close();
});

/** The route list with a dummy dependency set: only the declarations (method, path, access) are read. */
function declaredRoutes(): AnyRoute[] {
  const deps = new Proxy(
    {},
    {
      get: (_t, prop) =>
        prop === "config" ? { publicUrl: "http://x" } : prop === "verifyFileSignature" ? undefined : [],
    },
  );
  // Logout would revoke the tokens the table uses; it is covered by the walking-skeleton test.
  return allRoutes(deps as never).filter((r) => Array.isArray(r.access) && r.path !== "/api/v1/auth/logout");
}

const concretePath = (p: string) => p.replace(/\{(\w+)\}/g, () => crypto.randomUUID());

async function call(route: AnyRoute, token: string | undefined): Promise<number> {
  const res = await fetch(`${app.baseUrl}${concretePath(route.path)}`, {
    method: route.method.toUpperCase(),
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: route.method === "get" ? undefined : "{}",
  });
  await res.arrayBuffer();
  return res.status;
}

describe("role table", () => {
  it("covers the API", () => {
    expect(declaredRoutes().length).toBeGreaterThan(25);
  });

  it("refuses anonymous callers and other roles, and lets each route's roles through", async () => {
    const problems: string[] = [];
    for (const route of declaredRoutes()) {
      const label = `${route.method.toUpperCase()} ${route.path}`;
      const anonymous = await call(route, undefined);
      if (anonymous !== 401) problems.push(`${label} anonymous → ${anonymous}`);
      for (const role of ["owner", "manager", "staff"] as const) {
        const status = await call(route, tokens[role]);
        const allowed = (route.access as readonly string[]).includes(role);
        if (allowed && (status === 401 || status === 403))
          problems.push(`${label} ${role} (allowed) → ${status}`);
        if (!allowed && status !== 403) problems.push(`${label} ${role} (not allowed) → ${status}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe("isolation sweep", () => {
  it("answers 404 to every id-taking route given another account's ids, and changes nothing", async () => {
    const { execFileSync } = await import("node:child_process");
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const { pushRecording } = await import("../harness/api-client.ts");

    // Account A owns one of everything.
    const a = await registerOwner(app.baseUrl, "A LLP");
    const template = await a.client.post<{ id: string }>("/api/v1/templates", {
      name: "T",
      questions: [{ key: "hello", text: "Hello?", type: "boolean", keywords: { any: ["hello"] } }],
    });
    const source = await a.client.post<{ id: string; ingestUrl: string }>("/api/v1/sources", {
      name: "PBX",
      kind: "push",
    });
    const dir = mkdtempSync(join(tmpdir(), "tyndau-iso-"));
    const wav = join(dir, "tone.wav");
    execFileSync("ffmpeg", [
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:duration=2",
      "-ac",
      "2",
      wav,
    ]);
    const pushed = await pushRecording(source.body.ingestUrl, wav, { externalId: "iso-1" });
    rmSync(dir, { recursive: true, force: true });
    const invoice = await a.client.post<{ id: string }>("/api/v1/billing/invoices", {
      amount: "100.00",
      payer: { name: "ТОО Тест", bin: validBin("19084000352"), address: "Астана" },
    });
    const member = await a.client.post<{ id: string }>("/api/v1/users", {
      email: `member-${a.accountId}@example.com`,
      password: "member password 1",
      role: "manager",
    });
    const invitation = await a.client.post<{ id: string }>("/api/v1/invitations", {
      email: `invitee-${a.accountId}@example.com`,
      role: "manager",
    });
    const ids: Record<string, string> = {
      calls: String(pushed.body.callId),
      users: member.body.id,
      invitations: invitation.body.id,
      templates: template.body.id,
      sources: source.body.id,
      invoices: invoice.status === 201 ? invoice.body.id : "",
    };

    // Account B's owner tries each of them on every route that takes an id and that B's role may use.
    const b = await registerOwner(app.baseUrl, "B LLP");
    // (Library templates are the service's own, the same for every account.)
    const probes = declaredRoutes().filter(
      (r) =>
        r.path.includes("{id}") &&
        !r.path.includes("/library/") &&
        (r.access as readonly string[]).includes("owner"),
    );
    expect(probes.length).toBeGreaterThanOrEqual(8);
    const problems: string[] = [];
    for (const route of probes) {
      const kind = Object.keys(ids).find((k) => route.path.includes(`/${k}/{id}`));
      if (!kind || !ids[kind]) {
        problems.push(`no resource of this kind for ${route.path}`);
        continue;
      }
      const res = await fetch(`${app.baseUrl}${route.path.replace("{id}", ids[kind]!)}`, {
        method: route.method.toUpperCase(),
        headers: { "content-type": "application/json", authorization: `Bearer ${b.token}` },
        body:
          route.method === "get"
            ? undefined
            : JSON.stringify(
                route.method !== "patch"
                  ? {}
                  : route.path.includes("/users/")
                    ? { role: "owner" }
                    : { name: "stolen" },
              ),
      });
      await res.arrayBuffer();
      if (res.status !== 404) problems.push(`${route.method.toUpperCase()} ${route.path} → ${res.status}`);
    }
    expect(problems).toEqual([]);

    // Nothing of A's changed or went away.
    expect((await a.client.get<{ name: string }>(`/api/v1/templates/${ids.templates}`)).body.name).toBe("T");
    expect(
      (await a.client.get<{ items: { id: string }[] }>("/api/v1/sources")).body.items.map((s) => s.id),
    ).toContain(ids.sources);
    expect((await a.client.get(`/api/v1/calls/${ids.calls}`)).status).toBe(200);
    const members = await a.client.get<{ items: { id: string; role: string }[] }>("/api/v1/users");
    expect(members.body.items.find((u) => u.id === ids.users)?.role).toBe("manager");
    const open = await a.client.get<{ items: { id: string }[] }>("/api/v1/invitations");
    expect(open.body.items.map((i) => i.id)).toContain(ids.invitations);
  });
});
