// differential-ipvs: a seeded batch of generated IPVS scenarios (wide-ipvs.ts: NAT and
// direct routing, every scheduler, persistence, TCP and UDP, then `ipvsadm -Ln --stats`
// and `ipvsadm -Lnc`) gives the same probe outcomes and (normalised) listings in the
// emulator and on the VM's kernel. The batch is written as YAML to one temporary
// directory and checked by one `pktpath check --json` process, so the VM boots once
// (prepareVmBatch). A disagreement is printed with its scenario.
// Skipped, with the reason, when not root or when the VM backend is missing (.cache/vm,
// qemu: `npm run kernel:setup`).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { unavailableReason, vmBackend } from "../../src/realkernel/runner.ts";
import type { ScenarioComparison } from "../../src/realkernel/compare.ts";
import { SEED } from "./config.ts";
import { toYaml } from "./world.ts";
import { wideIpvsArb, wideIpvsScenario } from "./wide-ipvs.ts";

const COUNT = Number(process.env.PROPS_KERNEL_IPVS ?? 7);
const vm = vmBackend();
const why = unavailableReason([]) ?? ("missing" in vm ? `the VM backend is missing: ${vm.missing}` : null);
if (why) console.log(`differential-ipvs skipped: ${why}`);

function check(dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
  const tsx = createRequire(import.meta.url).resolve("tsx");
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", tsx, main, "check", "--json", "--quiet", dir], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function describeDisagreement(c: ScenarioComparison): string {
  const rows = c.probes.filter((p) => !p.agree).map((p) => `  line ${p.line}: ${p.command}: emulator ${p.emulator?.outcome ?? "-"} (${p.emulator?.server ?? "-"}, ${p.emulator?.client_ip ?? "-"}), kernel ${p.kernel?.outcome ?? "-"} (${p.kernel?.server ?? "-"}, ${p.kernel?.client_ip ?? "-"})`);
  for (const l of c.listings) if (!l.agree) rows.push(`  line ${l.line}: ${l.command}: the listings differ\n${l.diff.map((d) => `    ${d}`).join("\n")}`);
  if (!c.errorsAgree) rows.push(`  errors: emulator ${c.emulatorError}, kernel ${c.kernelError}`);
  if (c.skipped) rows.push(`  the kernel side did not run: ${c.skipped}`);
  return rows.join("\n");
}

describe("differential-ipvs", () => {
  it.skipIf(why !== null)(
    `${COUNT} generated IPVS scenarios (NAT and DR, every scheduler, -p, TCP and UDP, --stats and -Lnc) in one VM boot: the emulator and the kernel agree`,
    async () => {
      const batch = fc.sample(wideIpvsArb, { seed: SEED, numRuns: COUNT }).map((w, i) => wideIpvsScenario(i, w));
      const root = mkdtempSync(join(tmpdir(), "pktpath-props-ipvs-"));
      try {
        const files = batch.map((s, i) => {
          const f = join(root, `s${String(i).padStart(3, "0")}.yaml`);
          writeFileSync(f, toYaml(s));
          return f;
        });
        const r = await check(root);
        if (r.code === 2 || !r.stdout.trim().startsWith("[")) throw new Error(`pktpath check stopped (exit ${r.code}): ${r.stderr.trim()}`);
        const comparisons = JSON.parse(r.stdout) as ScenarioComparison[];
        expect(comparisons.length).toBe(COUNT);
        const bad = comparisons.filter((c) => c.disagreements > 0 || !c.errorsAgree || c.skipped !== null);
        const report = bad.map((c) => `${c.name}:\n${describeDisagreement(c)}\n--- scenario ---\n${readFileSync(files[Number(c.name.split(" ")[1])]!, "utf8")}`);
        expect(report.join("\n")).toBe("");
        // Something was compared: every scenario's probes and both listings.
        for (const c of comparisons) {
          expect(c.probes.length).toBeGreaterThanOrEqual(4);
          expect(c.listings.length).toBe(2);
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
    330_000,
  );
});
