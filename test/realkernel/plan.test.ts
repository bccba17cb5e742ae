// From scenario lines to the argv the real kernel runs: what is rebuilt, what is
// refused, and which scenarios go to the VM backend. No root needed.
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../src/scenario/load.ts";
import { ScenarioError } from "../../src/scenario/types.ts";
import { pingArgv, planScenario } from "../../src/realkernel/plan.ts";
import { unwrap } from "../../src/commands/vocabulary.ts";
import { parseKernelConfig, type KernelFeatures } from "../../src/realkernel/features.ts";
import type { KernelAction } from "../../src/realkernel/types.ts";

/** This machine's kind: bridge, veth, br_netfilter built in; no IPVS, no dummy. */
const FEATURES: KernelFeatures = {
  config: parseKernelConfig("CONFIG_BRIDGE=y\nCONFIG_VETH=y\nCONFIG_BRIDGE_NETFILTER=y\nCONFIG_NF_CONNTRACK=y\n# CONFIG_DUMMY is not set\nCONFIG_IP_VS_RR=m\n"),
  sysModules: () => false,
};

function plan(steps: string) {
  return planScenario(loadScenario("t.yaml", `name: t\nsteps:\n${steps}`), FEATURES);
}

function only<K extends KernelAction["kind"]>(actions: KernelAction[], kind: K): Extract<KernelAction, { kind: K }>[] {
  return actions.filter((a): a is Extract<KernelAction, { kind: K }> => a.kind === kind);
}

describe("argv rebuild", () => {
  it("finds the namespace under sudo and ip netns exec", () => {
    expect(unwrap(["sudo", "ip", "netns", "exec", "a", "curl", "1.2.3.4"])).toEqual({ ns: "a", inner: ["curl", "1.2.3.4"], wrappers: [["ip", "netns", "exec", "a"]] });
    expect(unwrap(["ip", "link"]).ns).toBe("host");
  });

  it("runs tools as themselves from the parsed argv, quotes resolved, sudo dropped", () => {
    const p = plan(`  - run: ip netns add a\n  - run: sudo ip netns exec a ip link add 'v;1' type dummy\n  - run: sudo ip netns exec a ip address add "10.0.0.1/24" dev 'v;1'\n`);
    expect(only(p.plan.actions, "exec")[2]).toEqual(
      { kind: "exec", line: 5, text: `sudo ip netns exec a ip address add "10.0.0.1/24" dev 'v;1'`, ns: "a", argv: ["ip", "address", "add", "10.0.0.1/24", "dev", "v;1"], stdin: null, listing: true },
    );
  });

  it("a here-document becomes the command's standard input", () => {
    const p = plan(`  - run: |\n      iptables-restore <<EOF\n      *nat\n      COMMIT\n      EOF\n`);
    expect(only(p.plan.actions, "exec")).toMatchObject([{ argv: ["iptables-restore"], stdin: "*nat\nCOMMIT\n" }]);
  });

  it("shell metacharacters stay inside one argument", () => {
    // (iproute2 refuses a name with a space or a slash, so the name is one it accepts.)
    const p = plan(`  - run: ip link add "x;id|sh&" type bridge\n`);
    expect(only(p.plan.actions, "exec")[0]!.argv).toEqual(["ip", "link", "add", "x;id|sh&", "type", "bridge"]);
  });

  it("probes carry the emulator's whole parsed spec, addresses as text", () => {
    const p = plan(`  - run: curl -s -m 2 http://10.0.0.11:8080/x\n  - run: nc -u -w 2 10.0.0.11 53\n`);
    expect(only(p.plan.actions, "probe").map((x) => x.probe)).toEqual([
      { kind: "http", daddr: "10.0.0.11", dport: 8080, timeoutMs: 2000, count: 1, pingArgv: [] },
      { kind: "udp", daddr: "10.0.0.11", dport: 53, timeoutMs: 2000, count: 1, pingArgv: [] },
    ]);
  });

  it("rebuilds ping with a bounded wait: -W 1 when the line gives none", () => {
    expect(pingArgv(["ping", "-c", "1", "10.0.0.21"])).toEqual(["ping", "-n", "-c", "1", "-W", "1", "10.0.0.21"]);
    expect(pingArgv(["ping", "-q", "-c", "2", "-i", "0.2", "-w", "3", "10.0.0.21"])).toEqual(["ping", "-n", "-c", "2", "-w", "3", "-q", "-i", "0.2", "10.0.0.21"]);
  });

  it("turns servers and probes into their own actions, repeat: N into N probes", () => {
    const p = plan(`  - run: |\n      ip netns add a\n      ip netns add b\n      ip netns exec a python3 -m http.server 8080 &\n      nc -lu 53 &\n  - run: ip netns exec b curl 10.0.0.11:8080\n    repeat: 2\n    expect: [a, a]\n`);
    expect(only(p.plan.actions, "server").map((s) => [s.ns, s.proto, s.port, s.app])).toEqual([
      ["a", "tcp", 8080, "http"],
      ["host", "udp", 53, "nc-udp"],
    ]);
    expect(only(p.plan.actions, "probe").map((x) => [x.ns, x.rep, x.probe.kind])).toEqual([
      ["b", 0, "http"],
      ["b", 1, "http"],
    ]);
  });

  it("notes lines that only touch files and turns advance: into a sleep", () => {
    const p = plan(`  - run: mkdir -p /etc/netns/a\n  - run: echo nameserver 1.1.1.1 | tee /etc/netns/a/resolv.conf\n  - advance: 90s\n`);
    expect(only(p.plan.actions, "note").map((n) => n.note)).toEqual([
      "not run (touches only files): mkdir -p /etc/netns/a",
      "not run (touches only files): echo nameserver 1.1.1.1 | tee /etc/netns/a/resolv.conf",
    ]);
    expect(only(p.plan.actions, "sleep")).toMatchObject([{ ms: 90_000 }]);
  });
});

