// differential-kernel: seeded, bounded batches of generated scenarios give the same
// probe outcomes and listings in the emulator and on this machine's kernel (`pktpath
// check`, the namespaces backend of src/realkernel): the two-pod bridge with links down,
// routes, iptables filter and nat rules; and the widened batch of wide.ts (bridges,
// pods, a routed namespace, promisc and hairpin, br_netfilter, DNAT/SNAT/MASQUERADE
// with port ranges and clashes, kube-proxy's mark-and-masquerade, TCP and UDP from
// fixed source ports). Each batch is written as YAML to a temporary directory and
// checked by four `pktpath check --json` processes side by side; a disagreement of the
// widened batch is shrunk (lines and probes dropped while it still disagrees) and
// printed as a scenario.
// Skipped, with the reason, when real-kernel mode cannot run here (not root, or the
// tools `npm run kernel:setup` installs are missing).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { unavailableReason } from "../../src/realkernel/runner.ts";
import type { ScenarioComparison } from "../../src/realkernel/compare.ts";
import { SEED } from "./config.ts";
import { TWO_POD_BRIDGE } from "../helpers.ts";
import { toYaml, type Scenario } from "./world.ts";
import { wideArb, wideScenario } from "./wide.ts";

const COUNT = Number(process.env.PROPS_KERNEL_SCENARIOS ?? 20);
const WIDE_COUNT = Number(process.env.PROPS_KERNEL_WIDE ?? 16);
/** Kernel re-runs the shrinker may spend on one counterexample. */
const SHRINK_RUNS = 8;
// What the plans run (probes and servers are the agent's node processes, not curl, nc or python3).
const TOOLS = ["ip", "iptables", "ping", "conntrack", "bridge"];
const why = unavailableReason(TOOLS);
if (why) console.log(`differential-kernel skipped: ${why}`);

const DN = "ip netns exec netns_dustin";
const LE = "ip netns exec netns_leah";

const variationArb = fc.record({
  links: fc.subarray(["ip link set veth_leah down", `${DN} ip link set veth_ns_dustin down`, "ip link set bridge_home down"], { maxLength: 1 }),
  routes: fc.subarray([`${DN} ip route del default`, "ip route add unreachable 10.0.0.21/32", `${LE} ip route add blackhole 10.0.0.1/32`, `${DN} ip route add prohibit 10.0.0.99/32`], { maxLength: 2 }),
  filter: fc.subarray(
    [
      "iptables -A INPUT -p tcp --dport 8080 -j REJECT",
      "iptables -A INPUT -s 10.0.0.21 -j DROP",
      "iptables -A OUTPUT -p icmp -j DROP",
      `${LE} iptables -A INPUT -p tcp --dport 8080 -j REJECT --reject-with tcp-reset`,
      `${DN} iptables -A OUTPUT -d 10.0.0.21 -j DROP`,
      `${DN} iptables -A INPUT -p icmp -j REJECT`,
      `${LE} iptables -P INPUT DROP`,
      `${LE} iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`,
    ],
    { maxLength: 3 },
  ),
  nat: fc.subarray(
    [
      `${LE} iptables -t nat -A PREROUTING -p tcp --dport 9000 -j REDIRECT --to-ports 8080`,
      "iptables -t nat -A OUTPUT -p tcp -d 10.0.0.99 --dport 80 -j DNAT --to-destination 10.0.0.11:8080",
      `${DN} iptables -t nat -A OUTPUT -p tcp --dport 9999 -j DNAT --to-destination 10.0.0.21:8080`,
      // Not "iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE": on a kernel with
      // br_netfilter built in (CONFIG_BRIDGE_NETFILTER=y) every new namespace starts with
      // bridge-nf-call-iptables=1, so bridged pod-to-pod traffic meets the host's nat
      // table there, which the emulator does only after `modprobe br_netfilter`.
    ],
    { maxLength: 2 },
  ),
  probes: fc.subarray(
    [
      `${DN} curl -m 1 10.0.0.21:8080`,
      `${LE} curl -m 1 10.0.0.11:8080`,
      `${DN} curl -m 1 10.0.0.1:8080`,
      "curl -m 1 10.0.0.11:8080",
      `${LE} curl -m 1 10.0.0.21:9000`,
      `${LE} curl -m 1 10.0.0.11:9000`,
      "curl -m 1 10.0.0.99:80",
      `${DN} curl -m 1 10.0.0.1:9999`,
      `${DN} ping -c 1 -W 1 10.0.0.21`,
      "ping -c 1 -W 1 10.0.0.11",
      `${LE} nc -z -w 1 10.0.0.11 8080`,
    ],
    { minLength: 2, maxLength: 3 },
  ),
});

