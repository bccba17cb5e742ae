import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { broadcastOf, formatIPv4, inPrefix, maskOf, networkOf, parseIPv4, parsePrefix } from "../../src/wire/ipv4.ts";
import { formatMac, parseMac } from "../../src/wire/mac.ts";

describe("IPv4 addresses", () => {
  it("parses dotted quads strictly", () => {
    expect(parseIPv4("10.0.0.1")).toBe(0x0a000001);
    expect(parseIPv4("255.255.255.255")).toBe(0xffffffff);
    expect(parseIPv4("10.0.0.300")).toBeNull();
    expect(parseIPv4("10.0.0")).toBeNull();
    expect(parseIPv4("10.0.0.1.2")).toBeNull();
    expect(parseIPv4("a.b.c.d")).toBeNull();
  });
  it("round-trips every address", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (a) => parseIPv4(formatIPv4(a)) === a), { seed: 1 });
  });
  it("computes prefixes", () => {
    expect(maskOf(24)).toBe(0xffffff00);
    expect(maskOf(0)).toBe(0);
    expect(networkOf(parseIPv4("10.0.0.11")!, 24)).toBe(parseIPv4("10.0.0.0"));
    expect(formatIPv4(broadcastOf(parseIPv4("10.0.0.11")!, 24))).toBe("10.0.0.255");
    expect(inPrefix(parseIPv4("10.0.0.11")!, parseIPv4("10.0.0.0")!, 24)).toBe(true);
    expect(inPrefix(parseIPv4("10.0.1.11")!, parseIPv4("10.0.0.0")!, 24)).toBe(false);
    expect(parsePrefix("10.0.0.1/24")).toEqual({ addr: 0x0a000001, plen: 24 });
    expect(parsePrefix("10.0.0.1/33")).toBeNull();
    expect(parsePrefix("10.0.0.300/24")).toBeNull();
  });
});

describe("MAC addresses", () => {
  it("round-trips", () => {
    expect(formatMac(parseMac("0a:ac:b8:6f:0d:5a")!)).toBe("0a:ac:b8:6f:0d:5a");
    expect(parseMac("0a:ac:b8:6f:0d")).toBeNull();
  });
});
