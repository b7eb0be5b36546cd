import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  buildApiDocument,
  REGENERATE_COMMAND,
  renderApiTypes,
  renderSchema,
  WEB_API_TYPES_PATH,
} from "./web-api-types.ts";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "../..");

describe("the web app's API types", () => {
  it("are what the server's OpenAPI document gives today (regenerate after changing a route's schemas)", () => {
    const committed = readFileSync(path.join(root, WEB_API_TYPES_PATH), "utf8");
    const fresh = renderApiTypes(buildApiDocument());
    if (committed !== fresh) {
      const a = committed.split("\n");
      const b = fresh.split("\n");
      const line = a.findIndex((text, i) => text !== b[i]);
      expect.fail(
        `${WEB_API_TYPES_PATH} is out of date with the routes' schemas (first difference at line ${line + 1}: ` +
          `committed ${JSON.stringify(a[line])}, now ${JSON.stringify(b[line])}). ` +
          `Run \`${REGENERATE_COMMAND}\`, then \`npm run typecheck:web\`, and commit the file.`,
      );
    }
  });

  it("cover the paths the web app calls", () => {
    const types = renderApiTypes(buildApiDocument());
    for (const p of [
      "/api/v1/me",
      "/api/v1/calls/{id}",
      "/api/v1/reports/calls",
      "/api/v1/billing/invoices",
    ]) {
      expect(types).toContain(`  ${JSON.stringify(p)}: {`);
    }
  });
});

describe("renderSchema", () => {
  it("renders nullable values, enums with null, unions and open objects", () => {
    expect(renderSchema({ type: "string", nullable: true })).toBe("string | null");
    expect(renderSchema({ type: "string", enum: ["a", "b"], nullable: true })).toBe('"a" | "b" | null');
    expect(
      renderSchema({ anyOf: [{ type: "number" }, { type: "string", nullable: true, enum: [null] }] }),
    ).toBe("number | null");
    expect(renderSchema({ type: "object", additionalProperties: { type: "number" } })).toBe(
      "Record<string, number>",
    );
    expect(renderSchema({ type: "object", additionalProperties: {} })).toBe("Record<string, unknown>");
    expect(renderSchema({})).toBe("unknown");
  });

  it("renders objects with required and optional properties, quoting names that need it", () => {
    expect(
      renderSchema({
        type: "object",
        properties: { id: { type: "string" }, "x-y": { type: "integer" } },
        required: ["id"],
        additionalProperties: false,
      }),
    ).toBe('{\n  id: string;\n  "x-y"?: number;\n}');
  });

  it("parenthesises unions inside arrays", () => {
    expect(renderSchema({ type: "array", items: { type: "string", enum: ["a", "b"] } })).toBe(
      '("a" | "b")[]',
    );
    expect(renderSchema({ type: "array", items: { type: "string" } })).toBe("string[]");
  });

  it("refuses $ref rather than guessing (the zod documents inline every schema)", () => {
    expect(() => renderSchema({ $ref: "#/components/schemas/X" })).toThrow(/\$ref/);
  });
});
