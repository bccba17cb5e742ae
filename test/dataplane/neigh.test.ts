// Neighbour entries (net/core/neighbour.c, net/ipv4/arp.c arp_process): which ARP frames
// create an entry and in what state, and how states age. Frame cases measured by sending
// raw ARP frames into a fresh namespace and reading `ip neigh` (Linux 6.18).
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import { arpPacket, NeighTable, neighStateNow, NUD_PERMANENT, NUD_REACHABLE, NUD_STALE } from "../../src/dataplane/neigh.ts";
import { ARPOP_REPLY, ARPOP_REQUEST } from "../../src/wire/packet.ts";
import { MAC_BROADCAST, parseMac } from "../../src/wire/mac.ts";
import { parseIPv4 } from "../../src/wire/ipv4.ts";

describe("neighbour states", () => {
  it("REACHABLE holds while confirmed within reachable_time, then reads STALE (base 30 s, random 15-45 s in the kernel)", () => {
    const t = new NeighTable();
    const e = t.create(2, parseIPv4("10.0.0.7")!);
    e.state = NUD_REACHABLE;
    e.confirmed = 1000;
    expect(neighStateNow(e, 1000 + 10_000)).toBe(NUD_REACHABLE);
    expect(neighStateNow(e, 1000 + 60_000)).toBe(NUD_STALE);
  });

  it("PERMANENT never ages", () => {
    const t = new NeighTable();
    const e = t.create(2, parseIPv4("10.0.0.7")!);
    e.state = NUD_PERMANENT;
    expect(neighStateNow(e, 10 ** 9)).toBe(NUD_PERMANENT);
  });

  it("are kept per device: one address on two links is two entries", () => {
    const t = new NeighTable();
    const a = t.create(2, 7);
    const b = t.create(3, 7);
    expect(a).not.toBe(b);
    expect([t.get(2, 7), t.get(3, 7), t.get(4, 7)]).toEqual([a, b, undefined]);
    expect(t.entries()).toHaveLength(2);
  });
});

describe("ARP frames received", () => {
  const SENDER = parseMac("02:00:00:00:00:77")!;

  /** Namespace b with vb 10.0.0.2/24; frames are put on the wire from va (the host's end). */
  function world(): { h: Host; send: (op: number, spa: string, tpa: string) => void; neigh: () => string } {
    const h = new Host();
    for (const l of ["ip netns add b", "ip link add name va type veth peer name vb netns b", "ip link set va up", "ip -n b link set vb up", "ip -n b addr add 10.0.0.2/24 dev vb"]) h.exec(l);
    const vb = h.dp.view.netns.get("b")!.byName.get("vb")!;
    const send = (op: number, spa: string, tpa: string) => {
      const p = arpPacket(op, SENDER, parseIPv4(spa)!, op === ARPOP_REQUEST ? 0 : vb.cfg.mac, parseIPv4(tpa)!);
      p.ethDst = op === ARPOP_REQUEST ? MAC_BROADCAST : vb.cfg.mac;
      h.dp.sim.enqueue(vb.id, p);
      h.dp.run(h.now, () => false);
    };
    return { h, send, neigh: () => h.exec("ip -n b neigh show")[0]!.stdout };
  }

  it("a request for another address creates no entry", () => {
    const { send, neigh } = world();
    send(ARPOP_REQUEST, "10.0.0.7", "10.0.0.99");
    expect(neigh()).toBe("");
  });

  it("an unsolicited reply creates no entry (arp_accept=0)", () => {
    const { send, neigh } = world();
    send(ARPOP_REPLY, "10.0.0.8", "10.0.0.2");
    expect(neigh()).toBe("");
  });

  it("a request for one of our addresses creates a STALE entry for its sender (neigh_event_ns)", () => {
    const { send, neigh } = world();
    send(ARPOP_REQUEST, "10.0.0.7", "10.0.0.2");
    expect(neigh()).toBe("10.0.0.7 dev vb lladdr 02:00:00:00:00:77 STALE \n");
  });
});
