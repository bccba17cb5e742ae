// The hand-written ruleset of test/fixtures/real-nf/_capture_scripts/phase2_rules.sh,
// replayed in the emulator, listed, and compared with what iptables 1.8.9 (nf_tables)
// printed on a real kernel. Counters are left out (the real run had other traffic), and
// so is the rule that needs an ipset.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { Host } from "../../src/host.ts";
import { defaultLayers } from "../../src/layers.ts";
import { run, TWO_POD_BRIDGE } from "../helpers.ts";

const FIX = "test/fixtures/real-nf/";
const script = readFileSync(FIX + "_capture_scripts/phase2_rules.sh", "utf8");
const commands = script
  .split("\n")
  .filter((l) => l.startsWith("tr_ $T host iptables"))
  .map((l) => l.replace(/^tr_ \$T host /, ""))
  .filter((l) => !l.includes("match-set"));

function fixture(name: string): string {
  const text = readFileSync(FIX + name, "utf8");
  return text
    .split("\n")
    .filter((l) => !l.startsWith("#") && !l.includes("match-set"))
    .join("\n");
}

function world(): Host {
  const h = new Host({ layers: defaultLayers() });
  run(h, TWO_POD_BRIDGE);
  for (const c of commands) h.exec(c);
  return h;
}

describe("iptables listings match iptables 1.8.9 (nf_tables) for the phase-2 ruleset", () => {
  const h = world();
  const cases: [string, string][] = [
    ["iptables -nL", "02_rules__host__iptables_nl.txt"],
    ["iptables -L", "02_rules__host__iptables_l.txt"],
    ["iptables -S", "02_rules__host__iptables_s.txt"],
    ["iptables -t nat -S", "02_rules__host__iptables_t_nat_s.txt"],
    ["iptables -t nat -nL", "02_rules__host__iptables_t_nat_nl.txt"],
    ["iptables -t nat -L", "02_rules__host__iptables_t_nat_l.txt"],
    ["iptables -t mangle -S", "02_rules__host__iptables_t_mangle_s.txt"],
    ["iptables -t raw -S", "02_rules__host__iptables_t_raw_s.txt"],
    ["iptables -S INPUT 3", "02_rules__host__iptables_s_input_3.txt"],
    ["iptables -L TEST-CHAIN", "02_rules__host__iptables_l_test_chain.txt"],
  ];
  for (const [cmd, file] of cases) {
    it(cmd, () => {
      const ours = h.exec(cmd)[0]!.stdout;
      expect(ours).toBe(fixture(file));
    });
  }
  it("iptables-save, without its banner lines", () => {
    const ours = h.exec("iptables-save")[0]!.stdout.split("\n").filter((l) => !l.startsWith("#")).join("\n");
    expect(ours).toBe(fixture("02_rules__host__iptables_save.txt"));
  });
});
