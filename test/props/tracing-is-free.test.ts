// tracing-is-free: the same generated scenario run with and without the tracer gives the
// same verdicts (every probe's outcome, server, client address and error) and leaves the
// same state (iptables counters, conntrack -L, ipvsadm -Lcn and --stats, neighbours).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Host } from "../../src/host.ts";
import { ToolError } from "../../src/tool/tool.ts";
import { params, timeoutMs } from "./config.ts";
import { natConfigArb, natScenario, newHost, play, probeArb, toYaml } from "./world.ts";

const FILTER = [
  "iptables -A FORWARD -p tcp --dport 8080 -j DROP",
  "iptables -A FORWARD -s 10.0.2.0/24 -p tcp --dport 80 -j REJECT",
  "iptables -A FORWARD -s 10.0.1.0/24 -p udp -j REJECT --reject-with icmp-host-prohibited",
  "iptables -I FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
  "iptables -A INPUT -p tcp --dport 80 -j REJECT --reject-with tcp-reset",
  "iptables -A FORWARD -m state --state INVALID -j DROP",
  "iptables -A FORWARD -p tcp -m multiport --dports 80,8080 -m limit --limit 2/min -j ACCEPT",
  "iptables -t raw -A PREROUTING -s 10.0.2.2 -j NOTRACK",
];

const NAMESPACES = ["host", "r", "a", "b", "s1", "s2"];

/** What a user can list afterwards, namespace by namespace. */
function stateOf(host: Host): string {
  const parts: string[] = [];
  for (const ns of NAMESPACES) {
    for (const cmd of ["iptables-save -c", "conntrack -L", "ipvsadm -Lcn", "ipvsadm -Ln --stats", "ip neigh show"]) {
      const line = ns === "host" ? cmd : `ip netns exec ${ns} ${cmd}`;
      let text: string;
      try {
        text = host.exec(line).map((o) => o.stdout).join("");
      } catch (e) {
        if (!(e instanceof ToolError)) throw e;
        text = `error: ${e.message}`;
      }
      parts.push(`$ ${line}\n${text.replace(/^# (Generated|Completed).*\n/gm, "")}`);
    }
  }
  return parts.join("\n");
}

const scenarioArb = fc
  .record({
    nat: natConfigArb,
    filter: fc.subarray(FILTER, { maxLength: 4 }),
    probes: fc.array(probeArb, { minLength: 1, maxLength: 6 }),
    advances: fc.array(fc.constantFrom(0, 0, 1000, 31_000, 121_000), { maxLength: 6 }),
  })
  .map(({ nat, filter, probes, advances }) => natScenario("tracing-is-free counterexample", { ...nat, filter }, probes, advances));

describe("tracing-is-free", () => {
  it(
    "with or without the tracer: the same verdicts and the same state afterwards",
    () => {
      fc.assert(
        fc.property(scenarioArb, (s) => {
          const plain = newHost(false);
          const traced = newHost(true);
          const a = play(plain, s);
          const b = play(traced, s);
          const verdicts = (p: typeof a) => p.probes.map((x) => ({ line: x.line, ...x.rec.result }));
          try {
            expect(verdicts(b)).toEqual(verdicts(a));
            expect(b.errors).toEqual(a.errors);
            expect(stateOf(traced)).toBe(stateOf(plain));
            expect(traced.dp.drops).toBe(plain.dp.drops);
            expect(traced.takeTrace().length).toBeGreaterThan(0);
          } catch (e) {
            throw new Error(`${(e as Error).message}\n--- scenario (compare pktpath run FILE with and without --trace) ---\n${toYaml(s)}`);
          }
        }),
        params(60),
      );
    },
    timeoutMs(15_000),
  );
});
