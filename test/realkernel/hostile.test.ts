// Hostile scenarios in real-kernel mode, run for real as root (CI is root): each is
// refused at its line before anything runs, and nothing appears outside the run's own
// private directories (a canary path that must not exist, the machine's domainname
// unchanged). Skipped without root and unshare.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildReport, spawnInner, unavailableReason, which } from "../../src/realkernel/runner.ts";
import { planScenario } from "../../src/realkernel/plan.ts";
import { loadScenario } from "../../src/scenario/load.ts";
import { run as runBounded } from "../../src/realkernel/inner.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const why = unavailableReason(["ping"]) ?? (which("unshare") ? null : "unshare is missing");
if (why) console.warn(`test/realkernel/hostile.test.ts: real-kernel tests skipped: ${why}`);

function pktpath(args: string[], timeoutMs = 60_000): { code: number | null; out: string; err: string; ms: number } {
  const t = Date.now();
  const r = spawnSync(process.execPath, [join(ROOT, "bin/pktpath.js"), ...args], { encoding: "utf8", timeout: timeoutMs });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: Date.now() - t };
}

/** A private folder for one case: the scenario, and the canary that must never appear. */
function setup(steps: string): { dir: string; file: string; canary: string } {
  const dir = mkdtempSync(join(tmpdir(), "pktpath-hostile-"));
  const canary = join(dir, "canary");
  const file = join(dir, "s.yaml");
  writeFileSync(file, `name: hostile\nsteps:\n${steps.replaceAll("CANARY", canary)}`);
  return { dir, file, canary };
}

const domainname = () => readFileSync("/proc/sys/kernel/domainname", "utf8");

describe.skipIf(why !== null)("hostile scenarios, real kernel", () => {
  it.each([
    ["ip -all netns exec", `  - run: ip netns add x\n  - run: ip -all netns exec sh -c 'touch CANARY'\n`, 4],
    ["ip -all nested under ip netns exec", `  - run: ip netns add x\n  - run: ip netns exec x ip -all netns exec sh -c 'touch CANARY'\n`, 4],
    ["ip -bat - with netns exec sh", `  - run: ip netns add x\n  - run: |\n      ip -bat - <<EOF\n      netns exec x sh -c 'touch CANARY'\n      EOF\n`, 5],
    ["ip netns exec of a shell", `  - run: ip netns add x\n  - run: ip netns exec x sh -c 'touch CANARY'\n`, 4],
    ["iptables-save -f FILE", `  - run: iptables -A INPUT -m comment --comment owned -j ACCEPT\n  - run: iptables-save -f CANARY\n`, 4],
    ["ipset save -file FILE", `  - run: ipset create s hash:ip comment\n  - run: ipset save -file CANARY\n`, 4],
    ["iptables-restore FILE", `  - run: ip link\n  - run: iptables-restore /etc/hostname\n`, 4],
    ["sysctl -p FILE", `  - run: ip link\n  - run: sysctl -p /etc/sysctl.conf\n`, 4],
    ["a command substitution", `  - run: ip link add "$(touch CANARY)" type bridge\n`, 3],
  ])("%s: refused at its line, nothing written", (_name, steps, line) => {
    const { dir, file, canary } = setup(steps);
    for (const mode of [["run", "--kernel"], ["check"]]) {
      const r = pktpath([...mode, file]);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:${line}: `, "m"));
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(existsSync(canary)).toBe(false);
      expect(readdirSync(dir)).toEqual(["s.yaml"]);
    }
  }, 60_000);

  it.each([
    ["net/../kernel/domainname"],
    ["net.//.kernel.domainname"],
    ["net.ipv4/..//..//.kernel.domainname"],
  ])("sysctl -w %s=... is refused, the machine's domainname unchanged", (key) => {
    const before = domainname();
    const { file } = setup(`  - run: ip link\n  - run: sysctl -w ${key}=pktpath-owned\n`);
    for (const mode of [["run", "--kernel"], ["check"]]) {
      const r = pktpath([...mode, file]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${file}:4: `);
      expect(domainname()).toBe(before);
    }
  }, 60_000);

  it("check runs no kernel side when the emulator refuses a later line", () => {
    // Were the kernel side to run, its real `sleep 6` would take 6 s.
    const { file } = setup(`  - run: sleep 6\n  - run: ip link add b0 type bridge\n  - run: ip link add b0 type bridge\n`);
    const r = pktpath(["check", file]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}:5: RTNETLINK answers: File exists`);
    expect(r.ms).toBeLessThan(6000);
  }, 60_000);

  it("a background sleep 300 & neither holds the run nor outlives it", () => {
    const { file } = setup(`  - run: |\n      sleep 300 &\n      ip netns add x\n      ip netns exec x sleep 300 &\n      ip link set lo up\n  - run: ping -c 1 127.0.0.1\n    expect: reply\n`);
    const r = pktpath(["check", file], 60_000);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.ms).toBeLessThan(30_000);
    expect(r.out.trimEnd().split("\n").pop()).toBe("1 passed, 0 failed");
  }, 60_000);

  it("the run's own time limit names the line it stopped at", () => {
    const s = loadScenario("t.yaml", "name: t\nsteps:\n  - run: ip link\n  - run: sleep 8\n  - run: ip link\n");
    const planned = planScenario(s);
    planned.plan.budgetMs = 3000;
    const r = buildReport(s, planned, spawnInner(planned));
    expect(r.error).toMatch(/^t\.yaml:4: real-kernel mode stopped the run: its time limit \(3 s\) ran out while this line ran$/);
  }, 30_000);

  it("check fails a probe where the emulator and the kernel agree but both contradict expect:", () => {
    const { file } = setup(`  - run: curl 127.0.0.1:9\n    expect: timeout\n`);
    const r = pktpath(["check", file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("yes, both FAIL expect timeout");
    expect(r.out.trimEnd().split("\n").pop()).toBe("0 passed, 1 failed");
  }, 60_000);
});

describe("every child is bounded and killed with its group", () => {
  it("a grandchild holding the output pipe does not hold the answer", async () => {
    const t = Date.now();
    const r = await runBounded(["sh", "-c", "sleep 30 & echo started"], 5000);
    expect(r.stdout).toBe("started\n");
    expect(Date.now() - t).toBeLessThan(2500);
  });

  it("a child past its limit is killed, with what it started", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pktpath-bound-"));
    const t = Date.now();
    const r = await runBounded(["sh", "-c", `sleep 30 & echo $! > ${dir}/pid; sleep 30`], 500);
    expect(r.timedOut).toBe(true);
    expect(Date.now() - t).toBeLessThan(2000);
    const pid = Number(readFileSync(join(dir, "pid"), "utf8"));
    await new Promise((res) => setTimeout(res, 100));
    let alive = true;
    try {
      alive = !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
      alive = false;
    }
    expect(alive).toBe(false);
  });
});
