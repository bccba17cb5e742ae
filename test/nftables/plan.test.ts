// Real-kernel mode and nft: only `nft -f -` with a here-document runs, and only once our
// parser took all of it; a real file path, or input our parser refuses, stops the plan.
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../src/scenario/load.ts";
import { planScenario } from "../../src/realkernel/plan.ts";
import { parseKernelConfig, type KernelFeatures } from "../../src/realkernel/features.ts";

const FEATURES: KernelFeatures = {
  config: parseKernelConfig("CONFIG_BRIDGE=y\nCONFIG_VETH=y\nCONFIG_NF_TABLES=y\n"),
  sysModules: () => false,
};

function plan(steps: string) {
  return planScenario(loadScenario("t.yaml", `name: t\nsteps:\n${steps}`), FEATURES);
}

describe("nft in real-kernel mode", () => {
  it("runs nft -f - with the here-document our parser took, and nft command lines as parsed", () => {
    const p = plan("  - run: |\n      nft -f - <<EOF\n      table ip t {\n        chain c {\n          type filter hook input priority 0; policy accept;\n          tcp dport 22 accept\n        }\n      }\n      EOF\n  - run: nft add rule ip t c drop\n");
    const ex = p.plan.actions.filter((a) => a.kind === "exec");
    expect(ex.map((a) => (a as { argv: string[] }).argv)).toEqual([["nft", "-f", "-"], ["nft", "add", "rule", "ip", "t", "c", "drop"]]);
    // What nft reads is our parsed form printed back, not the scenario's text.
    expect((ex[0] as { stdin: string | null }).stdin).toBe("table ip t {\n\tchain c {\n\t\ttype filter hook input priority filter; policy accept;\n\t\ttcp dport 22 accept\n\t}\n}\n");
    expect(p.binaries.has("nft")).toBe(true);
  });

  it("refuses nft -f with a real file, and input our parser refuses, before running it", () => {
    // planScenario throws the FILE:LINE: error (ScenarioError): no plan, nothing runs.
    expect(() => plan("  - run: nft -f /etc/nftables.conf\n")).toThrow(/^t\.yaml:3: .*reading a file is not modelled by pktpath/);
    expect(() => plan("  - run: nft add rule ip t c queue\n")).toThrow(/^t\.yaml:3: .*not modelled by pktpath/);
  });
});
