// Small worlds for tests: the walkthrough's two-pod bridge, built with real commands.
import { Host } from "../src/host.ts";
import { parseIPv4 } from "../src/wire/ipv4.ts";
import type { ProbeResult } from "../src/dataplane/probe.ts";

export const TWO_POD_BRIDGE = `
sysctl --write net.ipv4.ip_forward=1
ip link add dev bridge_home type bridge
ip address add 10.0.0.1/24 dev bridge_home
ip link set bridge_home up
ip link set lo up
ip netns add netns_dustin
ip link add dev veth_dustin type veth peer name veth_ns_dustin
ip link set dev veth_dustin master bridge_home
ip link set dev veth_dustin up
ip link set dev veth_ns_dustin netns netns_dustin
ip netns exec netns_dustin ip link set dev veth_ns_dustin up
ip netns exec netns_dustin ip address add 10.0.0.11/24 dev veth_ns_dustin
ip netns exec netns_dustin ip link set lo up
ip netns exec netns_dustin ip route add default via 10.0.0.1
ip netns add netns_leah
ip link add dev veth_leah type veth peer name veth_ns_leah
ip link set dev veth_leah master bridge_home
ip link set dev veth_leah up
ip link set dev veth_ns_leah netns netns_leah
ip netns exec netns_leah ip link set dev veth_ns_leah up
ip netns exec netns_leah ip address add 10.0.0.21/24 dev veth_ns_leah
ip netns exec netns_leah ip link set lo up
ip netns exec netns_leah ip route add default via 10.0.0.1
ip netns exec netns_dustin python3 -m http.server 8080 &
ip netns exec netns_leah python3 -m http.server 8080 &
`;

export function run(host: Host, script: string): string {
  let out = "";
  for (const line of script.split("\n")) {
    if (line.trim()) for (const o of host.exec(line)) out += o.stdout;
  }
  return out;
}

export function twoPodHost(options: { trace?: boolean } = {}): Host {
  const host = new Host(options);
  run(host, TWO_POD_BRIDGE);
  return host;
}

export function curl(host: Host, ns: string, target: string, timeoutMs = 1000): ProbeResult {
  const [addr, port] = target.split(":");
  return host.probe(ns, { kind: "http", daddr: parseIPv4(addr!)!, dport: Number(port ?? 80), timeoutMs, count: 1 });
}

/** Replaces MAC addresses, which are random on a real kernel, for comparisons. */
export function maskMacs(text: string): string {
  return text.replace(/\b([0-9a-f]{2}:){5}[0-9a-f]{2}\b/g, (m) => (m === "00:00:00:00:00:00" || m === "ff:ff:ff:ff:ff:ff" ? m : "MAC"));
}

/** A fixture captured on a real kernel (test/fixtures/real), without its comment lines and IPv6. */
export function realOutput(text: string): string {
  return text
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n");
}

/** Drops what the emulator does not model: IPv6 addresses and routes. */
export function stripIPv6(text: string): string {
  const out: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^\s+inet6 /.test(l)) {
      i++; // and its valid_lft line
      continue;
    }
    if (/^(local |multicast |broadcast )?[0-9a-f]*:[0-9a-f:]*(\/\d+)? /.test(l) && !/^\d+: /.test(l)) continue;
    out.push(l.replace(/ [0-9a-f]*:[0-9a-f:]+\/\d+(?= )/g, ""));
  }
  return out.join("\n");
}
