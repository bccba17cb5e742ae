import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKubeProxy, buildNode, addServiceCommands, delServiceCommands, runStep, kubeHash, probability, CLIENT_NS, CLIENT_ADDR } from "../../src/gen/index.ts";
import { formatIPv4 } from "../../src/wire/ipv4.ts";
import { loadScenario } from "../../src/scenario/load.ts";
import { runScenario } from "../../src/scenario/run.ts";
import { defaultLayers } from "../../src/layers.ts";
import { main } from "../../src/cli/main.ts";

const curl = (host: ReturnType<typeof buildNode>, daddr: number, dport: number) =>
  host.probe(CLIENT_NS, { kind: "http", daddr, dport, timeoutMs: 1000, count: 1 });

describe("kube-proxy generator", () => {
  it("names chains and formats probabilities as kube-proxy does", () => {
    // test/fixtures/real-nf/_inputs/kube_2ep.rules
    expect(kubeHash("default/webtcp")).toBe("LOLE4ISW44XBNF3G");
    expect(kubeHash("default/webtcp10.0.0.11:8080")).toBe("Y76YWJY6FCGPQRV3");
    expect(probability(2)).toBe("0.5000000000");
    expect(probability(3)).toBe("0.3333333333");
    const n = generateKubeProxy({ mode: "iptables", services: 1, endpoints: 3 });
    const rules = n.load[0]!.stdin!;
    expect(rules).toMatch(/--probability 0\.3333333333 -j KUBE-SEP-/);
    expect(rules).toMatch(/--probability 0\.5000000000 -j KUBE-SEP-/);
    expect(rules.match(/-m statistic/g)!.length).toBe(2);
  });

  for (const mode of ["iptables", "ipvs", "nftables"] as const) {
    it(`${mode}: the generated scenario runs and every probe passes`, () => {
      const node = generateKubeProxy({ mode, services: 5, endpoints: 3, nodePorts: true });
      const s = loadScenario(`gen-${mode}.yaml`, node.yaml);
      const r = runScenario(s, { layers: defaultLayers() });
      expect(r.error).toBeNull();
      expect(r.failed).toBe(0);
      expect(r.passed).toBe(3);
    });

    it(`${mode}: a ClusterIP is answered by its endpoints; add and remove a service`, () => {
      const node = generateKubeProxy({ mode, services: 20, endpoints: 4 });
      const host = buildNode(node);
      const servers = new Set<string>();
      for (let k = 0; k < 8; k++) {
        const r = curl(host, node.clusterIp(7), 80);
        expect(r.outcome).toBe("answered");
        expect(r.clientIp).toBe(CLIENT_ADDR);
        servers.add(r.server!);
      }
      expect([...servers].every((s) => s.startsWith("pod-"))).toBe(true);
      // A service beyond N is not there, then is, then is gone again.
      const extra = 20;
      expect(curl(host, node.clusterIp(extra), 80).outcome).not.toBe("answered");
      for (const st of addServiceCommands(node, extra)) runStep(host, st);
      expect(curl(host, node.clusterIp(extra), 80).outcome).toBe("answered");
      for (const st of delServiceCommands(node, extra)) runStep(host, st);
      expect(curl(host, node.clusterIp(extra), 80).outcome).not.toBe("answered");
      expect(curl(host, node.clusterIp(19), 80).outcome).toBe("answered");
    });
  }

  it("pktpath gen kube-proxy prints or writes the scenario", () => {
    let out = "";
    const io = { out: (s: string) => (out += s), err: () => {} };
    expect(main(["gen", "kube-proxy", "--mode", "ipvs", "--services", "2", "--endpoints", "2"], io)).toBe(0);
    expect(out).toContain("ipvsadm -R <<EOF");
    expect(out).toContain("ipset restore <<EOF");
    const dir = mkdtempSync(join(tmpdir(), "pktpath-gen-"));
    const file = join(dir, "n.yaml");
    expect(main(["gen", "kube-proxy", "--mode=iptables", "--services=2", "--endpoints=2", "--nodeports", "-o", file], io)).toBe(0);
    expect(readFileSync(file, "utf8")).toContain("iptables-restore <<EOF");
    expect(main(["gen", "kube-proxy", "--mode", "nft", "--services", "2", "--endpoints", "2"], io)).toBe(2);
    out = "";
    expect(main(["run", file], io)).toBe(0);
    expect(out).toMatch(/3 passed, 0 failed/);
    expect(formatIPv4(CLIENT_ADDR)).toBe("10.244.255.2");
  });
});
