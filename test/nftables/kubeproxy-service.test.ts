// kube-proxy nftables mode: one service port added to and removed from a generated node
// (addServiceCommands / delServiceCommands, one `nft -f -` transaction each).
import { describe, expect, it } from "vitest";
import { generateKubeProxy, buildNode, addServiceCommands, delServiceCommands, runStep, CLIENT_NS, CLIENT_ADDR, NODE_ADDR } from "../../src/gen/index.ts";
import { nftServiceChain } from "../../src/gen/nftables.ts";
import { formatIPv4 } from "../../src/wire/ipv4.ts";

describe("kube-proxy nftables mode: one service added and removed", () => {
  it("the new ClusterIP and NodePort answer, then stop answering; its chains and elements go", () => {
    const node = generateKubeProxy({ mode: "nftables", services: 10, endpoints: 2, nodePorts: true, probes: false });
    const host = buildNode(node);
    const curl = (daddr: number, dport: number) => host.probe(CLIENT_NS, { kind: "http", daddr, dport, timeoutMs: 1000, count: 1 });
    const extra = 10;
    const vip = node.clusterIp(extra);
    const np = node.nodePort(extra)!;
    const list = () => host.exec("nft list table ip kube-proxy", "host")[0]!.stdout;
    expect(curl(vip, 80).outcome).not.toBe("answered");
    expect(list()).not.toContain(nftServiceChain(extra));

    for (const st of addServiceCommands(node, extra)) runStep(host, st);
    const r = curl(vip, 80);
    expect(r.outcome).toBe("answered");
    expect(r.clientIp).toBe(CLIENT_ADDR);
    expect(curl(NODE_ADDR, np).outcome).toBe("answered");
    expect(list()).toContain(`${formatIPv4(vip)} . tcp . 80 : goto ${nftServiceChain(extra)}`);
    expect(list()).toContain(`chain ${nftServiceChain(extra)} {`);

    for (const st of delServiceCommands(node, extra)) runStep(host, st);
    expect(curl(vip, 80).outcome).not.toBe("answered");
    expect(curl(NODE_ADDR, np).outcome).not.toBe("answered");
    expect(list()).not.toContain(nftServiceChain(extra));
    expect(list()).not.toContain(`tcp . ${np} :`);
    // The other services are untouched.
    expect(curl(node.clusterIp(9), 80).outcome).toBe("answered");
    expect(curl(NODE_ADDR, node.nodePort(9)!).outcome).toBe("answered");
  });

  it("removing a service that is not there fails as nft does and changes nothing", () => {
    const node = generateKubeProxy({ mode: "nftables", services: 3, endpoints: 1, probes: false });
    const host = buildNode(node);
    for (const st of delServiceCommands(node, 1)) runStep(host, st);
    // Deleting it again: the element is gone, so the transaction fails and changes nothing.
    const ruleset = () => host.exec("nft list ruleset", "host")[0]!.stdout;
    const before = ruleset();
    expect(before).toContain("chain mark-for-masquerade");
    expect(() => {
      for (const st of delServiceCommands(node, 1)) runStep(host, st);
    }).toThrow(/No such file or directory/);
    expect(ruleset()).toBe(before);
  });
});

describe("kube-proxy nftables mode: cluster-ips, no-endpoint-nodeports, firewall-ips", () => {
  it("a service with no endpoints is rejected on its ClusterIP and its NodePort", () => {
    const node = generateKubeProxy({ mode: "nftables", services: 2, endpoints: 0, nodePorts: true, probes: false });
    const host = buildNode(node);
    // A node has a default route (here into its dummy uplink): without one, traffic to a
    // ClusterIP that no DNAT rewrites fails its route lookup before filter-forward.
    host.exec("ip route add default via 192.168.0.1 dev eth0", "host");
    const curl = (daddr: number, dport: number) => host.probe(CLIENT_NS, { kind: "http", daddr, dport, timeoutMs: 1000, count: 1 });
    const list = host.exec("nft list table ip kube-proxy", "host")[0]!.stdout;
    expect(list).toContain(`tcp . ${node.nodePort(0)!} : goto reject-chain`);
    expect(list).toContain("map firewall-ips {");
    expect(curl(node.clusterIp(0), 80).outcome).toBe("refused");
    // Something listening on the node at that port is not reached: filter-input's
    // nodeport-endpoints-check rejects first (without the map it would answer).
    host.exec("python3 -m http.server 30000 &", "host");
    expect(curl(NODE_ADDR, node.nodePort(0)!).outcome).toBe("refused");
    expect(curl(NODE_ADDR, node.nodePort(1)!).outcome).toBe("refused");
    host.exec(`nft delete element ip kube-proxy no-endpoint-nodeports { tcp . ${node.nodePort(0)!} }`, "host");
    expect(curl(NODE_ADDR, node.nodePort(0)!).outcome).toBe("answered");
  });

  it("cluster-ips-check: a ClusterIP on a port it does not serve is rejected, an unallocated one dropped", () => {
    const node = generateKubeProxy({ mode: "nftables", services: 2, endpoints: 1, nodePorts: false, probes: false });
    const host = buildNode(node);
    host.exec("ip route add default via 192.168.0.1 dev eth0", "host");
    const curl = (daddr: number, dport: number) => host.probe(CLIENT_NS, { kind: "http", daddr, dport, timeoutMs: 1000, count: 1 });
    expect(curl(node.clusterIp(0), 80).outcome).toBe("answered");
    expect(curl(node.clusterIp(0), 81).outcome).toBe("refused");
    expect(curl(node.clusterIp(100), 80).outcome).toBe("timeout");
  });
});
