// The VM backend for real: scenarios/ipvs/walkthrough.yaml on Debian's kernel in a QEMU
// micro-VM (TCG where KVM does not work: about a minute). Skipped, with the reason
// printed, only when the image is not built (npm run kernel:setup) or not root.
import { describe, expect, it } from "vitest";
import { qemuChildren } from "./qemu-children.ts";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { loadScenario } from "../../../src/scenario/load.ts";
import { chooseBackend, runKernelScenario, vmBackend } from "../../../src/realkernel/runner.ts";

const WALKTHROUGH = fileURLToPath(new URL("../../../scenarios/ipvs/walkthrough.yaml", import.meta.url));
const vm = vmBackend();
const why = typeof process.getuid === "function" && process.getuid() !== 0 ? "not root" : "missing" in vm ? vm.missing : null;
if (why) console.warn(`test/realkernel/vm/vm.test.ts: VM test skipped: ${why}`);


describe("VM backend", () => {
  it("is chosen for the walkthrough (IPVS, dummy links), and says how to build it when missing", () => {
    const s = loadScenario(WALKTHROUGH);
    const none = chooseBackend(s, { vm: { missing: "the VM image is not built: run `npm run kernel:setup`" } });
    expect(none.backend).toBe("none");
    if (none.backend === "none") expect(none.why).toMatch(/needs the VM backend .*IPVS.*npm run kernel:setup/);
    if (!("missing" in vm)) expect(chooseBackend(s).backend).toBe("vm");
  });

  it.skipIf(why !== null)(
    "runs scenarios/ipvs/walkthrough.yaml on Debian's kernel and every expect holds",
    () => {
      const tmpBefore = readdirSync(tmpdir()).filter((d) => d.startsWith("pktpath-vm-"));
      const r = runKernelScenario(loadScenario(WALKTHROUGH));
      expect(r.skipped).toBeNull();
      expect(r.error).toBeNull();
      expect(r.notes[0]).toMatch(/ran in the VM backend: Debian kernel \S+, (KVM|TCG)/);
      expect(r.probes.length).toBe(16);
      expect(r.failed).toBe(0);
      expect(r.passed).toBe(16);
      const ipvs = r.listings.find((l) => l.command === "ipvsadm --list --numeric");
      expect(ipvs?.output).toMatch(/TCP  10\.100\.100\.100:8080 rr/);
      // Nothing left behind: no QEMU, no temp dir.
      expect(qemuChildren()).toEqual([]);
      expect(readdirSync(tmpdir()).filter((d) => d.startsWith("pktpath-vm-"))).toEqual(tmpBefore);
    },
    600_000,
  );
});
