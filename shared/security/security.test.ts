import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./passwords.ts";
import { decryptSecret, encryptSecret, hashToken, newToken } from "./tokens.ts";

describe("passwords", () => {
  it("verifies the right password only, with a salted memory-hard hash", async () => {
    const a = await hashPassword("correct horse battery");
    const b = await hashPassword("correct horse battery");
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse battery", a)).toBe(true);
    expect(await verifyPassword("correct horse batterY", a)).toBe(false);
    expect(await verifyPassword("x", "garbage")).toBe(false);
  });
});

describe("tokens and sealed secrets", () => {
  it("makes distinct tokens and stable hashes", () => {
    const t = newToken("tyn");
    expect(t).toMatch(/^tyn_[\w-]{43}$/);
    expect(newToken("tyn")).not.toBe(t);
    expect(hashToken(t)).toBe(hashToken(t));
    expect(hashToken(t)).not.toContain(t);
  });

  it("round-trips sealed secrets and refuses another key", () => {
    const sealed = encryptSecret("app-secret-0123456789", "whsec_abc");
    expect(sealed).not.toContain("whsec_abc");
    expect(decryptSecret("app-secret-0123456789", sealed)).toBe("whsec_abc");
    expect(() => decryptSecret("another-secret-0123456", sealed)).toThrow();
  });
});
