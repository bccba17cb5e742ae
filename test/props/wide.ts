// The widened generator of differential-kernel: several bridges and pods, a routed
// namespace, promiscuous bridges and hairpin ports, br_netfilter on or off, DNAT (one
// port or a range), SNAT with a port range, MASQUERADE, kube-proxy's mark-and-masquerade
// chains, TCP and UDP probes from fixed or ephemeral source ports, and the listings
// (`ip route`, `iptables -t nat -L -n -v`, `conntrack -L`) after the probes.
import fc from "fast-check";
import type { Scenario } from "./world.ts";

export interface Wide {
  pods: [number, number]; // pods on br0 and br1 (0: no br1)
  ext: boolean;
  promisc: [boolean, boolean];
  hairpin: boolean[];
  brnf: "absent" | "off" | "on";
  kube: boolean;
  nat: string[];
  probes: { from: number; to: number; udp: boolean; bind: boolean }[];
}

const NAT_OPTIONS = ["dnat-range", "snat-range", "masq-ext", "udp-dnat"] as const;

export const wideArb: fc.Arbitrary<Wide> = fc.record({
  pods: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 2 })),
  ext: fc.boolean(),
  promisc: fc.tuple(fc.boolean(), fc.boolean()),
  hairpin: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  brnf: fc.constantFrom("absent" as const, "off" as const, "on" as const),
  kube: fc.boolean(),
  nat: fc.subarray([...NAT_OPTIONS]),
  probes: fc.array(fc.record({ from: fc.nat(9), to: fc.nat(9), udp: fc.boolean(), bind: fc.boolean() }), { minLength: 2, maxLength: 4 }),
});

interface Pod {
  ns: string;
  addr: string;
  br: number;
  port: string;
}

function pods(w: Wide): Pod[] {
  const out: Pod[] = [];
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < w.pods[b]!; i++) out.push({ ns: `netns_p${b}${i}`, addr: `10.${b}.0.${11 + i}`, br: b, port: `v${b}${i}` });
  }
  return out;
}

const EXT = "10.9.0.2";