describe("refused before anything runs", () => {
  it("unknown commands and misplaced expect, as the emulator words them", () => {
    expect(() => plan(`  - run: bash -c id\n`)).toThrow(ScenarioError);
    expect(() => plan(`  - run: bash -c id\n`)).toThrow("t.yaml:3: bash: command not found");
    expect(() => plan(`  - run: ip link\n    expect: timeout\n`)).toThrow("needs a run: of exactly one probe command");
    expect(() => plan(`  - run: ip netns exec a bash\n`)).toThrow("bash: command not found");
  });

  it("a line the emulator refuses refuses the whole scenario: nothing is planned", () => {
    expect(() => plan(`  - run: ip link\n  - run: curl -m x 10.0.0.1\n  - run: ip addr\n`)).toThrow("t.yaml:4: curl: option -m: expected a number of seconds");
  });

  it.each([
    ["ip link set lo netns 1"],
    ["ip link set lo netns /proc/1/ns/net"],
    ["ip -n 1 link"],
    ["ip netns exec a ip link set lo netns 1"],
    ["ip netns attach x 1"],
    ["ip -batch /tmp/cmds"],
    ["sysctl -w kernel.panic=1"],
    ["sysctl -p"],
    ["iptables --modprobe=/bin/sh -L"],
  ])("%s is never run (refused at its line)", (line) => {
    expect(() => plan(`  - run: ip netns add a\n  - run: ${line}\n`)).toThrow(/^t\.yaml:4: /);
  });

  it("net.* sysctls (per namespace) are run", () => {
    expect(only(plan(`  - run: sysctl --write net.ipv4.ip_forward=1\n`).plan.actions, "exec")[0]!.argv).toEqual(["sysctl", "--write", "net.ipv4.ip_forward=1"]);
  });
});

describe("choosing the backend", () => {
  it("this kernel runs bridges, veths and a built-in br_netfilter", () => {
    const p = plan(`  - run: modprobe br_netfilter\n  - run: ip link add dev b type bridge\n`);
    expect(p.needs).toEqual([]);
    expect(only(p.plan.actions, "note")[0]!.note).toBe("modprobe br_netfilter: built into this kernel, nothing loaded");
  });

  it.each([
    ["ipvsadm -A -t 10.100.100.100:8080 -s rr", "IPVS"],
    ["ip link add dev kube-ipvs0 type dummy", "link type dummy"],
    ["modprobe ip_vs_rr", "module ip_vs_rr"],
    ["modprobe -r br_netfilter", "unloading"],
    ["modprobe ip_vs\n  - run: sysctl -w net.ipv4.vs.conntrack=1", "net.ipv4.vs"],
  ])("%s needs the VM backend", (line, why) => {
    const p = plan(`  - run: ${line}\n`);
    expect(p.needs.join("; ")).toContain(why);
  });
});
