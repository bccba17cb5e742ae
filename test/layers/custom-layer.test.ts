// Adding a layer: one folder that exports a Layer, and one line that installs it with what
// it needs (src/layers.ts for the default layers). This layer counts the packets delivered
// in each namespace (a LOCAL_IN hook operation), has its own tool, and tells netfilter it
// needs conntrack in the namespaces it counts (as IPVS does with vs.conntrack=1).
import { describe, expect, it } from "vitest";
import { Host, type Layer } from "../../src/host.ts";
import { installLayers } from "../../src/layers.ts";
import type { NetfilterRuntime } from "../../src/netfilter/runtime.ts";
import { Hook, NF_ACCEPT, type Verdict } from "../../src/dataplane/hooks.ts";
import { out, ToolError } from "../../src/tool/tool.ts";
import { curl, run } from "../helpers.ts";

/** The layer's runtime: what install() returns to whoever installed it. */
interface PktCount {
  readonly delivered: Map<string, number>;
  readonly counted: Set<string>;
}

const pktcountLayer: Layer<PktCount, { netfilter: NetfilterRuntime }> = {
  name: "pktcount",
  install(host, { netfilter }) {
    const rt: PktCount = { delivered: new Map(), counted: new Set() };
    host.registerTool("pktcount", (argv, ctx) => {
      if (argv.length === 1) return out(`${rt.delivered.get(ctx.ns) ?? 0}\n`);
      if (argv[1] === "on" && argv.length === 2) {
        rt.counted.add(ctx.ns);
        host.refreshHooks();
        return out("");
      }
      throw new ToolError("Usage: pktcount [on]");
    });
    const count = (ns: string) => (): Verdict => {
      rt.delivered.set(ns, (rt.delivered.get(ns) ?? 0) + 1);
      return NF_ACCEPT;
    };
    host.registerHooks({
      name: "pktcount",
      hookOps: (ns) => (rt.counted.has(ns) ? [{ hook: Hook.LocalIn, priority: 0, name: "pktcount", fn: count(ns) }] : []),
    });
    netfilter.register({ needsConntrack: (ns) => rt.counted.has(ns) });
    return rt;
  },
};

/** The default layers plus this one: the one line a new layer adds. */
function installWithPktcount(host: Host) {
  const layers = installLayers(host);
  return { ...layers, pktcount: pktcountLayer.install(host, { netfilter: layers.netfilter }) };
}

const TWO_NS = `
ip netns add a
ip netns add s
ip link add as type veth peer name sa
ip link set as netns a
ip link set sa netns s
ip netns exec a ip addr add 10.0.0.1/24 dev as
ip netns exec a ip link set as up
ip netns exec s ip addr add 10.0.0.2/24 dev sa
ip netns exec s ip link set sa up
ip netns exec s nc -l 80 &
`;

describe("a layer installed through the wiring", () => {
  it("gets netfilter handed in, registers its tool, hooks and conntrack use, and returns its typed runtime", () => {
    const host = new Host();
    const layers = installWithPktcount(host);
    run(host, TWO_NS);
    run(host, "ip netns exec s pktcount on");
    expect(curl(host, "a", "10.0.0.2:80").outcome).toBe("answered");
    const counted = layers.pktcount.delivered.get("s") ?? 0;
    expect(counted).toBeGreaterThanOrEqual(2); // SYN, ACK, data... delivered to s
    expect(host.exec("ip netns exec s pktcount")[0]!.stdout).toBe(`${counted}\n`);
    expect(layers.pktcount.delivered.has("a")).toBe(false);
    // netfilter tracks connections where the layer asked for it, and only there.
    expect(layers.netfilter.connections("s").length).toBe(1);
    expect(layers.netfilter.connections("a").length).toBe(0);
  });

  it("is absent from a host that did not install it", () => {
    const host = new Host();
    const layers = installLayers(host);
    run(host, TWO_NS);
    expect(() => host.exec("pktcount")).toThrow("pktcount: command not found");
    expect(curl(host, "a", "10.0.0.2:80").outcome).toBe("answered");
    expect(layers.netfilter.connections("s").length).toBe(0);
  });
});