export function wideScenario(i: number, w: Wide): Scenario {
  const ps = pods(w);
  const ep = ps[0]!;
  const setup: string[] = ["sysctl -w net.ipv4.ip_forward=1", "ip link set lo up"];
  for (let b = 0; b < 2; b++) {
    if (!w.pods[b]) continue;
    setup.push(`ip link add dev br${b} type bridge`, `ip address add 10.${b}.0.1/24 dev br${b}`, `ip link set br${b} up`);
  }
  for (const [k, p] of ps.entries()) {
    const x = `ip netns exec ${p.ns}`;
    setup.push(
      `ip netns add ${p.ns}`,
      `ip link add dev ${p.port} type veth peer name ${p.port}_ns`,
      `ip link set dev ${p.port} master br${p.br}`,
      `ip link set dev ${p.port} up`,
      `ip link set dev ${p.port}_ns netns ${p.ns}`,
      `${x} ip link set dev ${p.port}_ns up`,
      `${x} ip address add ${p.addr}/24 dev ${p.port}_ns`,
      `${x} ip link set lo up`,
      `${x} ip route add default via 10.${p.br}.0.1`,
      `${x} python3 -m http.server 8080 &`,
      `${x} nc -lu 5353 &`,
    );
    if (w.hairpin[k]) setup.push(`bridge link set dev ${p.port} hairpin on`);
  }
  if (w.ext) {
    setup.push(
      "ip netns add netns_ext",
      "ip link add dev vext type veth peer name vext_ns",
      "ip link set dev vext_ns netns netns_ext",
      "ip address add 10.9.0.1/30 dev vext",
      "ip link set vext up",
      "ip netns exec netns_ext ip link set vext_ns up",
      `ip netns exec netns_ext ip address add ${EXT}/30 dev vext_ns`,
      "ip netns exec netns_ext ip link set lo up",
      "ip netns exec netns_ext ip route add default via 10.9.0.1",
      "ip netns exec netns_ext python3 -m http.server 8080 &",
      "ip netns exec netns_ext nc -lu 5353 &",
    );
  }
  for (let b = 0; b < 2; b++) if (w.pods[b] && w.promisc[b]) setup.push(`ip link set br${b} promisc on`);
  if (w.brnf !== "absent") setup.push("modprobe br_netfilter", `sysctl -w net.bridge.bridge-nf-call-iptables=${w.brnf === "on" ? 1 : 0}`);
  // The service 10.96.0.10: TCP 80 and (udp-dnat) UDP 53 to the first pod.
  setup.push("ip route add 10.96.0.0/16 dev br0");
  if (w.kube) {
    setup.push(
      "iptables -t nat -N KUBE-MARK-MASQ",
      "iptables -t nat -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
      "iptables -t nat -N KUBE-SVC",
      `iptables -t nat -A KUBE-SVC -s ${ep.addr}/32 -j KUBE-MARK-MASQ`,
      `iptables -t nat -A KUBE-SVC -p tcp -j DNAT --to-destination ${ep.addr}:8080`,
      "iptables -t nat -A PREROUTING -d 10.96.0.10/32 -p tcp --dport 80 -j KUBE-SVC",
      "iptables -t nat -A OUTPUT -d 10.96.0.10/32 -p tcp --dport 80 -j KUBE-SVC",
      "iptables -t nat -A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE",
    );
  } else {
    setup.push(
      `iptables -t nat -A PREROUTING -d 10.96.0.10/32 -p tcp --dport 80 -j DNAT --to-destination ${ep.addr}:8080`,
      `iptables -t nat -A OUTPUT -d 10.96.0.10/32 -p tcp --dport 80 -j DNAT --to-destination ${ep.addr}:8080`,
    );
  }
  for (const n of w.nat) {
    if (n === "dnat-range") setup.push(`iptables -t nat -A PREROUTING -d 10.96.0.11/32 -p tcp --dport 80 -j DNAT --to-destination ${ep.addr}:8080-8081`);
    if (n === "snat-range" && w.ext) setup.push(`iptables -t nat -A POSTROUTING -d ${EXT}/32 -p tcp -j SNAT --to-source 10.9.0.1:40000-40001`);
    if (n === "masq-ext" && w.ext) setup.push("iptables -t nat -A POSTROUTING -o vext -j MASQUERADE");
    if (n === "udp-dnat") {
      setup.push(`iptables -t nat -A PREROUTING -d 10.96.0.10/32 -p udp --dport 53 -j DNAT --to-destination ${ep.addr}:5353`);
      setup.push(`iptables -t nat -A OUTPUT -d 10.96.0.10/32 -p udp --dport 53 -j DNAT --to-destination ${ep.addr}:5353`);
    }
  }
  const clients = ["host", ...ps.map((p) => p.ns), ...(w.ext ? ["netns_ext"] : [])];
  const targets: { addr: string; tcp: number; udp: number }[] = [
    ...ps.map((p) => ({ addr: p.addr, tcp: 8080, udp: 5353 })),
    { addr: "10.96.0.10", tcp: 80, udp: 53 },
    ...(w.nat.includes("dnat-range") ? [{ addr: "10.96.0.11", tcp: 80, udp: 53 }] : []),
    ...(w.ext ? [{ addr: EXT, tcp: 8080, udp: 5353 }] : []),
  ];
  const steps = w.probes.map((p) => {
    const c = clients[p.from % clients.length]!;
    const t = targets[p.to % targets.length]!;
    const pre = c === "host" ? "" : `ip netns exec ${c} `;
    const run = p.udp
      ? `${pre}nc -u ${p.bind ? "-p 40000 " : ""}-w 1.5 ${t.addr} ${t.udp}`
      : `${pre}curl -m 1.5 ${p.bind ? "--local-port 40000 " : ""}${t.addr}:${t.tcp}`;
    return { run };
  });
  steps.push({ run: "ip route" }, { run: "iptables -t nat -L -n -v" }, { run: "conntrack -L" });
  return { name: `wide ${i}`, setup, steps };
}
