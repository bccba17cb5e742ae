// nat-symmetry: whatever DNAT, SNAT, MASQUERADE or IPVS NAT the router does, a client
// receives only packets carrying the reverse of the tuple it sent (completed connection
// or not), and the server saw the tuple the router's conntrack / IPVS entry says it NATed
// the connection to.
//
// Packets are watched where the sockets stand: a hook operation first at LOCAL_OUT and
// one last at LOCAL_IN in every namespace (world.ts observe()). A packet keeps its id
// from the client's LOCAL_OUT to the server's LOCAL_IN (no bridge floods clones in
// this world), which pairs what the client sent with what the server got.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Layers } from "../../src/layers.ts";
import { IP_VS_CONN_F_TEMPLATE } from "../../src/ipvs/conn.ts";
import { params, timeoutMs } from "./config.ts";
import { natConfigArb, natScenario, newWorld, observe, play, probeArb, reversed, sameTuple, showTuple, toYaml, type Seen, type Tuple } from "./world.ts";

/** The tuple the router says the server sees for a client's tuple t. */
export function natedTuple(layers: Layers, t: Tuple): { tuple: Tuple; from: string } {
  const ct = (x: Tuple) => layers.netfilter.connections("r").find((c) => sameTuple(c.tuple[0], { src: x.src, sport: x.sport, dst: x.dst, dport: x.dport, proto: x.proto }));
  const fromCt = (x: Tuple) => {
    const c = ct(x);
    if (!c) return null;
    const r = c.tuple[1];
    return reversed({ src: r.src, sport: r.sport, dst: r.dst, dport: r.dport, proto: r.proto });
  };
  const v = layers.ipvs
    .state("r")
    .conns.entries()
    .find((c) => !(c.flags & IP_VS_CONN_F_TEMPLATE) && c.proto === t.proto && c.caddr === t.src && c.cport === t.sport && c.vaddr === t.dst && c.vport === t.dport);
  const direct = fromCt(t);
  if (v) {
    const e1: Tuple = { src: t.src, sport: t.sport, dst: v.daddr, dport: v.dport, proto: t.proto };
    // With vs.conntrack=1 IPVS rewrote the reply tuple of the client's entry; else a
    // later SNAT is tracked from the IPVS-NATed tuple.
    if (direct && !sameTuple(direct, t)) return { tuple: direct, from: "conntrack (IPVS-updated)" };
    const after = fromCt(e1);
    return after ? { tuple: after, from: "IPVS then conntrack" } : { tuple: e1, from: "IPVS" };
  }
  if (direct) return { tuple: direct, from: "conntrack" };
  return { tuple: t, from: "no NAT" };
}

/** Does a live entry's reply tuple say a later connection now owns what the server saw? */
function evictedBy(layers: Layers, seenAtServer: Tuple): boolean {
  const r = reversed(seenAtServer);
  return layers.netfilter
    .connections("r")
    .some((c) => sameTuple({ src: c.tuple[1].src, sport: c.tuple[1].sport, dst: c.tuple[1].dst, dport: c.tuple[1].dport, proto: c.tuple[1].proto }, r));
}

/** The violations of nat-symmetry for one probe, as sentences; empty when it holds. */
export function violations(layers: Layers, seen: Seen[], client: string, server: string | null): string[] {
  const out: string[] = [];
  const first = seen.find((p) => p.dir === "sent" && p.ns === client);
  if (!first) return ["the client sent nothing"];
  const t = first.t;
  const back = reversed(t);
  for (const p of seen) {
    if (p.dir !== "got" || p.ns !== client || p.t.proto !== t.proto || p.t.dst !== t.src || p.t.dport !== t.sport) continue;
    if (!sameTuple(p.t, back)) out.push(`client got ${showTuple(p.t)}, expected ${showTuple(back)}`);
  }
  const nat = natedTuple(layers, t);
  const ids = new Set(seen.filter((p) => p.dir === "sent" && p.ns === client && sameTuple(p.t, t)).map((p) => p.id));
  const atServer = seen.filter((p) => p.dir === "got" && p.ns !== client && ids.has(p.id));
  if (server && !atServer.some((p) => p.ns === server)) out.push(`server ${server} got none of the client's packets`);
  for (const p of atServer) {
    // A later SYN may have evicted this closed entry and taken its tuple (nf_nat_used_tuple_harder).
    if (!sameTuple(p.t, nat.tuple) && evictedBy(layers, p.t)) continue;
    if (!sameTuple(p.t, nat.tuple)) out.push(`${p.ns} got ${showTuple(p.t)}, the router's entry (${nat.from}) says ${showTuple(nat.tuple)}`);
  }
  return out;
}

describe("nat-symmetry", () => {
  it(
    "every completed connection: the client gets the reversed tuple, the server the router's NATed tuple",
    () => {
      let answered = 0;
      let total = 0;
      fc.assert(
        fc.property(natConfigArb, fc.array(probeArb, { minLength: 1, maxLength: 6 }), (cfg, probes) => {
          const s = natScenario("nat-symmetry counterexample", cfg, probes);
          const { host, layers } = newWorld();
          const obs = observe(host);
          const played = play(host, s, obs);
          const problems: string[] = played.errors.map((e) => `command failed: ${e}`);
          for (const p of played.probes) {
            total++;
            const r = p.rec.result;
            if (r.outcome === "answered") answered++;
            // Every probe, answered or not: a reply the router forgot to un-NAT makes the
            // client reset the connection, so it never completes, yet it is a violation.
            const seen = obs.packets.slice(p.from, p.to);
            for (const v of violations(layers, seen, p.rec.ns, r.outcome === "answered" ? r.server : null)) problems.push(`${p.line}: ${v}`);
          }
          if (problems.length) throw new Error(`${problems.join("\n")}\n--- scenario (pktpath run FILE --trace) ---\n${toYaml(s, problems.join("; "))}`);
        }),
        {
          ...params(120),
          // Found at 300 runs: an IPVS NAT reply without vs.conntrack must leave the
          // director untracked (ip_vs_notrack in handle_response), so MASQUERADE does
          // not rewrite it after IPVS gave it the VIP back.
          examples: [[{ dnat: null, snat: { kind: "masq", out: null }, ipvs: { proto: "udp", sched: "rr", dests: [{ to: "s1", weight: 1 }], persist: null, conntrack: false }, filter: [] }, [{ client: "a", target: "ipvs", tool: "curl" }]]],
        },
      );
      // Not vacuous: most generated connections complete.
      expect(answered).toBeGreaterThan(total / 2);
    },
    timeoutMs(15_000),
  );
});
