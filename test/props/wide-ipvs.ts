// The IPVS generator of differential-ipvs, in the shapes scenarios/ipvs/*.yaml already
// agree on with the VM's kernel: the director is the host, with a bridge, 2-3 pod
// namespaces as real servers (an HTTP server on 8080, a UDP echo on 5353) and a client
// pod; `modprobe ip_vs`; the VIP on a dummy link kube-ipvs0 as kube-proxy puts it; a TCP
// virtual service, NAT (-m) or direct routing (-g, the VIP on each real server's lo with
// arp_ignore=1 / arp_announce=2), and a UDP one (NAT), with weights and sometimes -p;
// repeated curl and nc -u probes; then `ipvsadm -Ln --stats` and `ipvsadm -Lnc`.
import fc from "fast-check";
import type { Scenario, Step } from "./world.ts";

/** Every scheduler the kernel ships (net/netfilter/ipvs/ip_vs_*.c). */
export const SCHEDULERS = ["rr", "wrr", "lc", "wlc", "sh", "sed", "nq", "dh", "mh", "lblc", "lblcr", "fo", "ovf"] as const;
export type Scheduler = (typeof SCHEDULERS)[number];

export interface IpvsService {
  persist: number | null; // -p seconds, or none
  weights: number[]; // one per real server (1-3)
  repeat: number; // probes from the client
}

export interface WideIpvs {
  servers: number; // 2-3 real servers
  mode: "nat" | "dr";
  tcp: IpvsService;
  udp: IpvsService;
  /** NAT only: the director's own curl to the VIP (as scenarios/ipvs/schedulers.yaml). */
  fromHost: boolean;
}

const serviceArb: fc.Arbitrary<IpvsService> = fc.record({
  persist: fc.option(fc.constantFrom(60, 300), { freq: 3 }),
  weights: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
  repeat: fc.integer({ min: 2, max: 4 }),
});

export const wideIpvsArb: fc.Arbitrary<WideIpvs> = fc.record({
  servers: fc.integer({ min: 2, max: 3 }),
  mode: fc.constantFrom("nat" as const, "dr" as const),
  tcp: serviceArb,
  udp: serviceArb,
  fromHost: fc.boolean(),
});

const VIP = "10.96.0.10";
const CLIENT = "netns_client";

/**
 * Scenario i of the batch. The schedulers are dealt round the batch (TCP gets
 * SCHEDULERS[2i mod 13], UDP the next one) so that 7 scenarios cover all 13; the rest
 * (servers, mode, weights, persistence, repeats) is drawn.
 */
export function wideIpvsScenario(i: number, w: WideIpvs): Scenario {
  const tcpSched = SCHEDULERS[(2 * i) % SCHEDULERS.length]!;
  const udpSched = SCHEDULERS[(2 * i + 1) % SCHEDULERS.length]!;
  const rs = Array.from({ length: w.servers }, (_, k) => ({ ns: `netns_rs${k}`, addr: `10.0.0.${11 + 10 * k}`, port: `veth_rs${k}` }));
  const setup: string[] = ["sysctl --write net.ipv4.ip_forward=1", "ip link add dev bridge_home type bridge", "ip address add 10.0.0.1/24 dev bridge_home", "ip link set bridge_home up", "ip link set lo up"];
  const pods = [...rs, { ns: CLIENT, addr: "10.0.0.99", port: "veth_client" }];
  for (const p of pods) {
    const x = `ip netns exec ${p.ns}`;
    setup.push(
      `ip netns add ${p.ns}`,
      `ip link add dev ${p.port} type veth peer name ${p.port}_ns`,
      `ip link set dev ${p.port} master bridge_home`,
      `ip link set dev ${p.port} up`,
      `ip link set dev ${p.port}_ns netns ${p.ns}`,
      `${x} ip link set dev ${p.port}_ns up`,
      `${x} ip address add ${p.addr}/24 dev ${p.port}_ns`,
      `${x} ip link set lo up`,
      `${x} ip route add default via 10.0.0.1`,
    );
  }
  for (const r of rs) setup.push(`ip netns exec ${r.ns} python3 -m http.server 8080 &`, `ip netns exec ${r.ns} nc -lu 5353 &`);
  setup.push("modprobe br_netfilter", "modprobe ip_vs", "ip link add dev kube-ipvs0 type dummy", `ip address add ${VIP}/32 dev kube-ipvs0`);
  if (w.mode === "dr") {
    for (const r of rs) {
      const x = `ip netns exec ${r.ns}`;
      setup.push(`${x} sysctl -w net.ipv4.conf.all.arp_ignore=1`, `${x} sysctl -w net.ipv4.conf.all.arp_announce=2`, `${x} ip address add ${VIP}/32 dev lo`);
    }
  }
  // The UDP service is NAT in every scenario. UDP by direct routing disagrees today: the
  // kernel's `nc -lu` (a socket bound to 0.0.0.0, no IP_PKTINFO) answers from the real
  // server's own address, which the client's connected socket ignores (timeout); the
  // emulator's UDP listener answers from the VIP (src/dataplane/udp.ts udpRcv).
  const service = (proto: "-t" | "-u", port: number, sched: Scheduler, s: IpvsService): void => {
    const fwd = w.mode === "dr" && proto === "-t" ? "-g" : "-m";
    setup.push(`ipvsadm -A ${proto} ${VIP}:${port} -s ${sched}${s.persist === null ? "" : ` -p ${s.persist}`}`);
    for (const [k, r] of rs.entries()) setup.push(`ipvsadm -a ${proto} ${VIP}:${port} -r ${r.addr}:${port} ${fwd} -w ${s.weights[k]!}`);
  };
  service("-t", 8080, tcpSched, w.tcp);
  service("-u", 5353, udpSched, w.udp);
  const steps: Step[] = [];
  for (let k = 0; k < w.tcp.repeat; k++) steps.push({ run: `ip netns exec ${CLIENT} curl -m 2 ${VIP}:8080` });
  for (let k = 0; k < w.udp.repeat; k++) steps.push({ run: `ip netns exec ${CLIENT} nc -u -w 1.5 ${VIP} 5353` });
  if (w.mode === "nat" && w.fromHost) steps.push({ run: `curl -m 2 ${VIP}:8080` });
  steps.push({ run: "ipvsadm -Ln --stats" }, { run: "ipvsadm -Lnc" });
  return { name: `ipvs ${i} (${w.mode}, tcp ${tcpSched}, udp ${udpSched})`, setup, steps };
}
