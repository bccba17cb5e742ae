// ip's listings and errors, checked against what iproute2 printed on a real kernel
// for the same topology (test/fixtures/real, captured in a fresh namespace).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { Host } from "../../src/host.ts";
import { ToolError } from "../../src/tool/tool.ts";
import { maskMacs, realOutput, run, stripIPv6, twoPodHost } from "../helpers.ts";

const FIX = "test/fixtures/real/";
function fixture(name: string): string {
  return maskMacs(stripIPv6(realOutput(readFileSync(FIX + name, "utf8"))));
}
function ours(host: Host, line: string): string {
  return maskMacs(host.exec(line)[0]!.stdout);
}
function err(host: Host, line: string): string {
  try {
    host.exec(line);
  } catch (e) {
    if (e instanceof ToolError) return e.message;
    throw e;
  }
  return "(no error)";
}

describe("ip listings match iproute2 on the two-pod bridge", () => {
  const host = twoPodHost();
  // Real fixtures were taken after traffic; ARP state does not affect these listings.
  const cases: [string, string][] = [
    ["ip link", "01_up__host__ip_link.txt"],
    ["ip a", "01_up__host__ip_a.txt"],
    ["ip -br a", "01_up__host__ip_br_a.txt"],
    ["ip -br link", "01_up__host__ip_br_link.txt"],
    ["ip -4 a", "01_up__host__ip_4_a.txt"],
    ["ip -4 -br a", "01_up__host__ip_4_br_a.txt"],
    ["ip r", "01_up__host__ip_r.txt"],
    ["ip route show table local", "01_up__host__ip_route_show_table_local.txt"],
    ["ip route show table all", "01_up__host__ip_route_show_table_all.txt"],
    ["ip netns list", "01_up__host__ip_netns_list.txt"],
    ["bridge link", "01_up__host__bridge_link.txt"],
    ["ip route get 10.0.0.21", "01_up__host__ip_route_get_10.0.0.21.txt"],
    ["ip route get 10.0.0.1", "01_up__host__ip_route_get_10.0.0.1.txt"],
    ["ip route get 10.0.0.255", "01_up__host__ip_route_get_10.0.0.255.txt"],
    ["ip route get 127.0.0.1", "01_up__host__ip_route_get_127.0.0.1.txt"],
    ["ip netns exec netns_dustin ip a", "01_up__netns_dustin__ip_a.txt"],
    ["ip netns exec netns_dustin ip link", "01_up__netns_dustin__ip_link.txt"],
    ["ip netns exec netns_dustin ip r", "01_up__netns_dustin__ip_r.txt"],
    ["ip netns exec netns_dustin ip route get 8.8.8.8", "01_up__netns_dustin__ip_route_get_8.8.8.8.txt"],
    ["ip netns exec netns_dustin ip netns list", "01_up__netns_dustin__ip_netns_list.txt"],
  ];
  for (const [cmd, file] of cases) {
    it(cmd, () => expect(ours(host, cmd)).toBe(fixture(file)));
  }
});

describe("ip link state words", () => {
  it("shows a fresh namespace's lo as the kernel does", () => {
    const host = new Host();
    expect(ours(host, "ip a")).toBe(fixture("00_fresh__host__ip_a.txt"));
  });
  it("shows a veth whose peer is down and a bridge without carrier", () => {
    const host = new Host();
    run(host, `ip link set lo up
ip link add dev bridge_home type bridge
ip link set bridge_home up
ip link add dev veth_dustin type veth peer name veth_ns_dustin
ip link set dev veth_dustin master bridge_home
ip link set dev veth_dustin up`);
    expect(ours(host, "ip link")).toBe(fixture("00_first_port_up_peer_down__host__ip_link.txt"));
  });
  it("shows a bridge without ports as UNKNOWN", () => {
    const host = new Host();
    run(host, `ip link set lo up
ip link add dev bridge_home type bridge
ip address add 10.0.0.1/24 dev bridge_home
ip link set bridge_home up`);
    expect(ours(host, "ip addr show dev bridge_home")).toBe(fixture("00_bridge_up_noports__host__ip_addr_show_dev_bridge_home.txt"));
    expect(ours(host, "ip route show table all")).toBe(fixture("00_bridge_up_noports__host__ip_route_show_table_all.txt"));
  });
  it("auto-names veth ends like the kernel", () => {
    const host = new Host();
    host.exec("ip link add type veth");
    expect(ours(host, "ip -br link show type veth")).toBe("veth0@veth1      DOWN           MAC <BROADCAST,MULTICAST,M-DOWN> \nveth1@veth0      DOWN           MAC <BROADCAST,MULTICAST,M-DOWN> \n");
  });
});

