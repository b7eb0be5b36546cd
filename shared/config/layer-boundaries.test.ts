import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The layer rules (issue 16) live in biome.json as noRestrictedImports overrides. `biome check .` proves the
// tree obeys them today; this proves they still bite: probe files that break each rule are linted with the
// project's own biome.json in a scratch folder, and each must be refused (and the allowed twin accepted).
const root = join(import.meta.dirname, "../..");
const biome = join(root, "node_modules/.bin/biome");

type Probe = { path: string; source: string; refused: boolean };

const probes: Probe[] = [
  { path: "shared/billing/probe-a.ts", source: 'import { sql } from "drizzle-orm";\n', refused: true },
  { path: "services/api/routes/probe-b.ts", source: 'import { eq } from "drizzle-orm";\n', refused: true },
  {
    path: "shared/db/repositories/probe-c.ts",
    source: 'import { eq } from "drizzle-orm";\n',
    refused: false,
  },
  { path: "shared/billing/probe-d.ts", source: 'import express from "express";\n', refused: true },
  { path: "services/pipeline/probe-e.ts", source: 'import express from "express";\n', refused: true },
  { path: "services/api/probe-f.ts", source: 'import express from "express";\n', refused: false },
  {
    path: "shared/ingest/probe-g.ts",
    source: 'import { x } from "../../scripts/fixtures/synthesize-call.ts";\n',
    refused: true,
  },
  {
    path: "services/api/probe-h.ts",
    source: 'import { x } from "../../test/harness/servers.ts";\n',
    refused: true,
  },
  {
    path: "shared/queue/probe-i.ts",
    source: 'import { x } from "../../services/api/app.ts";\n',
    refused: true,
  },
  {
    path: "services/api/probe-j.ts",
    source: 'import { x } from "../pipeline/pipeline-deps.ts";\n',
    refused: true,
  },
  { path: "services/scheduler/probe-k.ts", source: 'import { x } from "../api/app.ts";\n', refused: true },
  {
    path: "services/pipeline/probe-l.ts",
    source: 'import { x } from "../../shared/money/money.ts";\n',
    refused: false,
  },
];

let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tyndau-lint-"));
  const config = JSON.parse(readFileSync(join(root, "biome.json"), "utf8"));
  // The scratch folder is no git work tree, so the git ignore file cannot be read there.
  config.vcs = { enabled: false };
  writeFileSync(join(dir, "biome.json"), JSON.stringify(config));
  for (const probe of probes) {
    mkdirSync(dirname(join(dir, probe.path)), { recursive: true });
    writeFileSync(join(dir, probe.path), `${probe.source}export const probe = 1;\n`);
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function restrictedImportsIn(): Set<string> {
  let out = "";
  try {
    out = execFileSync(biome, ["lint", "--reporter=json", "--max-diagnostics=none", "."], {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    out = String((error as { stdout?: string }).stdout ?? "");
  }
  const report = JSON.parse(out.slice(out.indexOf("{"))) as {
    diagnostics: { category: string; location: { path: { file: string } | string } }[];
  };
  const files = new Set<string>();
  for (const d of report.diagnostics) {
    if (d.category !== "lint/style/noRestrictedImports") continue;
    const path = typeof d.location.path === "string" ? d.location.path : d.location.path.file;
    files.add(path.replace(/^\.\//, ""));
  }
  return files;
}

describe("layer boundaries in biome.json", () => {
  it("refuse each forbidden import and allow its permitted twin", () => {
    const refused = restrictedImportsIn();
    for (const probe of probes) {
      expect({ path: probe.path, refused: refused.has(probe.path) }).toEqual({
        path: probe.path,
        refused: probe.refused,
      });
    }
  });
});
