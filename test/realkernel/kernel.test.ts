// Real-kernel mode for real: scenarios/core/two-pod-bridge.yaml in fresh namespaces of
// this machine's kernel. Needs root and unshare (CI has both); skipped otherwise.
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadScenario } from "../../src/scenario/load.ts";
import { main } from "../../src/cli/main.ts";
import { runKernelScenario, unavailableReason, which } from "../../src/realkernel/runner.ts";
import { parseKernelConfig } from "../../src/realkernel/features.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TWO_POD = join(ROOT, "scenarios/core/two-pod-bridge.yaml");
const why = unavailableReason(["ping"]) ?? (which("unshare") ? null : "unshare is missing");
if (why) console.warn(`test/realkernel/kernel.test.ts: real-kernel tests skipped: ${why}`);

function cli(args: string[]): { code: number; out: string; err: string } {
  let out = "";
  let err = "";
  const code = main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

/** Every process under pid (children, grandchildren...), from /proc. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p) out.push(c), walk(c);
  };
  walk(pid);
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe("choosing the backend needs no root", () => {
  it("a scenario that needs IPVS is skipped, never passed", () => {
    const s = loadScenario("ipvs.yaml", "name: ipvs\nsteps:\n  - run: ipvsadm -A -t 10.100.100.100:8080 -s rr\n  - run: curl 10.100.100.100:8080\n    expect: timeout\n");
    // Without the VM image (its own test, test/realkernel/vm/vm.test.ts, runs the VM).
    const r = runKernelScenario(s, { features: { config: parseKernelConfig("CONFIG_BRIDGE=y\n"), sysModules: () => false }, vm: { missing: "the VM image is not built: run `npm run kernel:setup`" } });
    expect(r.skipped).toBe("needs the VM backend (IPVS (ipvsadm): this kernel has no CONFIG_IP_VS), but the VM image is not built: run `npm run kernel:setup`");
    expect([r.passed, r.failed, r.probes.length]).toEqual([0, 0, 0]);
  });
});

describe.skipIf(why !== null)("real kernel, namespaces backend", () => {
  it("runs two-pod-bridge.yaml and every expectation holds", () => {
    const r = runKernelScenario(loadScenario(TWO_POD));
    expect(r.error).toBeNull();
    expect(r.mode).toBe("kernel");
    expect(r.probes.map((p) => [p.line, p.outcome, p.client_ip])).toEqual([
      [39, "netns_dustin", "10.0.0.1"],
      [43, "netns_dustin", "10.0.0.21"],
      [47, "netns_leah", "10.0.0.11"],
      [50, "host", "10.0.0.11"],
      [54, "netns_dustin", "127.0.0.1"],
      [58, "refused", null],
      [62, "reply", null],
      [65, "timeout", null],
    ]);
    expect([r.passed, r.failed]).toEqual([8, 0]);
    expect(r.listings.map((l) => l.command)).toEqual(["ip neigh show", "bridge fdb show br bridge_home"]);
    expect(r.listings[0]!.output).toMatch(/^10\.0\.0\.11 dev bridge_home lladdr \S+ REACHABLE/m);
    // The machine's own namespace never saw any of it.
    expect(existsSync("/run/netns/netns_dustin")).toBe(false);
  }, 60_000);

  it("pktpath run --kernel prints like the emulator and exits 0", () => {
    const r = cli(["run", "--kernel", TWO_POD]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("[kernel]");
    expect(r.out.trimEnd().split("\n").pop()).toBe("8 passed, 0 failed");
  }, 60_000);

  it("pktpath check: every probe of two-pod-bridge.yaml agrees", () => {
    const r = cli(["check", TWO_POD]);
    expect(r.out).toMatch(/line +command +emulator +kernel +server +client address +agree\?/);
    const rows = r.out.split("\n").filter((l) => /^ \d+ /.test(l));
    expect(rows).toHaveLength(8);
    for (const row of rows) expect(row).toMatch(/ yes\s*$/);
  }, 60_000);

  it("a bad command stops the run at its line, worded by the real tool (exit 2)", () => {
    const dir = mkdtempSync(join(tmpdir(), "pktpath-kernel-"));
    writeFileSync(join(dir, "bad.yaml"), "name: bad\nsteps:\n  - run: ip link add dev b0 type bridge\n  - run: ip link add dev b0 type bridge\n  - run: ping -c 1 127.0.0.1\n");
    const r = cli(["run", "--kernel", join(dir, "bad.yaml")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("bad.yaml:4: RTNETLINK answers: File exists");
  }, 60_000);

  it("everything the run made is gone when the run is killed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pktpath-kernel-"));
    const text = readFileSync(TWO_POD, "utf8").split("\n").slice(0, 37).join("\n") + "\n  - advance: 60s\n";
    writeFileSync(join(dir, "long.yaml"), text);
    const child = spawn(process.execPath, [join(ROOT, "bin/pktpath.js"), "run", "--kernel", join(dir, "long.yaml")], { stdio: "ignore" });
    // Wait until the three servers are up inside the run.
    let run: number[] = [];
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      run = descendants(child.pid!);
      if (run.filter((p) => /server\.mjs/.test(cmdline(p))).length === 3) break;
    }
    expect(run.length).toBeGreaterThanOrEqual(5);
    process.kill(child.pid!, "SIGKILL");
    await new Promise((r) => setTimeout(r, 1500));
    expect(run.filter(alive)).toEqual([]);
  }, 60_000);
});
