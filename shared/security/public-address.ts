/**
 * Which network addresses Tyndau may connect to on a customer's behalf (recording URLs, pull sources'
 * feeds, APIs and buckets): in production only public ones, checked on the address actually connected
 * to (a lookup that refuses private answers, so no DNS rebinding between a check and the connection),
 * and again on every redirect hop. docs/SECURITY.md "Outbound connections".
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";

/** IPv4 ranges that are not the public Internet (RFC 6890 special-purpose registry and friends). */
const privateV4 = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (cloud metadata)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24], // 6to4 relay anycast
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) {
  privateV4.addSubnet(net, prefix, "ipv4");
}

/**
 * IPv6 ranges refused outright. The ranges that embed an IPv4 address and reach it (IPv4-mapped
 * ::ffff:0:0/96, NAT64 64:ff9b::/96) are decoded and judged by that address instead, below.
 */
const privateV6 = new BlockList();
for (const [net, prefix] of [
  ["::", 96], // unspecified, loopback, deprecated IPv4-compatible ::a.b.c.d
  ["64:ff9b:1::", 48], // local-use NAT64 (RFC 8215): any embedding, any network
  ["100::", 64], // discard
  ["2001::", 32], // Teredo: tunnels to an IPv4 address
  ["2001:db8::", 32], // documentation
  ["2002::", 16], // 6to4: tunnels to the IPv4 address in bits 16–48
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
] as const) {
  privateV6.addSubnet(net, prefix, "ipv6");
}

/** True for anything that is not a public unicast address (and for anything that is not an address). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return privateV4.check(address, "ipv4");
  if (family !== 6) return true;
  const bytes = ipv6Bytes(address);
  if (!bytes) return true;
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  const embeddedV4 = bytes.slice(12).join(".");
  // IPv4-mapped ::ffff:a.b.c.d, in any spelling (::ffff:7f00:1 too): judged as the IPv4 address.
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return privateV4.check(embeddedV4, "ipv4");
  // NAT64 well-known prefix 64:ff9b::a.b.c.d (RFC 6052): reaches a.b.c.d through the translator.
  if (bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12))
    return privateV4.check(embeddedV4, "ipv4");
  return privateV6.check(address, "ipv6");
}

/** The 16 bytes of an IPv6 address in any textual form (`::`, a dotted IPv4 tail, a zone id). */
function ipv6Bytes(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, "");
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail, ...rest] = text.split("::");
  if (rest.length > 0) return undefined;
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  const left = groups(head);
  const right = groups(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const hextets = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...right];
  const bytes: number[] = [];
  for (const h of hextets) {
    if (!/^[0-9a-f]{1,4}$/i.test(h)) return undefined;
    const v = Number.parseInt(h, 16);
    bytes.push(v >> 8, v & 0xff);
  }
  return bytes;
}

/** The connection was refused because its host is (or resolves to) a non-public address. */
export class PrivateAddressError extends Error {
  constructor() {
    super("private address");
  }
}

/** A dns.lookup that fails for private, loopback and link-local answers: used for every connection. */
export const publicOnlyLookup =
  (isBlocked: (address: string) => boolean = isPrivateAddress): LookupFunction =>
  (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const list = addresses as LookupAddress[];
      if (list.length === 0 || list.some((a) => isBlocked(a.address))) {
        return callback(new PrivateAddressError(), "", 0);
      }
      if ((options as { all?: boolean }).all) {
        (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      } else callback(null, list[0]!.address, list[0]!.family);
    });
  };

/** A URL's host as an address when it is a literal IP (brackets of IPv6 removed), else undefined. */
export function literalAddress(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return isIP(host) ? host : undefined;
}

/**
 * The check at configuration time (creating or changing a pull source): true when the URL's host is a
 * non-public literal address or a name that resolves (now) to one. A name that does not resolve passes:
 * the connection-time check refuses it later if it ever resolves to a private address.
 */
export async function pointsToPrivateAddress(
  url: URL,
  isBlocked: (address: string) => boolean = isPrivateAddress,
  timeoutMs = 3000,
): Promise<boolean> {
  const literal = literalAddress(url);
  if (literal) return isBlocked(literal);
  const resolved = await Promise.race([
    new Promise<LookupAddress[]>((resolve) =>
      dnsLookup(url.hostname, { all: true }, (err, addresses) => resolve(err ? [] : addresses)),
    ),
    new Promise<LookupAddress[]>((resolve) => setTimeout(() => resolve([]), timeoutMs).unref()),
  ]);
  return resolved.some((a) => isBlocked(a.address));
}
