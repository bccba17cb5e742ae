// The bridge's FDB and forwarding decisions (net/bridge/br_fdb.c br_fdb_update,
// br_input.c br_handle_frame_finish, br_forward.c br_flood / should_deliver): learning
// on the ingress port, a station that moves, ageing (ageing_time 300 s by default),
// sources that are never learned, and where broadcast and unknown unicast go.
import { describe, expect, it } from "vitest";
import type { Host } from "../../src/host.ts";
import { FDB_AGEING_MS } from "../../src/dataplane/bridge.ts";
import { blankPacket, ETH_P_IP, IPPROTO_UDP } from "../../src/wire/packet.ts";
import { formatMac, MAC_BROADCAST, parseMac } from "../../src/wire/mac.ts";
import { parseIPv4 } from "../../src/wire/ipv4.ts";
import { twoPodHost } from "../helpers.ts";

const STATION = parseMac("02:00:00:00:00:77")!;

/** A UDP frame from `src` to `dst` put on the wire by the pod's end of the veth. */
function frame(h: Host, ns: string, dev: string, src: number, dst: number): void {
  const link = h.dp.view.netns.get(ns)!.byName.get(dev)!;
  const p = blankPacket();
  p.ethType = ETH_P_IP;
  p.ethSrc = src;
  p.ethDst = dst;
  p.proto = IPPROTO_UDP;
  p.saddr = parseIPv4("10.0.0.200")!;
  p.daddr = parseIPv4("10.0.0.201")!;
  p.sport = 1000;
  p.dport = 2000;
  h.dp.sim.enqueue(link.peer!.id, p);
  h.dp.run(h.now, () => false);
}

function fdbLine(h: Host, mac: number): string | undefined {
  return h
    .exec("bridge fdb show br bridge_home")[0]!
    .stdout.split("\n")
    .find((l) => l.startsWith(formatMac(mac)));
}

/** The bridge ports a frame left by (tx on the host's veth ends). */
function outPorts(h: Host): string[] {
  return h
    .takeTrace()
    .filter((e) => e.step === "tx" && e.ns === "host" && e.dev?.startsWith("veth_"))
    .map((e) => e.dev!)
    .sort();
}

describe("the bridge FDB", () => {
  it("learns a source on its ingress port, and moves it when the station shows up on another port", () => {
    const h = twoPodHost({ trace: true });
    frame(h, "netns_leah", "veth_ns_leah", STATION, MAC_BROADCAST);
    expect(fdbLine(h, STATION)).toBe("02:00:00:00:00:77 dev veth_leah master bridge_home ");
    frame(h, "netns_dustin", "veth_ns_dustin", STATION, MAC_BROADCAST);
    expect(fdbLine(h, STATION)).toBe("02:00:00:00:00:77 dev veth_dustin master bridge_home ");
    h.takeTrace();
    frame(h, "netns_leah", "veth_ns_leah", parseMac("02:00:00:00:00:78")!, STATION);
    expect(outPorts(h)).toEqual(["veth_dustin"]);
  });

  it("forgets an entry after ageing_time: the station's frames are flooded again", () => {
    const h = twoPodHost({ trace: true });
    frame(h, "netns_dustin", "veth_ns_dustin", STATION, MAC_BROADCAST);
    h.advance(FDB_AGEING_MS - 10_000);
    h.takeTrace();
    frame(h, "netns_leah", "veth_ns_leah", parseMac("02:00:00:00:00:78")!, STATION);
    expect(outPorts(h)).toEqual(["veth_dustin"]);
    h.advance(20_000);
    // 02:..:78 was learned on veth_leah just now; STATION has aged out (300 s since it was seen).
    frame(h, "netns_leah", "veth_ns_leah", parseMac("02:00:00:00:00:78")!, STATION);
    const events = h.takeTrace();
    expect(events.some((e) => e.step === "bridge" && e.detail === "02:00:00:00:00:77 unknown: flood")).toBe(true);
  });

  it("never learns a multicast source, nor its own ports' addresses", () => {
    const h = twoPodHost();
    const own = h.dp.view.netns.get("host")!.byName.get("veth_leah")!.cfg.mac;
    const group = parseMac("03:00:00:00:00:42")!;
    frame(h, "netns_leah", "veth_ns_leah", group, MAC_BROADCAST);
    frame(h, "netns_leah", "veth_ns_leah", own, MAC_BROADCAST);
    const learned = [...(h.dp.fdb.get(h.dp.view.netns.get("host")!.byName.get("bridge_home")!.id)?.keys() ?? [])];
    expect(learned.includes(group) || learned.includes(own)).toBe(false);
    expect(fdbLine(h, group)).toBeUndefined();
  });

  it("floods broadcast and unknown unicast out of every port but the ingress; the host routes neither", () => {
    const h = twoPodHost({ trace: true });
    h.takeTrace();
    frame(h, "netns_leah", "veth_ns_leah", STATION, MAC_BROADCAST);
    expect(outPorts(h)).toEqual(["veth_dustin"]);
    frame(h, "netns_dustin", "veth_ns_dustin", parseMac("02:00:00:00:00:78")!, parseMac("02:00:00:00:00:99")!);
    expect(outPorts(h)).toEqual(["veth_leah"]);
    // Measured: with ip_forward=1 a broadcast frame to another host's IP is not forwarded
    // (ip_forward() wants PACKET_HOST): the host makes no neighbour entry for it.
    expect(h.exec("ip neigh show dev bridge_home")[0]!.stdout).not.toContain("10.0.0.201");
  });
});
