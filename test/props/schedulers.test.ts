// schedulers: the scheduler properties live beside the schedulers, in test/ipvs/schedulers:
//   rr-cycle        (rr.test.ts)   any k consecutive picks are the k available dests
//   wrr-cycle       (wrr.test.ts)  over sum(weights) picks each dest gets exactly its weight
//   sh-stable       (sh.test.ts)   equal sources map to equal dests while the dests do not change
//   lc-least, wlc-least (lc.test.ts) a dest of least overhead (/ weight), first in list order
//   quiesced dests (weight 0) get no new connection: rr, wrr, lc/wlc, sh tests above.
// Here, end to end through the packet path: persistence keeps a client on its
// destination until the template expires, and past that the client is scheduled again.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { params, timeoutMs } from "./config.ts";
import { IPVS_VIP, natCommands, newHost, play, ROUTED, toYaml, type NatConfig, type Scenario, type Step } from "./world.ts";

const SCHEDULERS = ["rr", "wrr", "lc", "wlc", "sh", "dh", "sed", "nq", "mh", "lblc", "lblcr", "fo", "ovf"];

function service(sched: string, persist: number): NatConfig {
  return {
    dnat: null,
    snat: null,
    ipvs: { proto: "tcp", sched, persist, conntrack: false, dests: [{ to: "s1", weight: 1 }, { to: "s2", weight: 1 }] },
    filter: [],
  };
}

/** Client events: a connection from a or b to the service, each after a pause of `gap` ms. */
function scenario(name: string, cfg: NatConfig, events: { client: "a" | "b"; gap: number }[]): Scenario {
  const steps: Step[] = [];
  for (const e of events) {
    if (e.gap) steps.push({ advance: e.gap });
    steps.push({ run: `ip netns exec ${e.client} curl -m 1 ${IPVS_VIP}:80` });
  }
  return { name, setup: [...ROUTED, ...natCommands(cfg)], steps };
}

function servers(s: Scenario): (string | null)[] {
  const host = newHost();
  const played = play(host, s);
  if (played.errors.length) throw new Error(played.errors.join("\n"));
  return played.probes.map((p) => (p.rec.result.outcome === "answered" ? p.rec.result.server : p.rec.result.outcome));
}

describe("persistence", () => {
  it(
    "persistence-sticks: a client that comes back within the persistence timeout gets the destination it had",
    () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...SCHEDULERS),
          fc.integer({ min: 2, max: 600 }),
          fc.array(fc.record({ client: fc.constantFrom("a" as const, "b" as const), frac: fc.double({ min: 0, max: 2, noNaN: true }) }), { minLength: 2, maxLength: 8 }),
          (sched, p, evs) => {
            const events = evs.map((e) => ({ client: e.client, gap: Math.floor(e.frac * p * 1000) }));
            const s = scenario("persistence-sticks counterexample", service(sched, p), events);
            const got = servers(s);
            // Per client: the last use and its destination; a return within p - 1 s must match.
            const last = new Map<string, { at: number; server: string | null }>();
            let now = 0;
            const problems: string[] = [];
            events.forEach((e, i) => {
              now += e.gap;
              const prev = last.get(e.client);
              if (got[i] === "timeout" || got[i] === "refused") problems.push(`connection ${i + 1} from ${e.client}: ${got[i]}`);
              if (prev && now - prev.at < (p - 1) * 1000 && got[i] !== prev.server) {
                problems.push(`connection ${i + 1} from ${e.client} ${(now - prev.at) / 1000} s after its last went to ${got[i]}, not ${prev.server}`);
              }
              last.set(e.client, { at: now, server: got[i]! });
              now += 1; // a connection takes no time that counts
            });
            if (problems.length) throw new Error(`${problems.join("\n")}\n--- scenario ---\n${toYaml(s, problems.join("; "))}`);
          },
        ),
        params(40),
      );
    },
    timeoutMs(15_000),
  );

  it(
    "persistence-expires: once the template has expired the client is scheduled afresh (rr moves it on)",
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 2, max: 900 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 4 }), (p, epochs) => {
          // Each epoch: some connections a second apart, then a pause far past the template's
          // life (p, or the 120 s TIME_WAIT of the last connection it controls, plus 60 s).
          const events: { client: "a"; gap: number }[] = [];
          epochs.forEach((n, k) => {
            for (let i = 0; i < n; i++) events.push({ client: "a", gap: i === 0 && k > 0 ? (p + 241) * 1000 : i === 0 ? 0 : 1000 });
          });
          const s = scenario("persistence-expires counterexample", service("rr", p), events);
          const host = newHost();
          const got = play(host, s).probes.map((x) => x.rec.result.server);
          // rr over two servers: epoch k is served by the first server if k is even, the other if odd.
          let i = 0;
          const firstServer = got[0];
          epochs.forEach((n, k) => {
            for (let j = 0; j < n; j++, i++) {
              const want = k % 2 === 0 ? firstServer : firstServer === "s1" ? "s2" : "s1";
              if (got[i] !== want) throw new Error(`epoch ${k + 1} connection ${j + 1} went to ${got[i]}, expected ${want}\n--- scenario ---\n${toYaml(s)}`);
            }
          });
          host.advance((p + 241) * 1000);
          // ipvsadm -Lcn lists the template as client port 0 while it lives.
          expect(host.exec("ip netns exec r ipvsadm -Lcn")[0]!.stdout).not.toContain("10.0.1.2:0 ");
        }),
        params(25),
      );
    },
    timeoutMs(15_000),
  );

  // Found by this property, fixed in 8885e73: the emulator expired a template p seconds
  // after its last use even while a connection it controls was still in the table. The
  // kernel's ip_vs_conn_expire() begins "do I control anybody? if
  // (atomic_read(&cp->n_control)) goto expire_later": ip_vs_sched_persist() makes each of
  // the client's connections a controlled one (ip_vs_control_add), so the template lives
  // as long as they do (TIME_WAIT: 120 s) and the client stays on its real server.
  it(
    "persistence-outlives-p-while-controlled: with p < 120 s the template lives while the client's TIME_WAIT connection does",
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 2, max: 100 }), fc.integer({ min: 1, max: 15 }), (p, after) => {
          const gap = (p + after) * 1000; // past p, before the first connection's 120 s TIME_WAIT ends
          const s = scenario("persistence-outlives-p-while-controlled counterexample", service("rr", p), [
            { client: "a", gap: 0 },
            { client: "a", gap },
          ]);
          const got = servers(s);
          if (got[1] !== got[0]) throw new Error(`second connection ${gap / 1000} s later went to ${got[1]}, kernel keeps ${got[0]}\n--- scenario ---\n${toYaml(s)}`);
        }),
        params(10),
      );
    },
    timeoutMs(15_000),
  );
});
