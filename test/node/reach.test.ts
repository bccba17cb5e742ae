// pktpath trace and reach on small scenarios: one probe's path, and the matrix with
// random choices (statistic, IPVS schedulers) enumerated branch by branch.
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { Chooser } from "../../src/node/reach.ts";
import { parseSnapshot } from "../../src/node/format.ts";
import { generateKubeProxy } from "../../src/gen/kubeproxy.ts";

const dir = mkdtempSync(join(tmpdir(), "pktpath-reach-"));

function cli(args: string[]) {
  let out = "";
  let err = "";
  const code = main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

// Three pods on a bridge; a Service 10.96.0.1:80 spread over them by statistic rules as
// kube-proxy writes them (1/3, then 1/2, then the rest), masqueraded as kube-proxy does.
const PODS = `name: three pods behind a ClusterIP
steps:
  - run: |
      sysctl -w net.ipv4.ip_forward=1
      ip link add dev br0 type bridge
      ip address add 10.0.0.1/24 dev br0
      ip link set br0 up
${[2, 3, 4]
  .map(
    (i) => `      ip netns add pod${i}
      ip link add dev veth${i} type veth peer name eth0 netns pod${i}
      ip link set veth${i} master br0
      ip link set veth${i} up
      ip -n pod${i} link set eth0 up
      ip -n pod${i} link set lo up
      ip -n pod${i} address add 10.0.0.${i}/24 dev eth0
      ip -n pod${i} route add default via 10.0.0.1`,
  )
  .join("\n")}
      ip netns exec pod2 python3 -m http.server 8080 &
      ip netns exec pod3 python3 -m http.server 8080 &
  - run: |
      iptables-restore <<EOF
      *nat
      :PREROUTING ACCEPT [0:0]
      :INPUT ACCEPT [0:0]
      :OUTPUT ACCEPT [0:0]
      :POSTROUTING ACCEPT [0:0]
      :KUBE-SERVICES - [0:0]
      :KUBE-SVC-A - [0:0]
      -A PREROUTING -j KUBE-SERVICES
      -A OUTPUT -j KUBE-SERVICES
      -A POSTROUTING -s 10.0.0.0/24 -d 10.0.0.0/24 -j MASQUERADE
      -A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-A
      -A KUBE-SVC-A -p tcp -m statistic --mode random --probability 0.33333333349 -j DNAT --to-destination 10.0.0.2:8080
      -A KUBE-SVC-A -p tcp -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.0.0.3:8080
      -A KUBE-SVC-A -p tcp -j DNAT --to-destination 10.0.0.4:8080
      COMMIT
      EOF
`;
const pods = join(dir, "pods.yaml");
writeFileSync(pods, PODS);

describe("Chooser", () => {
  it("walks every branch of a tree of choices once, depth first", () => {
    const c = new Chooser();
    const seen: string[] = [];
    do {
      const a = c.choose(2);
      const b = a === 0 ? [] : [c.choose(3)];
      seen.push([a, ...b].join(""));
    } while (c.next());
    expect(seen).toEqual(["0", "10", "11", "12"]);
  });
});

describe("pktpath trace", () => {
  it("prints the outcome, the first packet's path (with the DNAT) and the reply's", () => {
    const r = cli(["trace", pods, "--from", "pod4", "--to", "10.96.0.1:80", "--sport", "40000"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const [head, ...rest] = r.out.split("\n");
    expect(head).toMatch(/^pod4 -> 10\.96\.0\.1:80\/tcp: (pod2|pod3|timeout|refused)/);
    const text = rest.join("\n");
    expect(text).toMatch(/^first packet:\n +#\d+ pod4 +route +output route for 10\.96\.0\.1/);
    expect(text).toContain("send TCP 10.0.0.4:40000 > 10.96.0.1:80 [SYN]");
    expect(text).toMatch(/nat +PREROUTING DNAT 10\.96\.0\.1:80 -> 10\.0\.0\.[234]:8080/);
    expect(text).toContain("\nreply:\n");
  });
  it("--sport binds the client's port as nc -p does, inside the ephemeral range or not", () => {
    const r = cli(["trace", pods, "--from", "pod3", "--to", "10.0.0.2:8080", "--sport", "80"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("send TCP 10.0.0.3:80 > 10.0.0.2:8080 [SYN]");
  });
  it("--json and --all-packets; a source given by address", () => {
    const r = cli(["trace", pods, "--from", "10.0.0.3", "--to", "10.0.0.2:8080", "--json", "--all-packets"]);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ netns: "pod3", outcome: "pod2", server: "pod2", client_ip: "10.0.0.3" });
    expect(j.first[0].ns).toBe("pod3");
    expect(j.reply[0].ns).toBe("pod2");
    expect(j.reply.some((e: { detail: string }) => e.detail.includes("[SYN,ACK]"))).toBe(true);
    expect(j.events.length).toBeGreaterThan(j.first.length + j.reply.length);
  });
  it("bad input: exit 2, in words", () => {
    expect(cli(["trace", pods, "--from", "nosuch", "--to", "10.0.0.2:8080"]).err).toBe('pktpath trace: --from "nosuch": no such namespace, and not an IPv4 address\n');
    expect(cli(["trace", pods, "--from", "10.9.9.9", "--to", "10.0.0.2:8080"]).err).toBe("pktpath trace: --from 10.9.9.9: no namespace of this node holds that address\n");
    expect(cli(["trace", pods, "--from", "pod2", "--to", "10.0.0.2"]).err).toBe('pktpath trace: "10.0.0.2": expected ADDR:PORT\n');
    expect(cli(["trace", pods, "--from", "pod2", "--to", "10.0.0.2:80", "-p", "sctp"]).err).toBe('pktpath trace: protocol "sctp": tcp, udp or icmp\n');
    expect(cli(["trace", pods, "--from", "pod2", "--to", "10.0.0.2:80", "--sport", "70000"]).err).toBe("pktpath trace: --sport 70000: a port from 1 to 65535\n");
    expect(cli(["trace", pods, "--from", "pod2", "--to", "10.0.0.2:80", "-p", "icmp", "--sport", "80"]).err).toBe("pktpath trace: --sport: ICMP has no ports\n");
    expect(cli(["trace", pods, "--to", "10.0.0.2:80"]).code).toBe(2);
    expect(cli(["trace", join(dir, "nosuch.yaml"), "--from", "a", "--to", "1.2.3.4:5"])).toMatchObject({ code: 2, err: `${join(dir, "nosuch.yaml")}: no such file or folder\n` });
    expect(cli(["reach", dir]).err).toContain(`${dir}: not a scenario file\n`);
  });
});

describe("pktpath reach", () => {
  it("enumerates the statistic branches: every endpoint, each with what happened", () => {
    const r = cli(["reach", pods, "--json"]);
    expect(r.code).toBe(0);
    const cells = JSON.parse(r.out).cells as { from: string; to: string; outcomes: string[]; endpoints: string[]; failing: string[]; branches: number }[];
    expect(cells.map((c) => `${c.from} ${c.to}`)).toEqual(["host 10.96.0.1:80", "pod2 10.96.0.1:80", "pod3 10.96.0.1:80", "pod4 10.96.0.1:80"]);
    const pod4 = cells.find((c) => c.from === "pod4")!;
    // 1/3 -> pod2; else 1/2 -> pod3; else pod4 itself, which has no listener
    expect(pod4.branches).toBe(3);
    expect(pod4.endpoints).toEqual(["10.0.0.2:8080", "10.0.0.3:8080"]);
    expect(pod4.failing).toEqual(["10.0.0.4:8080 (refused)"]);
    expect(pod4.outcomes).toEqual(["pod2", "pod3", "refused"]);
    // the host's own OUTPUT: no default route, so no route to the ClusterIP
    expect(cells[0]).toMatchObject({ outcomes: ["unreachable"], branches: 1 });
    expect(r.err).toMatch(/pktpath reach: 4\/4 pairs/);
  });
  it("prints a table; --to and --from narrow it", () => {
    const r = cli(["reach", pods, "--from", "pod2", "--to", "10.96.0.1:80"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ from +to +what +outcome +endpoints reached +branches\n pod2 +10\.96\.0\.1:80\/tcp +given +pod2 \| pod3 \| refused +10\.0\.0\.2:8080 10\.0\.0\.3:8080 10\.0\.0\.4:8080 \(refused\) +3 *\n$/);
  });
  it("--expect: exit 0 on the same matrix, 1 and the differences otherwise", () => {
    const saved = join(dir, "matrix.json");
    writeFileSync(saved, cli(["reach", pods, "--json"]).out);
    const same = cli(["reach", pods, "--expect", saved]);
    expect(same.code).toBe(0);
    expect(same.out).toContain(`same as ${saved}\n`);
    const changed = join(dir, "changed.yaml");
    writeFileSync(changed, PODS.replace("      ip netns exec pod3 python3 -m http.server 8080 &\n", ""));
    const diff = cli(["reach", changed, "--expect", saved]);
    expect(diff.code).toBe(1);
    expect(diff.out).toContain(`differences from ${saved}:\n`);
    expect(diff.out).toContain("~ pod4 -> 10.96.0.1:80/tcp: was outcomes pod2,pod3,refused; endpoints 10.0.0.2:8080,10.0.0.3:8080; failing 10.0.0.4:8080 (refused); now outcomes pod2,refused; endpoints 10.0.0.2:8080; failing 10.0.0.3:8080 (refused),10.0.0.4:8080 (refused)");
    writeFileSync(join(dir, "junk.json"), '{"cells": [{"from": 1}]}');
    expect(cli(["reach", pods, "--expect", join(dir, "junk.json")]).err).toBe(`pktpath reach: --expect ${join(dir, "junk.json")}: cells[0].from must be a string\n`);
  });
});

// IPVS needs the VM to run for real; this node is a synthetic snapshot: the kube-proxy
// fixture captured here with a kube-ipvs0 dummy and ipvsadm -Sn output added.
function ipvsSnapshot(scheduler: string, thirdWeight = 0): string {
  const s = parseSnapshot("kp.json", readFileSync(join(import.meta.dirname, "fixtures", "kp.json"), "utf8"));
  const host = s.netns[0]!;
  host.iptables_save = { out: "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n", rc: 0 };
  const links = JSON.parse(host.link!.out);
  links.push({ ifindex: 50, ifname: "kube-ipvs0", flags: ["BROADCAST", "NOARP"], link_type: "ether", address: "aa:bb:cc:dd:ee:ff", linkinfo: { info_kind: "dummy" } });
  host.link!.out = JSON.stringify(links);
  const addrs = JSON.parse(host.address!.out);
  addrs.push({ ifname: "kube-ipvs0", addr_info: [{ family: "inet", local: "10.96.0.100", prefixlen: 32, scope: "global" }] });
  host.address!.out = JSON.stringify(addrs);
  host.ipvsadm_save = {
    out: `-A -t 10.96.0.100:80 -s ${scheduler}\n-a -t 10.96.0.100:80 -r 10.244.1.2:8080 -m -w 1\n-a -t 10.96.0.100:80 -r 10.244.1.3:8080 -m -w 1\n-a -t 10.96.0.100:80 -r 10.244.1.4:8080 -m -w ${thirdWeight}\n`,
    rc: 0,
  };
  host.ipvsadm_list = { out: "Timeout (tcp tcpfin udp): 900 120 300\n", rc: 0 };
  const raw = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "kp.json"), "utf8"));
  raw.netns[0] = { ...raw.netns[0], link: host.link, address: host.address, iptables_save: host.iptables_save, ipvsadm_save: host.ipvsadm_save, ipvsadm_list: host.ipvsadm_list };
  return JSON.stringify(raw);
}

describe("reach on an IPVS node (synthetic snapshot)", () => {
  it("rr: every real server with a weight is a branch; a quiesced one (weight 0) is not", () => {
    writeFileSync(join(dir, "ipvs.json"), ipvsSnapshot("rr"));
    // the fixture behind scenarios/node/imported-ipvs.yaml (checked on the VM's kernel)
    expect(ipvsSnapshot("rr")).toBe(readFileSync(join(import.meta.dirname, "fixtures", "ipvs-synthetic.json"), "utf8"));
    const imp = cli(["import", join(dir, "ipvs.json"), "--listen", "-o", join(dir, "ipvs.yaml")]);
    expect(imp.code).toBe(0);
    const y = readFileSync(join(dir, "ipvs.yaml"), "utf8");
    expect(y).toContain("modprobe ip_vs\n");
    expect(y).toContain("ipvsadm -R <<EOF\n");
    const r = cli(["reach", join(dir, "ipvs.yaml"), "--from", "client", "--json"]);
    expect(r.err).not.toContain("Error");
    const cell = JSON.parse(r.out).cells.find((c: { to: string }) => c.to === "10.96.0.100:80");
    expect(cell).toMatchObject({ what: "IPVS rr", outcomes: ["pod-1"], endpoints: ["10.244.1.2:8080", "10.244.1.3:8080"], failing: [], branches: 2 });
  });
  it("sh: the source's hash picks one server, as the kernel does", () => {
    writeFileSync(join(dir, "ipvs-sh.json"), ipvsSnapshot("sh", 1));
    cli(["import", join(dir, "ipvs-sh.json"), "--listen", "-o", join(dir, "ipvs-sh.yaml")]);
    const r = cli(["reach", join(dir, "ipvs-sh.yaml"), "--from", "client", "--to", "10.96.0.100:80", "--json"]);
    const cell = JSON.parse(r.out).cells[0];
    expect(cell.branches).toBe(1);
    expect(cell.endpoints).toHaveLength(1);
  });
});

describe("reach on generated kube-proxy nodes (pktpath gen)", () => {
  it("iptables mode: ClusterIPs and NodePorts on every node address, every endpoint", () => {
    const f = join(dir, "kp-ipt.yaml");
    writeFileSync(f, generateKubeProxy({ mode: "iptables", services: 2, endpoints: 2, nodePorts: true }).yaml);
    const r = cli(["reach", f, "--from", "client", "--json"]);
    expect(r.code).toBe(0);
    const cells = JSON.parse(r.out).cells as { to: string; what: string; endpoints: string[] }[];
    const byTo = new Map(cells.map((c) => [c.to, c]));
    expect(byTo.get("10.96.0.1:80")).toMatchObject({ what: "service", endpoints: ["10.244.1.2:8080", "10.244.1.3:8080"] });
    expect(byTo.get("192.168.0.10:30001")).toMatchObject({ what: "NodePort", endpoints: ["10.244.1.4:8080", "10.244.1.5:8080"] });
    expect(cells.filter((c) => c.what === "NodePort").length).toBeGreaterThanOrEqual(2);
  });
  it("IPVS mode: the services ipvsadm holds, every real server", () => {
    const f = join(dir, "kp-ipvs.yaml");
    writeFileSync(f, generateKubeProxy({ mode: "ipvs", services: 2, endpoints: 2, nodePorts: true }).yaml);
    const r = cli(["reach", f, "--from", "client", "--json"]);
    const cells = JSON.parse(r.out).cells as { to: string; what: string; endpoints: string[] }[];
    expect(cells.find((c) => c.to === "10.96.0.2:80")).toMatchObject({ what: "IPVS rr", endpoints: ["10.244.1.4:8080", "10.244.1.5:8080"] });
    expect(cells.find((c) => c.to === "192.168.0.10:30000")).toMatchObject({ what: "IPVS rr", endpoints: ["10.244.1.2:8080", "10.244.1.3:8080"] });
  });
});
