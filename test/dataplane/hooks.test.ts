// The hook framework (nf_hook_entries_grow, nf_hook_slow): operations run in priority
// order at their hook point; on one priority the later registration runs first (measured:
// two nft base chains at output priority 0, the second one added sees the packet before
// the first marks it); a DROP ends the walk and the packet; STOLEN ends it silently.
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import {
  buildHookTable,
  Hook,
  nextHookSeq,
  NF_ACCEPT,
  NF_DROP,
  NF_IP_PRI_CONNTRACK,
  NF_IP_PRI_CONNTRACK_CONFIRM,
  NF_IP_PRI_FILTER,
  NF_IP_PRI_MANGLE,
  NF_IP_PRI_NAT_DST,
  NF_IP_PRI_NAT_SRC,
  NF_IP_PRI_RAW,
  NF_IP_PRI_SECURITY,
  NF_STOLEN,
  type NfHookOps,
  type Verdict,
} from "../../src/dataplane/hooks.ts";
import { IPPROTO_ICMP } from "../../src/wire/packet.ts";

function op(name: string, hook: Hook, priority: number, seq = 0, fn: NfHookOps["fn"] = () => NF_ACCEPT): NfHookOps {
  return { name, hook, priority, seq, fn };
}

describe("the hook table", () => {
  it("sorts each hook's operations by the kernel's priorities", () => {
    const ops = [
      op("confirm", Hook.LocalIn, NF_IP_PRI_CONNTRACK_CONFIRM),
      op("filter", Hook.LocalIn, NF_IP_PRI_FILTER),
      op("snat", Hook.LocalIn, NF_IP_PRI_NAT_SRC),
      op("raw", Hook.PreRouting, NF_IP_PRI_RAW),
      op("mangle", Hook.LocalIn, NF_IP_PRI_MANGLE),
      op("security", Hook.LocalIn, NF_IP_PRI_SECURITY),
      op("conntrack", Hook.LocalIn, NF_IP_PRI_CONNTRACK),
      op("dnat", Hook.LocalIn, NF_IP_PRI_NAT_DST),
    ];
    const table = buildHookTable(ops);
    expect(table[Hook.LocalIn]!.map((o) => o.name)).toEqual(["conntrack", "mangle", "dnat", "filter", "security", "snat", "confirm"]);
    expect(table[Hook.PreRouting]!.map((o) => o.name)).toEqual(["raw"]);
    expect(table[Hook.Forward]).toEqual([]);
  });

  it("puts a later registration before an earlier one of the same priority", () => {
    const first = op("first", Hook.LocalOut, 0, nextHookSeq());
    const second = op("second", Hook.LocalOut, 0, nextHookSeq());
    const ipvs = op("ipvs", Hook.LocalOut, -99, nextHookSeq());
    expect(buildHookTable([first, second, ipvs])[Hook.LocalOut]!.map((o) => o.name)).toEqual(["ipvs", "second", "first"]);
  });
});

describe("a packet at a hook", () => {
  /** A host whose lo is up, with test operations at LOCAL_OUT seeing ICMP only. */
  function world(verdicts: Record<string, Verdict>, priorities: Record<string, number>): { h: Host; seen: string[] } {
    const h = new Host({ trace: true });
    h.exec("ip link set lo up");
    const seen: string[] = [];
    const ops = Object.entries(priorities).map(([name, priority]) =>
      op(name, Hook.LocalOut, priority, nextHookSeq(), (pkt, st) => {
        if (pkt.proto !== IPPROTO_ICMP) return NF_ACCEPT;
        seen.push(name);
        if (verdicts[name] === NF_DROP) st.reason = `${name} said no`;
        return verdicts[name] ?? NF_ACCEPT;
      }),
    );
    h.registerHooks({ name: "test", hookOps: () => ops });
    return { h, seen };
  }

  it("visits every operation in order when all accept, and the packet goes on", () => {
    const { h, seen } = world({}, { b: 10, a: -10, c: 300 });
    expect(h.exec("ping -c 1 -W 1 127.0.0.1")[0]!.probe!.result.outcome).toBe("reply");
    expect(seen.slice(0, 3)).toEqual(["a", "b", "c"]);
  });

  it("stops at a DROP: later operations never see the packet, the drop names the hook, operation and reason", () => {
    const { h, seen } = world({ b: NF_DROP }, { a: -10, b: 10, c: 300 });
    const r = h.exec("ping -c 1 -W 1 127.0.0.1")[0]!.probe!.result;
    // Measured: ping with `iptables -A OUTPUT -p icmp -j DROP` reports 100% packet loss.
    expect(r.outcome).toBe("timeout");
    expect(seen).toEqual(["a", "b"]);
    expect(h.takeTrace().some((e) => e.step === "drop" && e.detail.includes("OUTPUT b: b said no"))).toBe(true);
  });

  it("stops at STOLEN without a drop: the operation took the packet", () => {
    const { h, seen } = world({ a: NF_STOLEN }, { a: -10, b: 10 });
    const drops = h.dp.drops;
    const r = h.exec("ping -c 1 -W 1 127.0.0.1")[0]!.probe!.result;
    expect(r.outcome).toBe("timeout");
    expect(seen).toEqual(["a"]);
    expect(h.dp.drops).toBe(drops);
  });
});
