// conntrack-uniqueness: no two live connections share a reply tuple (nor one's reply
// another's original), and MASQUERADE picks another source port on a clash, as
// nf_nat_l4proto_unique_tuple() does: many clients behind one router all bind the same
// source port (curl --local-port 40000), so every one of their connections clashes with
// the first unless the router moves it. Each is answered: when a port range runs out,
// the SYN evicts a TIME_WAIT entry that holds a port (nf_nat_used_tuple_harder, 6.4+).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { params, timeoutMs } from "./config.ts";
import { newWorld, play, toYaml, type Scenario } from "./world.ts";

type Nat = "masq" | "masq-ports" | "snat" | "masq-random-fully";

/** Clients c1..cN (10.0.i.2) behind r, which NATs them towards s (192.168.1.2). */
function world(n: number, nat: Nat, probes: number[], gaps: number[], via: "iptables" | "nft" = "iptables"): Scenario {
  const setup = ["ip netns add r", "ip netns add s", "ip netns exec r sysctl -w net.ipv4.ip_forward=1"];
  const leg = (ns: string, rdev: string, raddr: string, addr: string) =>
    setup.push(
      `ip link add ${rdev} type veth peer name e${ns}`,
      `ip link set ${rdev} netns r`,
      `ip link set e${ns} netns ${ns}`,
      `ip netns exec r ip addr add ${raddr}/24 dev ${rdev}`,
      `ip netns exec r ip link set ${rdev} up`,
      `ip netns exec ${ns} ip addr add ${addr}/24 dev e${ns}`,
      `ip netns exec ${ns} ip link set e${ns} up`,
      `ip netns exec ${ns} ip route add default via ${raddr}`,
    );
  leg("s", "rs", "192.168.1.1", "192.168.1.2");
  for (let i = 1; i <= n; i++) {
    setup.push(`ip netns add c${i}`);
    leg(`c${i}`, `rc${i}`, `10.0.${i}.1`, `10.0.${i}.2`);
  }
  setup.push("ip netns exec s nc -l 80 &");
  const target = { masq: "-j MASQUERADE", "masq-ports": "-p tcp -j MASQUERADE --to-ports 40000-40003", snat: "-j SNAT --to-source 192.168.1.1", "masq-random-fully": "-j MASQUERADE --random-fully" }[nat];
  if (via === "nft") {
    // The same source NAT from a native nft nat chain (nft_masq / nft_nat: the same nf_nat core).
    const stmt = { masq: "masquerade", "masq-ports": "meta l4proto tcp masquerade to :40000-40003", snat: "snat to 192.168.1.1", "masq-random-fully": "masquerade fully-random" }[nat];
    setup.push("ip netns exec r nft add table ip n", "ip netns exec r nft 'add chain ip n post { type nat hook postrouting priority srcnat; }'", `ip netns exec r nft add rule ip n post oifname rs ${stmt}`);
  } else setup.push(`ip netns exec r iptables -t nat -A POSTROUTING -o rs ${target}`);
  const steps: Scenario["steps"] = [];
  probes.forEach((c, i) => {
    steps.push({ run: `ip netns exec c${(c % n) + 1} curl -m 1 --local-port 40000 192.168.1.2:80` });
    if (gaps[i]) steps.push({ advance: gaps[i]! });
  });
  return { name: "conntrack-uniqueness counterexample", setup, steps };
}

const key = (t: { src: number; sport: number; dst: number; dport: number; proto: number }) => `${t.proto} ${t.src}:${t.sport} ${t.dst}:${t.dport}`;

describe("conntrack-uniqueness", () => {
  it(
    "no two live connections share a tuple; a clash moves the source port, so every connection is answered (a full range evicts a closed entry)",
    () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 2, max: 5 }),
          fc.constantFrom<Nat>("masq", "masq", "masq-ports", "snat", "masq-random-fully"),
          fc.array(fc.nat(), { minLength: 2, maxLength: 10 }),
          fc.array(fc.constantFrom(0, 0, 0, 500, 5000), { maxLength: 10 }),
          fc.constantFrom<"iptables" | "nft">("iptables", "nft"),
          (n, nat, probes, gaps, via) => {
            const s = world(n, nat, probes, gaps, via);
            const { host, layers } = newWorld();
            const played = play(host, s);
            const problems = played.errors.map((e) => `command failed: ${e}`);
            const conns = layers.netfilter.connections("r");
            const owner = new Map<string, number>();
            for (const c of conns) {
              for (const t of c.tuple) {
                const k = key(t);
                const other = owner.get(k);
                if (other !== undefined && other !== c.id) problems.push(`connections ${other} and ${c.id} share the tuple ${k}`);
                owner.set(k, c.id);
              }
            }
            // Every connection is answered: a full range makes room by evicting a closed entry.
            const answered = played.probes.filter((p) => p.rec.result.outcome === "answered").length;
            const want = played.probes.length;
            if (answered !== want) problems.push(`${answered} of ${played.probes.length} connections answered, expected ${want}`);
            if (problems.length) throw new Error(`${problems.join("\n")}\n--- scenario ---\n${toYaml(s, problems.join("; "))}`);
          },
        ),
        params(60),
      );
    },
    timeoutMs(15_000),
  );

  it("the walkthrough: two clients from port 40000, the second moved", () => {
    const { host, layers } = newWorld();
    play(host, world(2, "masq", [0, 1], []));
    const [first, second] = layers.netfilter.connections("r");
    expect(first!.tuple[0].sport).toBe(40000);
    expect(second!.tuple[0].sport).toBe(40000);
    expect(first!.tuple[1].dport).toBe(40000);
    expect(second!.tuple[1].dport).not.toBe(40000);
  });
});
