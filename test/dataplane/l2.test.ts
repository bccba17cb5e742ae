// Links and the bridge: veth delivery, FDB learning and flooding, hairpin mode, down links.
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import { blankPacket, ETH_P_IP, IPPROTO_UDP } from "../../src/wire/packet.ts";
import { parseIPv4 } from "../../src/wire/ipv4.ts";
import { curl, run, twoPodHost } from "../helpers.ts";

function macOf(h: Host, ns: string, dev: string): number {
  return h.dp.view.netns.get(ns)!.byName.get(dev)!.cfg.mac;
}

/** Injects a frame as if the pod's end of the veth had sent it. */
function sendFrom(h: Host, ns: string, dev: string, dstMac: number, daddr: string) {
  const link = h.dp.view.netns.get(ns)!.byName.get(dev)!;
  const p = blankPacket();
  p.ethType = ETH_P_IP;
  p.ethSrc = link.cfg.mac;
  p.ethDst = dstMac;
  p.proto = IPPROTO_UDP;
  p.saddr = link.cfg.addrs.at(0)!.addr;
  p.daddr = parseIPv4(daddr)!;
  p.sport = 1000;
  p.dport = 2000;
  h.dp.sim.enqueue(link.peer!.id, p);
  h.dp.run(h.now, () => false);
}

describe("the bridge", () => {
  it("learns source MACs on their ports and forwards known unicast to one port", () => {
    const h = twoPodHost({ trace: true });
    curl(h, "netns_leah", "10.0.0.11:8080");
    const fdb = h.exec("bridge fdb show br bridge_home")[0]!.stdout;
    expect(fdb).toMatch(/dev veth_dustin master bridge_home \n/);
    expect(fdb).toMatch(/dev veth_leah master bridge_home \n/);
    const trace = h.takeTrace().map((e) => e.detail);
    expect(trace.some((d) => /on veth_dustin$/.test(d))).toBe(true);
  });
  it("floods unknown unicast to every port but the ingress", () => {
    const h = twoPodHost({ trace: true });
    h.takeTrace();
    sendFrom(h, "netns_leah", "veth_ns_leah", 0x02aabbccddee, "10.0.0.11");
    const events = h.takeTrace();
    expect(events.some((e) => e.step === "bridge" && e.detail.includes("unknown: flood"))).toBe(true);
    expect(events.some((e) => e.step === "tx" && e.dev === "veth_dustin")).toBe(true);
    expect(events.some((e) => e.step === "tx" && e.dev === "veth_leah")).toBe(false);
  });
  it("sends a frame back out its ingress port only in hairpin mode", () => {
    const h = twoPodHost({ trace: true });
    curl(h, "host", "10.0.0.21:8080"); // the bridge learns leah's MAC on veth_leah
    const leahMac = macOf(h, "netns_leah", "veth_ns_leah");
    h.takeTrace();
    sendFrom(h, "netns_leah", "veth_ns_leah", leahMac, "10.0.0.21");
    expect(h.takeTrace().some((e) => e.step === "drop" && e.detail.includes("hairpin mode is off"))).toBe(true);
    h.exec("bridge link set dev veth_leah hairpin on");
    sendFrom(h, "netns_leah", "veth_ns_leah", leahMac, "10.0.0.21");
    const events = h.takeTrace();
    expect(events.some((e) => e.step === "bridge" && e.detail.includes("(hairpin)"))).toBe(true);
    expect(events.some((e) => e.step === "rx" && e.ns === "netns_leah")).toBe(true);
  });
  it("a port that is down forwards nothing; a down link drops what it is given", () => {
    const h = twoPodHost();
    h.exec("ip link set veth_dustin down");
    expect(curl(h, "netns_leah", "10.0.0.11:8080").outcome).toBe("timeout");
    h.exec("ip link set veth_dustin up");
    expect(curl(h, "netns_leah", "10.0.0.11:8080").outcome).toBe("answered");
  });
  it("the bridge takes the lowest port MAC, and 00:00:00:00:00:00 when the last port leaves", () => {
    const h = twoPodHost();
    const br = macOf(h, "host", "bridge_home");
    expect(br).toBe(Math.min(macOf(h, "host", "veth_dustin"), macOf(h, "host", "veth_leah")));
    run(h, "ip link set veth_dustin nomaster\nip link set veth_leah nomaster");
    expect(macOf(h, "host", "bridge_home")).toBe(0);
  });
});
