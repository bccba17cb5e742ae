// pktpath import: snapshots captured on this machine's kernel (test/node/fixtures/, by
// the snapshot script run inside namespaces built with the real tools) -> scenarios.
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSnapshot, SnapshotError, type Snapshot } from "../../src/node/format.ts";
import { importSnapshot } from "../../src/node/import.ts";
import { loadScenario } from "../../src/scenario/load.ts";
import { runScenario } from "../../src/scenario/run.ts";
import { defaultLayers } from "../../src/layers.ts";
import { main } from "../../src/cli/main.ts";

const FIX = join(import.meta.dirname, "fixtures");
const dir = mkdtempSync(join(tmpdir(), "pktpath-import-"));
const read = (name: string): Snapshot => parseSnapshot(name, readFileSync(join(FIX, name), "utf8"));

function run(yaml: string, probes: string) {
  const f = join(dir, `s${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, yaml + probes);
  return runScenario(loadScenario(f), { layers: defaultLayers() });
}

function cli(args: string[]) {
  let out = "";
  let err = "";
  const code = main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe("parseSnapshot", () => {
  it("names what is wrong with a file that is not a snapshot", () => {
    expect(() => parseSnapshot("x.json", "{")).toThrow(SnapshotError);
    expect(() => parseSnapshot("x.json", "{")).toThrow(/^x\.json: not a pktpath snapshot/);
    expect(() => parseSnapshot("x.json", '{"pktpath_snapshot":1,"netns":[]}')).toThrow('x.json: "netns" must be a non-empty list');
    expect(() => parseSnapshot("x.json", '{"pktpath_snapshot":1,"netns":[{"name":"h","kind":"root","link":3}]}')).toThrow('x.json: netns[0] (h).link must be {"out": TEXT, "rc": N} or null');
    expect(() => parseSnapshot("x.json", '{"pktpath_snapshot":1,"netns":[{"name":"a","kind":"named"}]}')).toThrow("the root namespace must come first");
  });
  it("reads the root namespace as host and keeps each command's output", () => {
    const s = read("bridge.json");
    expect(s.netns.map((n) => n.name)).toEqual(["host", "netns_leah", "netns_dustin", "sleep-31"]);
    expect(s.netns[0]!.iptables_version!.out).toBe("iptables v1.8.9 (nf_tables)");
    expect(s.netns[0]!.iptables_save!.out).toContain("-A POSTROUTING -s 10.0.0.0/24 ! -o bridge_home -j MASQUERADE");
  });
});

describe("importSnapshot: the two-pod bridge", () => {
  const r = importSnapshot(read("bridge.json"));
  it("rebuilds namespaces, veth pairs across namespaces, bridge ports, addresses and routes", () => {
    expect(r.yaml).toContain("ip netns add netns_dustin\n");
    expect(r.yaml).toMatch(/ip link add dev veth_dustin address [0-9a-f:]+ type veth peer name veth_ns_dustin netns netns_dustin\n/);
    expect(r.yaml).toContain("ip link set dev veth_dustin master bridge_home\n");
    expect(r.yaml).toContain("ip -n netns_leah address add 10.0.0.21/24 dev veth_ns_leah\n");
    expect(r.yaml).toContain("ip -n netns_dustin route add default via 10.0.0.1 dev veth_ns_dustin\n");
    expect(r.yaml).toContain("sysctl -w net.ipv4.ip_forward=1\n");
    expect(r.yaml).toContain("iptables-restore <<EOF\n");
    // the kernel's own routes (from addresses, local table, IPv6 link-local) are not repeated
    expect(r.yaml).not.toMatch(/fe80|table local|proto kernel/);
    expect(r.notModelled).toEqual(["host: nft table inet mytable (1 chain): nftables rules are not modelled by pktpath yet"]);
  });
  it("behaves as the node did: probes agree with the real kernel's (pktpath check)", () => {
    const rep = run(
      r.yaml,
      `  - run: |
      ip netns exec netns_dustin python3 -m http.server 8080 &
      python3 -m http.server 8080 &
  - run: ip netns exec netns_leah curl 10.0.0.11:8080
    expect: {server: netns_dustin, client_ip: 10.0.0.21}
  - run: curl 10.0.0.11:8080
    expect: {server: netns_dustin, client_ip: 10.0.0.1}
  - run: ip netns exec netns_leah curl 10.0.0.1:8080
    expect: host
  - run: ip netns exec netns_leah curl 10.0.0.21:9999
    expect: refused
`,
    );
    expect(rep.error).toBeNull();
    expect(rep.probes.map((p) => p.outcome)).toEqual(["netns_dustin", "netns_dustin", "host", "refused"]);
    expect(rep.failed).toBe(0);
  });
});

describe("importSnapshot: a kube-proxy node (iptables mode)", () => {
  it("with --listen, a listener for every Service endpoint", () => {
    const r = importSnapshot(read("kp.json"), { listen: true });
    expect(r.counts["rules"]).toBeGreaterThan(40);
    expect(r.yaml).toContain("ip netns exec pod-1 python3 -m http.server 8080 &");
    expect(r.yaml).toMatch(/\n +ip link add dev eth0-peer address [0-9a-f:]{17} type veth peer name eth0\n/);
    const rep = run(r.yaml, "  - run: ip netns exec client curl 10.96.0.3:80\n    expect: {server: pod-1, client_ip: 10.244.255.2}\n");
    expect(rep.error).toBeNull();
    expect(rep.passed).toBe(1);
  });
});

describe("importSnapshot: what pktpath does not model is listed, never dropped", () => {
  it("other link types, policy routing, other tables, IPv6, nft tables, a NIC stood in for", () => {
    const s = read("bridge.json");
    const host = s.netns[0]!;
    const links = JSON.parse(host.link!.out);
    links.push({ ifindex: 40, ifname: "flannel.1", flags: ["UP"], link_type: "ether", linkinfo: { info_kind: "vxlan" } });
    links.push({ ifindex: 41, ifname: "eth0", flags: ["UP", "LOWER_UP"], link_type: "ether", address: "52:54:00:12:34:56" });
    host.link!.out = JSON.stringify(links);
    const addrs = JSON.parse(host.address!.out);
    addrs.push({ ifname: "eth0", addr_info: [{ family: "inet", local: "192.168.1.5", prefixlen: 24 }, { family: "inet6", local: "2001:db8::5", prefixlen: 64 }] });
    host.address!.out = JSON.stringify(addrs);
    const routes = JSON.parse(host.route!.out);
    routes.push({ dst: "10.244.1.0/24", gateway: "10.244.1.0", dev: "flannel.1", flags: ["onlink"] });
    routes.push({ dst: "default", gateway: "192.168.1.1", dev: "eth0", protocol: "dhcp", metric: 100 });
    routes.push({ dst: "10.9.0.0/16", dev: "eth0", table: "100" });
    host.route!.out = JSON.stringify(routes);
    host.rule!.out = JSON.stringify([{ priority: 0, src: "all", table: "local" }, { priority: 100, src: "10.9.0.0/16", table: "100" }, { priority: 32766, src: "all", table: "main" }, { priority: 32767, src: "all", table: "default" }]);
    host.nft_tables = {
      "inet:cilium": { out: JSON.stringify({ nftables: [{ table: { family: "inet", name: "cilium" } }, { chain: { name: "a" } }, { chain: { name: "b" } }] }), rc: 0 },
      "ip6:filter": { out: "{}", rc: 0 },
    };
    host.conntrack = { out: "tcp 6 10 TIME_WAIT src=1.1.1.1\nudp 17 20 src=2.2.2.2\n", rc: 0 };
    host.ipset_save = { out: "", rc: 1 };
    const r = importSnapshot(s);
    const all = r.notModelled.join("\n");
    expect(all).toContain("host: link flannel.1 (vxlan) and its addresses and routes: links of this type are not modelled by pktpath");
    expect(all).toContain("host: route 10.244.1.0/24 via 10.244.1.0 dev flannel.1: its device is not modelled (above)");
    expect(all).toContain("host: 1 IPv6 address: IPv6 is not modelled by pktpath");
    expect(all).toContain("host: 1 route in table 100: routing tables other than main and local are not modelled by pktpath");
    expect(all).toContain("host: 1 policy routing rule (ip rule, e.g. priority 100): policy routing is not modelled by pktpath");
    expect(all).toContain("host: nft table inet cilium (2 chains): nftables rules are not modelled by pktpath yet");
    expect(all).toContain("host: nft table ip6 filter: IPv6 is not modelled by pktpath");
    expect(all).not.toContain("nft table ip nat");
    expect(all).toContain("host: 2 conntrack entries read, not imported");
    expect(all).toContain("host: ipset_save could not be read (exit 1); left out");
    expect(r.standIns).toContain("host: eth0 (a network card) is a dummy link: pktpath sees nothing beyond it");
    expect(r.yaml).toContain("ip route add default via 192.168.1.1 dev eth0 metric 100\n");
    expect(r.standIns).toContain("host: route default via 192.168.1.1 dev eth0: proto dhcp is not modelled by pktpath (it only labels the route); added as proto boot");
    // what is kept runs (the emulator takes every command)
    expect(run(r.yaml, "").error).toBeNull();
    // ... and at the top of the file, as comments
    const header = r.yaml.slice(0, r.yaml.indexOf("name:"));
    for (const line of [...r.notModelled, ...r.standIns]) expect(header).toContain(`#   - ${line}`);
  });
});

describe("pktpath import (CLI)", () => {
  it("writes the scenario and prints the summary and what was left out", () => {
    const out = join(dir, "node.yaml");
    const r = cli(["import", join(FIX, "kp.json"), "--listen", "-o", out]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^pktpath import: wrote .*node\.yaml: 2 namespaces, 6 links, 14 addresses, 2 routes, 1 sysctls, \d+ rules, 0 sets, 0 ipvs services, 1 listeners\n/);
    expect(readFileSync(out, "utf8")).toContain("iptables-restore <<EOF");
  });
  it("bad input: exit 2 with the file named", () => {
    writeFileSync(join(dir, "bad.json"), "[1,2]");
    expect(cli(["import", join(dir, "bad.json")])).toMatchObject({ code: 2, out: "" });
    expect(cli(["import", join(dir, "bad.json")]).err).toContain("bad.json: not a pktpath snapshot");
    expect(cli(["import", join(dir, "nosuch.json")]).err).toBe(`pktpath import: ${join(dir, "nosuch.json")}: No such file or directory\n`);
    expect(cli(["import"]).code).toBe(2);
    expect(cli(["import", "a", "--bogus"]).err).toMatch(/^pktpath: unknown option .--bogus./);
  });
});
