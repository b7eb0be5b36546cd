import { describe, expect, it } from "vitest";
import { isPrivateAddress, pointsToPrivateAddress } from "./public-address.ts";

describe("isPrivateAddress", () => {
  it("refuses the special-purpose IPv4 ranges, 192.0.0.0/24 included", () => {
    for (const a of [
      "0.0.0.0",
      "10.0.0.1",
      "100.64.0.1",
      "127.0.0.1",
      "169.254.169.254",
      "172.31.255.255",
      "192.0.0.1",
      "192.0.0.170",
      "192.0.2.10",
      "192.88.99.1",
      "192.168.0.1",
      "198.18.0.1",
      "198.51.100.7",
      "203.0.113.9",
      "224.0.0.1",
      "255.255.255.255",
    ])
      expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ["8.8.8.8", "1.1.1.1", "192.0.1.1", "192.1.0.1", "93.184.216.34"])
      expect(isPrivateAddress(a), a).toBe(false);
  });

  it("judges IPv4-mapped and NAT64 addresses by the IPv4 address they reach, in any spelling", () => {
    for (const a of [
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "0:0:0:0:0:ffff:7f00:1",
      "::ffff:169.254.169.254",
      "64:ff9b::127.0.0.1",
      "64:ff9b::7f00:1",
      "64:ff9b::a00:1",
      "64:ff9b::a9fe:a9fe",
      "64:ff9b:0:0:0:0:c0a8:101",
    ])
      expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ["::ffff:8.8.8.8", "64:ff9b::808:808", "64:ff9b::8.8.4.4"])
      expect(isPrivateAddress(a), a).toBe(false);
  });

  it("refuses IPv4-compatible ::a.b.c.d, 6to4 2002::/16, local NAT64, Teredo and the other special IPv6 ranges", () => {
    for (const a of [
      "::",
      "::1",
      "::127.0.0.1",
      "::8.8.8.8",
      "::7f00:1",
      "2002:7f00:1::1",
      "2002:808:808::1",
      "64:ff9b:1::a00:1",
      "2001:0:4136:e378:8000:63bf:3fff:fdd2",
      "2001:db8::1",
      "100::1",
      "fc00::1",
      "fd12:3456::1",
      "fe80::1",
      "fe80::1%eth0",
      "fec0::1",
      "ff02::1",
    ])
      expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ["2a00:1450:4010::200e", "2606:4700:4700::1111", "2001:4860:4860::8888"])
      expect(isPrivateAddress(a), a).toBe(false);
  });

  it("refuses whatever is not an address", () => {
    for (const a of ["", "localhost", "not-an-ip", "1.2.3", "::g"]) expect(isPrivateAddress(a), a).toBe(true);
  });
});

describe("pointsToPrivateAddress", () => {
  it("checks a literal host and what a name resolves to; a name that does not resolve passes", async () => {
    expect(await pointsToPrivateAddress(new URL("http://127.0.0.1:9/x"))).toBe(true);
    expect(await pointsToPrivateAddress(new URL("http://[::1]:9/x"))).toBe(true);
    expect(await pointsToPrivateAddress(new URL("http://[::ffff:a00:1]/x"))).toBe(true);
    expect(await pointsToPrivateAddress(new URL("http://8.8.8.8/x"))).toBe(false);
    expect(await pointsToPrivateAddress(new URL("http://localhost:9/x"))).toBe(true);
    expect(await pointsToPrivateAddress(new URL("http://no-such-host.invalid/x"))).toBe(false);
  });
});
