// An IPVS node end to end on a real kernel: `pktpath gen kube-proxy --mode ipvs` is built
// by real-kernel mode in the VM backend (Debian's kernel, QEMU), snapshotted there by the
// snapshot script (snapshotOnKernel: the plan's last, fixed action), imported, and the
// imported scenario is run on both sides (check): every probe agrees, and the endpoints
// pktpath reach lists for each service are exactly the real servers the kernel's own
// connection table (ipvsadm -Lnc) shows after the probes. Two VM boots: a few minutes
// under TCG. Skipped, with the reason printed, when not root or the VM image is not built.
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKubeProxy } from "../../src/gen/kubeproxy.ts";
import { snapshotOnKernel } from "../../src/node/kernel.ts";
import { parseSnapshot } from "../../src/node/format.ts";
import { importSnapshot } from "../../src/node/import.ts";
import { loadScenario } from "../../src/scenario/load.ts";
import { runScenario } from "../../src/scenario/run.ts";
import { defaultLayers } from "../../src/layers.ts";
import { runKernelScenario, vmBackend } from "../../src/realkernel/runner.ts";
import { compareReports } from "../../src/realkernel/compare.ts";
import { main } from "../../src/cli/main.ts";

const vm = vmBackend();
const why = typeof process.getuid === "function" && process.getuid() !== 0 ? "not root" : "missing" in vm ? vm.missing : null;
if (why) console.warn(`test/node/vm.test.ts: VM test skipped: ${why}`);

/** ipvsadm -Lnc: virtual address:port -> the real servers of its connections. */
function connections(listing: string): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const line of listing.split("\n")) {
    // pro expire state source virtual destination
    const f = line.trim().split(/\s+/);
    if (f.length !== 6 || !/^(TCP|UDP)$/.test(f[0]!)) continue;
    out.set(f[4]!, (out.get(f[4]!) ?? new Set()).add(f[5]!));
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

describe.skipIf(why !== null)("a node built in the VM, snapshotted there, imported", () => {
  it("an IPVS kube-proxy node: check of the imported scenario agrees, and reach's endpoints are those the kernel reached", () => {
    const dir = mkdtempSync(join(tmpdir(), "pktpath-node-vm-"));
    const src = join(dir, "kube-proxy-ipvs.yaml");
    writeFileSync(src, generateKubeProxy({ mode: "ipvs", services: 2, endpoints: 2, nodePorts: true, probes: false }).yaml);

    // Boot 1: build the node in the VM and snapshot it there.
    const snap = snapshotOnKernel(loadScenario(src));
    expect(snap.backend).toBe("vm");
    const snapFile = join(dir, "node.json");
    writeFileSync(snapFile, snap.json);
    const parsed = parseSnapshot(snapFile, snap.json);
    expect(parsed.netns.map((n) => n.name).sort()).toEqual(["client", "host", "pod-1"]);
    const imp = importSnapshot(parsed, { listen: true, file: snapFile });
    expect(imp.yaml).toContain("ip link add dev kube-ipvs0 ");
    expect(imp.yaml).toContain("-A -t 10.96.0.1:80 -s rr\n");
    expect(imp.yaml).toContain("create KUBE-CLUSTER-IP hash:ip,port ");
    const nodeFile = join(dir, "node.yaml");
    writeFileSync(nodeFile, imp.yaml);

    // What reach says of the imported node, from the client pod.
    let out = "";
    expect(main(["reach", nodeFile, "--from", "client", "--json"], { out: (s) => (out += s), err: () => {} })).toBe(0);
    const cells = JSON.parse(out).cells as { to: string; endpoints: string[]; outcomes: string[] }[];
    // Two ClusterIPs and two NodePorts on the node's address.
    expect(cells.map((c) => c.to).sort()).toEqual(["10.96.0.1:80", "10.96.0.2:80", "192.168.0.10:30000", "192.168.0.10:30001"]);

    // Boot 2: the imported scenario with probes (rr: as many as endpoints reach each one
    // once) and the kernel's connection table, on both sides.
    const probes = cells.map((c) => `  - run: ip netns exec client curl -m 5 ${c.to}\n    repeat: ${c.endpoints.length}\n`).join("");
    const checkFile = join(dir, "check.yaml");
    writeFileSync(checkFile, `${imp.yaml}${probes}  - run: ipvsadm -Lnc\n`);
    const s = loadScenario(checkFile);
    const emu = runScenario(s, { layers: defaultLayers() });
    const ker = runKernelScenario(s);
    expect(ker.skipped).toBeNull();
    expect(ker.error).toBeNull();
    const c = compareReports(emu, ker);
    expect(c.probes.length).toBe(cells.reduce((n, x) => n + x.endpoints.length, 0));
    expect(c.probes.filter((p) => !p.agree)).toEqual([]);
    for (const p of ker.probes) expect(p.server).toBe("pod-1");

    const listing = ker.listings.find((l) => l.command.startsWith("ipvsadm -Lnc"));
    expect(listing).toBeDefined();
    const kernel = connections(listing!.output);
    for (const cell of cells) {
      expect(cell.outcomes).toEqual(["pod-1"]);
      expect(kernel.get(cell.to)).toEqual([...cell.endpoints].sort());
    }
  }, 900_000);
});
