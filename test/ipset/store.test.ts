// Where sets live: per namespace, outside the snapshot but recorded in it; a failing
// command or restore leaves every set as it was; the trace names each lookup.
import { describe, expect, it } from "vitest";
import { hostWithLayers } from "../../src/layers.ts";
import { lookupSet } from "../../src/ipset/api.ts";
import { restoreIpsets } from "../../src/ipset/restore.ts";
import { ip, ipsetHost, ipsetOf, packet, sh } from "./world.ts";

describe("a failing command changes nothing", () => {
  it("a range add that fills the hash half-way adds none of it", () => {
    const h = ipsetHost();
    sh(h, "ipset create s hash:ip maxelem 10 initval 0x1", "ipset add s 192.168.0.1");
    const before = sh(h, "ipset list s");
    // the kernel would keep the first nine addresses; pktpath keeps none
    expect(() => sh(h, "ipset add s 10.0.0.0/24")).toThrow("ipset v7.17: Hash is full, cannot add more elements");
    expect(sh(h, "ipset list s")).toBe(before);
  });

  it("a range that meets an existing element adds nothing, and the table keeps its size", () => {
    const h = ipsetHost();
    sh(h, "ipset create s hash:ip hashsize 64 bucketsize 2 initval 0x5", "ipset add s 10.0.0.200");
    const before = sh(h, "ipset list s");
    expect(() => sh(h, "ipset add s 10.0.0.0/24")).toThrow("it's already added");
    expect(sh(h, "ipset list s")).toBe(before);
  });

  it("a restore that fails on a line keeps none of its lines", () => {
    const h = ipsetHost();
    sh(h, "ipset create keep hash:ip", "ipset add keep 1.1.1.1");
    const before = sh(h, "ipset save");
    expect(() => restoreIpsets(ipsetOf.get(h)!, "host", "create new hash:ip\nadd new 10.0.0.1\nadd keep 2.2.2.2\nadd keep 1.1.1.1\n")).toThrow(
      "Error in line 4: Element cannot be added to the set: it's already added",
    );
    expect(sh(h, "ipset save")).toBe(before);
    expect(restoreIpsets(ipsetOf.get(h)!, "host", "add keep 1.1.1.1\n", { exist: true })).toBe("");
  });
});

describe("sets per namespace", () => {
  it("each namespace has its own sets; a namespace made again starts empty", () => {
    const { host: h, layers } = hostWithLayers();
    ipsetOf.set(h, layers.ipset);
    sh(h, "ip netns add a", "ip netns exec a ipset create s hash:ip", "ip netns exec a ipset add s 10.0.0.1");
    expect(sh(h, "ipset list -n")).toBe("");
    expect(sh(h, "ip netns exec a ipset list -n")).toBe("s\n");
    expect(lookupSet(ipsetOf.get(h)!, "a", "s")).not.toBeNull();
    sh(h, "ip netns del a", "ip netns add a");
    expect(sh(h, "ip netns exec a ipset list -n")).toBe("");
    expect(lookupSet(ipsetOf.get(h)!, "a", "s")).toBeNull();
  });

  it("the snapshot records a change to the sets, and only a change", () => {
    const h = ipsetHost();
    const gen = () => h.config.netns["host"]!.ext.ipset?.generation ?? 0;
    sh(h, "ipset create s hash:ip");
    const g1 = gen();
    sh(h, "ipset add s 10.0.0.1");
    expect(gen()).toBe(g1 + 1);
    sh(h, "ipset list", "ipset save", "ipset test s 10.0.0.1");
    expect(gen()).toBe(g1 + 1);
    expect(() => sh(h, "ipset add s 10.0.0.1")).toThrow();
    expect(gen()).toBe(g1 + 1);
  });
});

describe("trace", () => {
  it("emits a set event per lookup: set, type, the fields used, the outcome", () => {
    const h = ipsetHost();
    h.setTracing(true);
    sh(h, "ipset create s hash:ip,port", "ipset add s 10.0.0.11,tcp:8080");
    const s = lookupSet(ipsetOf.get(h)!, "host", "s")!;
    s.test(packet({ src: ip("10.0.0.21"), dst: ip("10.0.0.11"), dport: 8080 }), [false, false], null, h.now, true);
    s.test(packet({ src: ip("10.0.0.21"), dst: ip("10.0.0.11"), dport: 80 }), [false, false], null, h.now, true);
    sh(h, "ipset create n hash:net", "ipset add n 10.0.0.0/16", "ipset add n 10.0.0.0/24 nomatch");
    lookupSet(ipsetOf.get(h)!, "host", "n")!.test(packet({ src: ip("10.0.0.21"), dst: ip("10.0.0.11") }), [true], null, h.now, true);
    const ev = h.takeTrace().filter((e) => e.step === "set");
    expect(ev.map((e) => e.detail)).toEqual([
      "match-set s (hash:ip,port) dst 10.0.0.11, dst tcp:8080: hit 10.0.0.11,tcp:8080",
      "match-set s (hash:ip,port) dst 10.0.0.11, dst tcp:80: miss",
      "match-set n (hash:net) src 10.0.0.21: nomatch element 10.0.0.0/24",
    ]);
  });
});
