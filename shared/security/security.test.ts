import { describe, expect, it } from "vitest";
import { hashPassword, needsRehash, verifyPassword } from "./passwords.ts";
import { decryptSecret, encryptSecret, hashToken, newToken } from "./tokens.ts";

describe("passwords", () => {
  it("verifies the right password only, with a salted memory-hard hash", async () => {
    const a = await hashPassword("correct horse battery");
    const b = await hashPassword("correct horse battery");
    // OWASP: N=2^17, r=8, p=1.
    expect(a).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse battery", a)).toBe(true);
    expect(await verifyPassword("correct horse batterY", a)).toBe(false);
    expect(await verifyPassword("x", "garbage")).toBe(false);
    expect(needsRehash(a)).toBe(false);
    // Four hashes of 128 MiB each: about a second apiece on a busy machine.
  }, 30_000);

  it("still verifies an older, weaker hash and marks it for rehashing", async () => {
    // Made by the earlier parameters (N=2^15) for "correct horse battery".
    const { scryptSync } = await import("node:crypto");
    const salt = Buffer.alloc(16, 7);
    const key = scryptSync("correct horse battery", salt, 32, {
      N: 2 ** 15,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    });
    const old = ["scrypt", 2 ** 15, 8, 1, salt.toString("base64url"), key.toString("base64url")].join("$");
    expect(await verifyPassword("correct horse battery", old)).toBe(true);
    expect(needsRehash(old)).toBe(true);
  }, 30_000);
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
