// The gate in front of every real-kernel command: whatever the emulator accepts now or
// later, these tokens never run as root. No root needed.
import { describe, expect, it } from "vitest";
import { checkCommand, GateRefusal, sysctlPath } from "../../src/realkernel/gate.ts";
import { planScenario } from "../../src/realkernel/plan.ts";
import { loadScenario } from "../../src/scenario/load.ts";
import type { AcceptedCommand } from "../../src/scenario/run.ts";
import { parseKernelConfig } from "../../src/realkernel/features.ts";

const argv = (line: string) => line.split(" ");

describe("refused, in every spelling the real tool accepts", () => {
  it.each([
    // iproute2: -b is -batch (checked before -brief), one leading "--" is dropped, -a is -all.
    "ip -b /tmp/cmds", "ip -ba -", "ip -bat -", "ip -batch -", "ip --batch -", "ip -force -batch x",
    "ip -all netns exec sh", "ip -a netns exec sh", "ip --all netns exec sh", "ip -n a -all netns exec sh",
    "ip netns exec a sh -c id", "ip netns e a sh", "ip netns attach x 1", "ip netns set x 1", "ip netns pids x",
    "ip netns identify 1", "ip monitor", "ip mon all", "ip tuntap add t0 mode tap", "ip -n 1 link", "ip -netns /proc/1/ns/net link",
    "ip -n ../../proc/1/ns/net link", "ip link set lo netns 1", "ip link set v0 netns /proc/1/ns/net", "ip link add v0 type veth peer name v1 netns ..",
    "ip -resolve route", "bridge -b x", "bridge -batch x", "bridge monitor",
    "iptables-save -f /tmp/x", "iptables-save --file=/tmp/x", "iptables-save --file /tmp/x", "iptables-save -cf/tmp/x", "iptables-save -M /bin/sh",
    "iptables-restore /etc/hostname", "iptables-restore -n /etc/hostname", "iptables-restore -M /bin/sh", "iptables-restore --modprobe=/bin/sh",
    "iptables -M /bin/sh -L", "iptables -nvM/bin/sh -L", "iptables --modprobe=/bin/sh -L", "iptables --mod /bin/sh -L", "iptables -m bpf --object-pinned /sys/fs/bpf/x -j DROP",
    "ipset save -file /tmp/x", "ipset save -f /tmp/x", "ipset --file /tmp/x save", "ipset -fi /tmp/x save", "ipset -",
    "sysctl -p", "sysctl -p/etc/sysctl.conf", "sysctl -qp", "sysctl -wp", "sysctl --load=/etc/sysctl.conf", "sysctl --load", "sysctl --system", "sysctl -f /x", "sysctl -a", "sysctl -A",
    "sysctl -w kernel.domainname=x", "sysctl -w net/../kernel/domainname=x", "sysctl -w net.//.kernel.domainname=x", "sysctl -w net/ipv4/../../kernel/domainname=x", "sysctl -w net/ipv4/../ipv4/ip_forward=1",
    "sysctl kernel.hostname", "sysctl net", "sysctl -w ../kernel/x=1", "sysctl -w /proc/sys/kernel/x=1",
    "conntrack -R /tmp/x", "conntrack --load-file /tmp/x", "conntrack -E", "conntrack --event",
    "ipvsadm --start-daemon master", "ipvsadm --start-d master", "ipvsadm --mcast-interface eth0",
    "nft -f /etc/nftables.conf", "nft --file=/x", "nft -I /etc list ruleset", "nft -i", "nft include \"/etc/x\"",
    "sh -c id", "bash", "python3 -c 1",
  ])("%s", (line) => {
    expect(() => checkCommand(argv(line), null)).toThrow(GateRefusal);
  });

  it("reads what a here-document feeds: restore lines that name programs or files", () => {
    expect(() => checkCommand(["iptables-restore"], "*filter\n-A INPUT -M /bin/sh -j ACCEPT\nCOMMIT\n")).toThrow(GateRefusal);
    expect(() => checkCommand(["iptables-restore"], "*filter\n-A INPUT --modprobe=/bin/sh\nCOMMIT\n")).toThrow(GateRefusal);
    expect(() => checkCommand(["ipset", "restore"], "create s hash:ip\nsave s -file /tmp/x\n")).toThrow(GateRefusal);
    expect(() => checkCommand(["nft", "-f", "-"], 'include "/etc/nftables.conf"\n')).toThrow(GateRefusal);
  });
});

