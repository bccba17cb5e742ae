// Links and namespaces: veth pairs, bridge ports and the bridge's MAC, moving a link to
// another namespace, deleting a namespace (veth_newlink, br_add_if,
// br_stp_recalculate_bridge_id, dev_change_net_namespace, default_device_exit).
// Expectations measured with iproute2 in fresh namespaces on Linux 6.18.
import { describe, expect, it } from "vitest";
import { addAddress, linkUp } from "../../src/config/addrs.ts";
import { KernelError } from "../../src/config/errors.ts";
import { addLink, delLink, setMaster, setNetns } from "../../src/config/links.ts";
import { addNetns, delNetns, findLink, initialConfig, linksOf } from "../../src/config/netns.ts";
import type { Config } from "../../src/config/types.ts";
import { formatMac, parseMac } from "../../src/wire/mac.ts";
import { ip, NS } from "./world.ts";

function names(c: Config, ns: string): string[] {
  return linksOf(c, ns).map((l) => `${l.ifindex}: ${l.name}${l.peer !== null ? `@${c.links[l.peer]!.name}` : ""}`);
}

function veth(c: Config, name: string, peer: string, mac: string, peerMac: string): void {
  addLink(c, NS, { name, kind: "veth", peerName: peer, peerNetns: null, mac: parseMac(mac) });
  findLink(c, NS, peer)!.mac = parseMac(peerMac)!;
}

function errno(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof KernelError) return `${e.errno}${e.extack ? `: ${e.extack}` : ""}`;
    throw e;
  }
  return "accepted";
}

describe("a new namespace", () => {
  it("has lo alone, down, without addresses, at ifindex 1", () => {
    const c = initialConfig();
    addNetns(c, "y");
    const lo = findLink(c, "y", "lo")!;
    expect(names(c, "y")).toEqual(["1: lo"]);
    expect([lo.up, lo.addrs.length, formatMac(lo.mac)]).toEqual([false, 0, "00:00:00:00:00:00"]);
    expect(errno(() => addNetns(c, "y"))).toBe("EEXIST");
  });
});

describe("veth", () => {
  it("without names: the peer is made first, as veth0 at the lower ifindex", () => {
    const c = initialConfig();
    addLink(c, NS, { name: null, kind: "veth", peerName: null, peerNetns: null, mac: null });
    expect(names(c, NS)).toEqual(["1: lo", "2: veth0@veth1", "3: veth1@veth0"]);
  });

  it("deleting one end deletes the other", () => {
    const c = initialConfig();
    veth(c, "p2", "q2", "02:00:00:00:00:05", "02:00:00:00:00:03");
    delLink(c, findLink(c, NS, "p2")!);
    expect(names(c, NS)).toEqual(["1: lo"]);
    expect(errno(() => delLink(c, findLink(c, NS, "lo")!))).toBe("EOPNOTSUPP");
  });
});

describe("a bridge", () => {
  it("takes its lowest port MAC, follows its ports, and is 00:00:00:00:00:00 once the last one leaves", () => {
    const c = initialConfig();
    const br = addLink(c, NS, { name: "br0", kind: "bridge", peerName: null, peerNetns: null, mac: null });
    veth(c, "p1", "q1", "02:00:00:00:00:09", "02:00:00:00:00:01");
    veth(c, "p2", "q2", "02:00:00:00:00:05", "02:00:00:00:00:03");
    const mac = () => formatMac(br.mac);
    setMaster(c, findLink(c, NS, "p1")!, br);
    setMaster(c, findLink(c, NS, "p2")!, br);
    expect(mac()).toBe("02:00:00:00:00:05");
    setMaster(c, findLink(c, NS, "p2")!, null);
    expect(mac()).toBe("02:00:00:00:00:09");
    setMaster(c, findLink(c, NS, "p1")!, null);
    expect(mac()).toBe("00:00:00:00:00:00");
  });

  it("keeps an address set by hand", () => {
    const c = initialConfig();
    const br = addLink(c, NS, { name: "br0", kind: "bridge", peerName: null, peerNetns: null, mac: parseMac("02:aa:00:00:00:01") });
    veth(c, "p1", "q1", "02:00:00:00:00:09", "02:00:00:00:00:01");
    setMaster(c, findLink(c, NS, "p1")!, br);
    expect(formatMac(br.mac)).toBe("02:aa:00:00:00:01");
  });

  it("refuses a bridge or lo as a port, in the kernel's words", () => {
    const c = initialConfig();
    const br = addLink(c, NS, { name: "br0", kind: "bridge", peerName: null, peerNetns: null, mac: null });
    const br1 = addLink(c, NS, { name: "br1", kind: "bridge", peerName: null, peerNetns: null, mac: null });
    expect(errno(() => setMaster(c, br1, br))).toBe("ELOOP: Can not enslave a bridge to a bridge.");
    expect(errno(() => setMaster(c, findLink(c, NS, "lo")!, br))).toBe("EINVAL");
  });
});

describe("moving a link to another namespace", () => {
  it("keeps its ifindex when free there, leaves it down without addresses, and gives both namespaces ids for each other", () => {
    const c = initialConfig();
    addNetns(c, "x");
    veth(c, "p1", "q1", "02:00:00:00:00:09", "02:00:00:00:00:01");
    const q1 = findLink(c, NS, "q1")!;
    linkUp(c, q1);
    addAddress(c, q1, { addr: ip("10.0.0.1"), plen: 24, broadcast: 0, scope: "global" });
    const before = q1.ifindex;
    setNetns(c, q1, "x");
    expect([q1.netns, q1.ifindex, q1.up, q1.addrs.length]).toEqual(["x", before, false, 0]);
    expect(c.netns[NS]!.routes.filter((r) => r.dev === q1.id)).toEqual([]);
    expect([c.netns[NS]!.nsids["x"], c.netns["x"]!.nsids[NS]]).toEqual([0, 0]);
  });

  it("takes the next free ifindex there when its own is taken", () => {
    const c = initialConfig();
    addNetns(c, "x");
    addLink(c, "x", { name: "a", kind: "veth", peerName: "b", peerNetns: null, mac: null }); // b 2, a 3 in x
    addLink(c, NS, { name: "m", kind: "veth", peerName: "n", peerNetns: null, mac: null }); // n 2, m 3 here
    const m = findLink(c, NS, "m")!;
    setNetns(c, m, "x");
    expect(m.ifindex).toBe(4);
  });
});

describe("deleting a namespace", () => {
  it("takes its veths along with their peers elsewhere, and frees bridge ports", () => {
    const c = initialConfig();
    addNetns(c, "x");
    const br = addLink(c, NS, { name: "br0", kind: "bridge", peerName: null, peerNetns: null, mac: null });
    addLink(c, NS, { name: "p1", kind: "veth", peerName: "q1", peerNetns: "x", mac: null });
    setMaster(c, findLink(c, NS, "p1")!, br);
    delNetns(c, "x");
    expect(names(c, NS)).toEqual(["1: lo", "2: br0"]);
    expect(c.netns["x"]).toBeUndefined();
    expect(c.netns[NS]!.nsids["x"]).toBeUndefined();
    expect(errno(() => delNetns(c, NS))).toBe("ENOENT");
  });
});
