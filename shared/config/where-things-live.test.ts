import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";

// docs/DEVELOPMENT.md "Where things live" has one line per folder (issue 16). It must name every folder
// that holds tracked files under the project's own top-level folders, and nothing that is not there.
const root = join(import.meta.dirname, "../..");
const TOP = ["services", "shared", "scripts", "test", "infra", "docs"];
// Generated or bulky folders that belong to a listed parent rather than a line of their own.
const UNLISTED = ["shared/db/migrations/meta", "docs/screenshots"];

function trackedFolders(): string[] {
  const files = execFileSync("git", ["ls-files", ...TOP], { cwd: root, encoding: "utf8" }).split("\n");
  const folders = new Set(files.filter(Boolean).map((f) => dirname(f)));
  return [...folders].filter((f) => !UNLISTED.some((u) => f === u || f.startsWith(`${u}/`))).sort();
}

function mappedFolders(): string[] {
  const doc = readFileSync(join(root, "docs/DEVELOPMENT.md"), "utf8");
  const start = doc.indexOf("### Where things live");
  const section = doc.slice(start, doc.indexOf("\n## ", start));
  return [...section.matchAll(/^- `([^`]+)\/` — /gm)].map((m) => m[1]!).sort();
}

describe("docs/DEVELOPMENT.md where-things-live map", () => {
  it("has exactly one line per folder of the tree", () => {
    const mapped = mappedFolders();
    expect(mapped.length).toBeGreaterThan(20);
    expect(new Set(mapped).size).toBe(mapped.length);
    const tree = trackedFolders();
    expect({ missingFromMap: tree.filter((f) => !mapped.includes(f)) }).toEqual({ missingFromMap: [] });
    expect({ notInTree: mapped.filter((f) => !tree.includes(f)) }).toEqual({ notInTree: [] });
  });
});