describe("run as written", () => {
  it.each([
    "ip link", "ip -n a -br link", "ip -4 -o addr show", "ip -j -p route", "ip netns add a", "ip netns del a", "ip netns", "ip netns list",
    "ip link add v0 type veth peer name v1 netns a", "ip link set v1 netns a", "ip -n a neigh show", "ip route get 10.0.0.1",
    "bridge link set dev v0 hairpin on", "bridge fdb show",
    "sysctl -w net.ipv4.ip_forward=1", "sysctl -qw net.ipv4.ip_forward=1", "sysctl net.ipv4.conf.all.rp_filter", "sysctl -n net/ipv4/ip_forward", "sysctl --write net.bridge.bridge-nf-call-iptables=0",
    "iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE", "iptables -nvL", "iptables -A INPUT -m comment --comment -M -j ACCEPT".replace(" -M", " x"),
    "iptables-save", "iptables-save -c -t nat", "iptables-save --table=nat", "iptables-restore", "iptables-restore --noflush -c",
    "ipset create s hash:ip", "ipset save", "ipset list s", "ipvsadm -A -t 10.0.0.1:80 -s rr", "ipvsadm -Ln", "conntrack -L", "conntrack -F",
    "nft -f -", "nft list ruleset",
  ])("%s", (line) => {
    expect(() => checkCommand(argv(line), null)).not.toThrow();
  });
});

describe("sysctl keys as procps resolves them", () => {
  it("dots and slashes swap when the first separator is a dot; a path otherwise", () => {
    expect(sysctlPath("net.ipv4.ip_forward")).toEqual(["net", "ipv4", "ip_forward"]);
    expect(sysctlPath("net.ipv4.conf.eth0/1.rp_filter")).toEqual(["net", "ipv4", "conf", "eth0.1", "rp_filter"]);
    expect(sysctlPath("net/ipv4/conf/eth0.1/rp_filter")).toEqual(["net", "ipv4", "conf", "eth0.1", "rp_filter"]);
    expect(sysctlPath("net/../kernel/domainname")).toEqual(["kernel", "domainname"]);
    expect(sysctlPath("net.//.kernel.domainname")).toEqual(["kernel", "domainname"]);
    expect(sysctlPath("../x")).toEqual([".x"]);
    expect(sysctlPath("net/../../x")).toBeNull();
  });
});

describe("the planner gates what the emulator accepted", () => {
  const FEATURES = { config: parseKernelConfig("CONFIG_BRIDGE=y\nCONFIG_VETH=y\n"), sysModules: () => false };
  const s = loadScenario("t.yaml", "name: t\nsteps:\n  - run: ip link\n  - run: ip link\n");
  const accepted = (argv: string[], wrappers: string[][] = [], ns = "host"): AcceptedCommand => ({ argv, wrappers, ns, background: false, piped: false, stdin: null, output: { stdout: "" }, line: 4, rep: 0, text: argv.join(" "), alone: true });

  it("even a command the emulator were to accept is refused at its line, before anything runs", () => {
    expect(() => planScenario(s, FEATURES, [accepted(["ip", "link"]), accepted(["ip", "-all", "netns", "exec", "sh", "-c", "id"])])).toThrow(/^t\.yaml:4: pktpath: real-kernel mode does not run this: ip -all/);
    expect(() => planScenario(s, FEATURES, [accepted(["iptables-save", "-f", "/tmp/x"])])).toThrow(/^t\.yaml:4: .*iptables-save -f/);
  });

  it("a wrapper is ip netns exec NAME and nothing else", () => {
    expect(() => planScenario(s, FEATURES, [accepted(["ip", "link"], [["ip", "-all", "netns", "exec", "ip", "link"]])])).toThrow(/^t\.yaml:4: /);
    expect(() => planScenario(s, FEATURES, [accepted(["ip", "link"], [["ip", "netns", "exec", "1", "ip", "link"]], "1")])).toThrow(/^t\.yaml:4: /);
    expect(planScenario(s, FEATURES, [accepted(["ip", "link"], [["ip", "netns", "exec", "a", "ip", "link"]], "a")]).plan.actions).toMatchObject([{ kind: "exec", ns: "a", argv: ["ip", "link"] }]);
  });
});
