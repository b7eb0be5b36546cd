import { describe, expect, it } from "vitest";
import { isTransientDbError } from "./transient-errors.ts";

const withCode = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("isTransientDbError", () => {
  it("recognises a database that is restarting or unreachable, also wrapped", () => {
    expect(isTransientDbError(withCode("ECONNREFUSED"))).toBe(true);
    expect(isTransientDbError(withCode("57P01", "terminating connection due to administrator command"))).toBe(
      true,
    );
    expect(isTransientDbError(withCode("57P03", "the database system is starting up"))).toBe(true);
    expect(isTransientDbError(withCode("08006"))).toBe(true);
    expect(isTransientDbError(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isTransientDbError(new Error("Failed query: select 1", { cause: withCode("ECONNRESET") }))).toBe(
      true,
    );
    expect(isTransientDbError(new AggregateError([withCode("ECONNREFUSED")], "connect failed"))).toBe(true);
  });

  it("leaves real query errors and other failures alone", () => {
    expect(isTransientDbError(withCode("23505", "duplicate key value"))).toBe(false);
    expect(isTransientDbError(withCode("42P01", 'relation "nope" does not exist'))).toBe(false);
    expect(isTransientDbError(new Error("boom"))).toBe(false);
    expect(isTransientDbError(undefined)).toBe(false);
    expect(isTransientDbError("ECONNREFUSED")).toBe(false);
  });
});
