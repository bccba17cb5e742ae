// nft base chains in the packet path: priorities, accept ending one chain, sets with
// timeouts, the trace, and the kube-proxy nftables-mode node the generator writes.
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import { defaultLayers } from "../../src/layers.ts";
import { run, TWO_POD_BRIDGE, curl } from "../helpers.ts";
import { generateKubeProxy } from "../../src/gen/kubeproxy.ts";
import { parseIPv4 } from "../../src/wire/ipv4.ts";

function world(trace = false): Host {
  const host = new Host({ layers: defaultLayers(), trace });
  run(host, TWO_POD_BRIDGE + "\npython3 -m http.server 8080 &\n");
  return host;
}

describe("nft base chains on the hooks", () => {
  it("two chains on input: accept ends only the first, drop in the second ends the packet", () => {
    const host = world();
    host.exec("nft -f -", "host", "table ip a {\n chain in1 {\n  type filter hook input priority -5; policy accept;\n  tcp dport 8080 accept\n }\n chain in2 {\n  type filter hook input priority 5; policy accept;\n  ip saddr 10.0.0.21 drop\n }\n}\n");
    expect(curl(host, "netns_leah", "10.0.0.1:8080").outcome).toBe("timeout");
    expect(curl(host, "netns_dustin", "10.0.0.1:8080").server).toBe("host");
  });

  it("element timeouts: an element stops matching once the clock passes it", () => {
    const host = world();
    host.exec("nft -f -", "host", "table inet t {\n set deny {\n  type ipv4_addr\n  flags timeout\n  elements = { 10.0.0.21 timeout 10s }\n }\n chain in {\n  type filter hook input priority 0; policy accept;\n  ip saddr @deny drop\n }\n}\n");
    expect(curl(host, "netns_leah", "10.0.0.1:8080").outcome).toBe("timeout");
    host.advance(11_000);
    expect(curl(host, "netns_leah", "10.0.0.1:8080").server).toBe("host");
    expect(host.exec("nft list set inet t deny")[0]!.stdout).not.toContain("10.0.0.21");
  });

  it("--trace names table, chain, handle and verdict of each rule that matched, and the policy", () => {
    const host = world(true);
    host.exec("nft -f -", "host", "table ip f {\n chain in {\n  type filter hook input priority 0; policy drop;\n  ip saddr 10.0.0.11 counter\n  tcp dport 8080 jump c\n }\n chain c {\n  ip saddr 10.0.0.21 return\n  accept\n }\n}\n");
    host.takeTrace();
    expect(curl(host, "netns_dustin", "10.0.0.1:8080").server).toBe("host");
    const t = host.takeTrace().filter((e) => e.step === "rule").map((e) => e.detail);
    expect(t).toContain("nft ip f in handle 3: ip saddr 10.0.0.11 counter (verdict continue)");
    expect(t).toContain("nft ip f in handle 4: tcp dport 8080 jump c (verdict jump c)");
    expect(t).toContain("nft ip f c handle 6: accept (verdict accept)");
    expect(curl(host, "netns_leah", "10.0.0.1:8080").outcome).toBe("timeout");
    expect(host.takeTrace().some((e) => e.detail === "nft ip f in policy drop")).toBe(true);
  });

  it("bridge family and not-modelled statements are refused naming pktpath", () => {
    const host = world();
    expect(() => host.exec("nft add table bridge b")).toThrow(/family bridge is not modelled by pktpath/);
    expect(() => host.exec("nft add table ip6 b")).toThrow(/not modelled by pktpath/);
    host.exec("nft add table ip t");
    host.exec("nft add chain ip t c");
    expect(() => host.exec("nft add rule ip t c synproxy")).toThrow(/not modelled by pktpath/);
  });
});

describe("gen kube-proxy --mode nftables", () => {
  it("writes one nft -f - transaction that the nft tool takes and that serves ClusterIPs and NodePorts", () => {
    const node = generateKubeProxy({ mode: "nftables", services: 5, endpoints: 2, nodePorts: true });
    expect(node.load).toHaveLength(1);
    expect(node.load[0]!.run).toBe("nft -f -");
    const stdin = node.load[0]!.stdin!;
    expect(stdin).toContain("map service-ips {");
    expect(stdin).toContain("numgen random mod 2 vmap");
    expect(stdin).toContain("masquerade fully-random");
    const host = new Host({ layers: defaultLayers() });
    for (const s of node.steps) {
      if (s.expect !== undefined) continue;
      for (const l of s.run.split("\n")) if (l.trim() && !l.startsWith("#")) host.exec(l, "host", s.stdin ?? null);
    }
    const list = host.exec("nft list map ip kube-proxy service-ips")[0]!.stdout;
    expect(list).toContain("10.96.0.1 . tcp . 80 : goto service-");
    const r = host.probe("client", { kind: "http", daddr: node.clusterIp(0), dport: 80, timeoutMs: 1000, count: 1 });
    expect(r.server?.startsWith("pod-")).toBe(true);
    const np = host.probe("client", { kind: "http", daddr: parseIPv4("192.168.0.10")!, dport: node.nodePort(0)!, timeoutMs: 1000, count: 1 });
    expect(np.clientIp).toBe(parseIPv4("10.244.1.1"));
  });
});