function scenario(i: number, v: typeof variationArb extends fc.Arbitrary<infer V> ? V : never): Scenario {
  const setup = TWO_POD_BRIDGE.split("\n").filter((l) => l.trim());
  setup.push("python3 -m http.server 8080 &", ...v.routes, ...v.filter, ...v.nat, ...v.links);
  // With a link down, ARP gives up after 3 s: a 1 s limit would race the wall-clock gaps
  // between the kernel's probes (process start-up) against the neighbour's probes, so
  // those probes wait long enough to see the neighbour fail on both sides.
  const probes = v.links.length ? v.probes.map((r) => r.replace(/ -([mWw]) 1 /, " -$1 4 ")) : v.probes;
  return { name: `differential ${i}`, setup, steps: probes.map((run) => ({ run })) };
}

function checkDir(dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
  const tsx = createRequire(import.meta.url).resolve("tsx");
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", tsx, main, "check", "--json", dir], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Writes the batch over four directories and checks them side by side. */
async function checkBatch(root: string, batch: Scenario[]): Promise<{ files: string[]; comparisons: ScenarioComparison[] }> {
  const dirs = [0, 1, 2, 3].map((k) => join(root, String(k)));
  for (const d of dirs) mkdirSync(d, { recursive: true });
  const files = batch.map((s, i) => {
    const f = join(dirs[i % dirs.length]!, `s${String(i).padStart(3, "0")}.yaml`);
    writeFileSync(f, toYaml(s));
    return f;
  });
  const runs = await Promise.all(dirs.filter((_, k) => k < batch.length).map(checkDir));
  const comparisons: ScenarioComparison[] = [];
  for (const r of runs) {
    if (r.code === 2 || !r.stdout.trim().startsWith("[")) throw new Error(`pktpath check stopped (exit ${r.code}): ${r.stderr.trim()}`);
    comparisons.push(...(JSON.parse(r.stdout) as ScenarioComparison[]));
  }
  return { files, comparisons };
}

function describeDisagreement(c: ScenarioComparison): string {
  const rows = c.probes.filter((p) => !p.agree).map((p) => `  line ${p.line}: ${p.command}: emulator ${p.emulator?.outcome ?? "-"} (${p.emulator?.client_ip ?? "-"}), kernel ${p.kernel?.outcome ?? "-"} (${p.kernel?.client_ip ?? "-"})`);
  for (const l of c.listings) if (!l.agree) rows.push(`  line ${l.line}: ${l.command}: the listings differ`);
  if (!c.errorsAgree) rows.push(`  errors: emulator ${c.emulatorError}, kernel ${c.kernelError}`);
  return rows.join("\n");
}

/**
 * Greedy shrinking on the kernel: drop one probe or one optional setup line at a time
 * and keep the smaller scenario while it still disagrees; bounded by SHRINK_RUNS checks.
 */
async function shrink(root: string, s: Scenario): Promise<Scenario> {
  let best = s;
  let runs = 0;
  const candidates = (cur: Scenario): Scenario[] => {
    const out: Scenario[] = [];
    const probes = cur.steps.filter((st) => "run" in st && !/^(ip route|iptables -t nat -L|conntrack -L)/.test(st.run));
    for (const st of probes) out.push({ ...cur, steps: cur.steps.filter((x) => x !== st) });
    for (const line of cur.setup) {
      if (/^(iptables|bridge link|ip link set br\d promisc|modprobe|sysctl -w net.bridge)/.test(line)) out.push({ ...cur, setup: cur.setup.filter((x) => x !== line) });
    }
    return out.filter((c) => c.steps.some((st) => "run" in st && /curl|nc /.test(st.run)));
  };
  let progress = true;
  while (progress && runs < SHRINK_RUNS) {
    progress = false;
    for (const c of candidates(best)) {
      if (runs >= SHRINK_RUNS) break;
      runs++;
      const { comparisons } = await checkBatch(join(root, `shrink${runs}`), [c]);
      if (comparisons[0] && comparisons[0].disagreements > 0) {
        best = c;
        progress = true;
        break;
      }
    }
  }
  return best;
}

// The two batches run side by side: each mostly waits on probes and servers.
describe.concurrent("differential-kernel", () => {
  it.skipIf(why !== null)(
    `${COUNT} generated two-pod scenarios: the emulator and the kernel agree probe by probe`,
    async () => {
      const batch = fc.sample(variationArb, { seed: SEED, numRuns: COUNT }).map((v, i) => scenario(i, v));
      const root = mkdtempSync(join(tmpdir(), "pktpath-props-"));
      try {
        // Four checks side by side: a kernel run mostly waits (servers, time limits).
        const dirs = [0, 1, 2, 3].map((k) => join(root, String(k)));
        for (const d of dirs) mkdirSync(d);
        const files = batch.map((s, i) => {
          const f = join(dirs[i % dirs.length]!, `s${String(i).padStart(3, "0")}.yaml`);
          writeFileSync(f, toYaml(s));
          return f;
        });
        const runs = await Promise.all(dirs.map(checkDir));
        const comparisons: ScenarioComparison[] = [];
        for (const r of runs) {
          if (r.code === 2 || !r.stdout.trim().startsWith("[")) throw new Error(`pktpath check stopped (exit ${r.code}): ${r.stderr.trim()}`);
          comparisons.push(...(JSON.parse(r.stdout) as ScenarioComparison[]));
        }
        const bad = comparisons.filter((c) => c.disagreements > 0);
        const report = bad.map((c) => {
          const rows = c.probes.filter((p) => !p.agree).map((p) => `  line ${p.line}: ${p.command}: emulator ${p.emulator?.outcome ?? "-"} (${p.emulator?.client_ip ?? "-"}), kernel ${p.kernel?.outcome ?? "-"} (${p.kernel?.client_ip ?? "-"})`);
          if (!c.errorsAgree) rows.push(`  errors: emulator ${c.emulatorError}, kernel ${c.kernelError}`);
          return `${c.name}:\n${rows.join("\n")}\n--- scenario ---\n${readFileSync(files[Number(c.name.split(" ")[1])]!, "utf8")}`;
        });
        expect(comparisons.length).toBe(COUNT);
        expect(report.join("\n")).toBe("");
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
    240_000,
  );

  it.skipIf(why !== null)(
    `${WIDE_COUNT} widened scenarios (bridges, promisc, hairpin, br_netfilter, NAT clashes, kube-proxy masquerade, UDP): the emulator and the kernel agree`,
    async () => {
      const batch = fc.sample(wideArb, { seed: SEED, numRuns: WIDE_COUNT }).map((w, i) => wideScenario(i, w));
      const root = mkdtempSync(join(tmpdir(), "pktpath-props-wide-"));
      try {
        const { comparisons } = await checkBatch(root, batch);
        expect(comparisons.length).toBe(WIDE_COUNT);
        const bad = comparisons.filter((c) => c.disagreements > 0 || !c.errorsAgree);
        const report: string[] = [];
        for (const c of bad) report.push(`${c.name}:\n${describeDisagreement(c)}`);
        if (bad.length) {
          // The first counterexample, shrunk, as a scenario to paste into scenarios/.
          const first = batch[Number(bad[0]!.name.split(" ")[1])]!;
          const small = await shrink(root, first);
          report.push(`--- shrunk counterexample (${bad.length} of ${WIDE_COUNT} disagreed) ---\n${toYaml(small, "A counterexample found by differential-kernel (widened batch), shrunk.")}`);
        }
        expect(report.join("\n")).toBe("");
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
    420_000,
  );
});
