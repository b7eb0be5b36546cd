import { describe, expect, it } from "vitest";
import { createAppMetrics } from "./metrics.ts";

describe("createAppMetrics", () => {
  it("exposes the running Node.js version as tyndau_nodejs_version_info", async () => {
    const { registry } = createAppMetrics({ service: "api" });
    const text = await registry.metrics();
    const [major, minor, patch] = process.versions.node.split(".");
    const line = text.split("\n").find((l) => l.startsWith("tyndau_nodejs_version_info{"));
    expect(line).toBeDefined();
    expect(line).toContain(`version="${process.version}"`);
    expect(line).toContain(`major="${major}"`);
    expect(line).toContain(`minor="${minor}"`);
    expect(line).toContain(`patch="${patch}"`);
    expect(line).toContain('service="api"');
    expect(line).toMatch(/ 1$/);
  });
});