describe("ip errors are worded as iproute2 words them", () => {
  const host = twoPodHost();
  const cases: [string, string][] = [
    ["ip link set dev nosuch up", 'Cannot find device "nosuch"'],
    ["ip address add 10.0.0.300/24 dev bridge_home", 'Error: any valid prefix is expected rather than "10.0.0.300/24".'],
    ["ip address add 1.2.3.4/33 dev bridge_home", 'Error: any valid prefix is expected rather than "1.2.3.4/33".'],
    ["ip address add 10.9.0.1/24 dev bridge_home noprefixroute", 'Error: pktpath does not model "noprefixroute" on addresses yet.'],
    ["ip route add 10.8.0.0/16 via 169.254.1.1 dev bridge_home", "Error: Nexthop has invalid gateway."],
    ["ip route add 10.8.0.0/16 via 169.254.1.1 onlink", "Error: Nexthop device required for onlink."],
    ["ip route add 10.8.0.0/16 via 10.0.0.1 dev bridge_home onlink", "Error: Nexthop has invalid gateway."],
    ["ip address add 10.0.0.1/24 dev bridge_home", "Error: ipv4: Address already assigned."],
    ["ip address del 10.0.0.99/24 dev bridge_home", "Error: ipv4: Address not found."],
    ["ip route add 10.0.0.0/24 dev bridge_home", "RTNETLINK answers: File exists"],
    ["ip route add 10.0.0.7/24 dev bridge_home", "Error: Invalid prefix for given prefix length."],
    ["ip route add default via 10.9.9.9", "Error: Nexthop has invalid gateway."],
    ["ip route add 10.21.0.0/16 via 10.0.0.21 dev veth_dustin", "Error: Nexthop has invalid gateway."],
    ["ip route add 10.40.0.0/16", "RTNETLINK answers: No such device"],
    ["ip route del 10.9.0.0/16", "RTNETLINK answers: No such process"],
    ["ip route show table nosuch", 'Error: argument "nosuch" is wrong: table id value is invalid\n'],
    ["ip netns exec nosuch true", 'Cannot open network namespace "nosuch": No such file or directory'],
    ["ip netns add netns_dustin", 'Cannot create namespace file "/run/netns/netns_dustin": File exists'],
    ["ip netns del nosuch", 'Cannot remove namespace file "/run/netns/nosuch": No such file or directory'],
    ["ip netns add bad/name", 'Invalid netns name "bad/name"'],
    ["ip link add dev bridge_home type bridge", "RTNETLINK answers: File exists"],
    ["ip link add x type nosuchtype", "Error: Unknown device type."],
    ["ip link add x", 'Not enough information: "type" argument is required'],
    ["ip foo", 'Object "foo" is unknown, try "ip help".'],
    ["ip link foo", 'Command "foo" is unknown, try "ip link help".'],
    ["ip link set", 'Not enough information: "dev" argument is required.'],
    ["ip link set dev", 'Command line is not complete. Try option "help"'],
    ["ip link set dev bridge_home master bridge_home", "Error: Can not enslave a bridge to a bridge."],
    ["ip link set dev bridge_home mtu 99999", "Error: mtu greater than device maximum."],
    ["ip link set veth_dustin master nosuch", 'Error: argument "nosuch" is wrong: Device does not exist\n'],
    ["ip link set dev veth_leah netns nosuch", 'Error: argument "nosuch" is wrong: Invalid "netns" value\n'],
    ["ip link set dev veth_dustin master lo", "RTNETLINK answers: Operation not supported"],
    ["ip link show dev nosuch", 'Device "nosuch" does not exist.'],
    ["ip route get", "need at least a destination address"],
    ["bridge link set dev nosuch hairpin on", 'Cannot find bridge device "nosuch"'],
    ["bridge fdb show br nosuch", 'Cannot find bridge device "nosuch"'],
    ["bridge foo", 'Object "foo" is unknown, try "bridge help".'],
  ];
  for (const [cmd, message] of cases) {
    it(cmd, () => expect(err(host, cmd)).toBe(message));
  }
  it("a failed command leaves the snapshot unchanged", () => {
    const before = host.config;
    expect(() => host.exec("ip route add default via 10.9.9.9")).toThrow(ToolError);
    expect(host.config).toBe(before);
  });
});

describe("ip link set and route changes", () => {
  it("link down flushes routes through the device, and up restores only kernel routes", () => {
    const host = twoPodHost();
    host.exec("ip route add 10.30.0.0/16 via 10.0.0.21");
    host.exec("ip link set bridge_home down");
    expect(host.exec("ip r")[0]!.stdout).toBe("");
    expect(host.exec("ip route show table local")[0]!.stdout).toContain("local 10.0.0.1 dev bridge_home");
    host.exec("ip link set bridge_home up");
    expect(host.exec("ip r")[0]!.stdout).toBe("10.0.0.0/24 dev bridge_home proto kernel scope link src 10.0.0.1 \n");
  });
  it("moving a link to another namespace drops its addresses", () => {
    const host = twoPodHost();
    host.exec("ip netns add netns_x");
    host.exec("ip netns exec netns_dustin ip link set veth_ns_dustin netns netns_x");
    expect(host.exec("ip netns exec netns_x ip -br a")[0]!.stdout).toBe("lo               DOWN           \nveth_ns_dustin@if4 DOWN           \n");
  });
  it("static neighbours are added, listed and deleted", () => {
    const host = twoPodHost();
    host.exec("ip neigh add 10.0.0.50 lladdr 02:00:00:00:00:50 dev bridge_home");
    expect(host.exec("ip neigh show")[0]!.stdout).toBe(readFileSync(FIX + "03_err__host__ip_neigh_show.txt", "utf8").split("\n")[1] + "\n");
    expect(err(host, "ip neigh add 10.0.0.50 lladdr 02:00:00:00:00:50 dev bridge_home")).toBe("RTNETLINK answers: File exists");
    host.exec("ip neigh del 10.0.0.50 dev bridge_home");
    expect(err(host, "ip neigh del 10.0.0.50 dev bridge_home")).toBe("RTNETLINK answers: No such file or directory");
  });
});
