// The bench's kernel suite (bench/kernel.ts) without a kernel: its IPVS operations are
// the node suite's commands, its timing script runs under busybox sh (the VM's shell)
// as under bash, what the script prints is read back, and without a VM image the IPVS
// column says why instead of failing.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CAL_SCRIPT, kernelScript, kernelSuite, opsFor, parseCalibration, parseKernelOutput, VM_REAL_TOOLS, type OpInput } from "../../bench/kernel.ts";
import { addServiceCommands, delServiceCommands, generateKubeProxy } from "../../src/gen/index.ts";

const node = generateKubeProxy({ mode: "ipvs", services: 5, endpoints: 2, podNamespaces: 1, addrsPerPod: 20, probes: false });

describe("kernel suite: the IPVS node's operations", () => {
  const ops = opsFor("ipvsadm", node, 2);
  it("loads in three steps and adds / removes a service with the node suite's commands", () => {
    expect(ops.map((g) => g[0]!.op)).toEqual(["process start", "load: ipset restore", "load: addresses", "load: ipvsadm -R", "add a service", "remove a service", "append a rule"]);
    const addrs = ops[2]![0]!;
    expect(addrs.kernel).toBe("ip -batch $D/addrs");
    expect(addrs.files!.addrs!.trim().split("\n")).toEqual([1, 2, 3, 4, 5].map((k) => `address add 10.96.0.${k}/32 dev kube-ipvs0`));
    expect(addrs.emu).toEqual([{ run: [1, 2, 3, 4, 5].map((k) => `ip address add 10.96.0.${k}/32 dev kube-ipvs0`).join("\n"), batched: true }]);
    expect(ops[1]![0]!.files!.sets).toBe(node.load.find((s) => s.run === "ipset restore")!.stdin);
    expect(ops[3]![0]!.files!.load).toBe(node.load.find((s) => s.run === "ipvsadm -R")!.stdin);
    const add = addServiceCommands(node, 6);
    const added = ops[4]![1]!;
    expect(added.emu).toEqual(add.map((s) => ({ run: s.run, stdin: s.stdin })));
    expect(added.kernel).toBe(`${add[0]!.run} && ${add[1]!.run} && ipvsadm -R < $D/add1.2`);
    expect(added.files).toEqual({ "add1.2": add[2]!.stdin });
    const del = delServiceCommands(node, 6);
    expect(ops[5]![1]!.kernel).toBe(del.map((s) => s.run).join(" && "));
    expect(ops[6]![0]!.kernel).toEqual({ notApplicable: "IPVS has no rules" });
  });
  it("the timing script makes the dummy device first, times each command and counts the virtual services after loading", () => {
    const { script, files } = kernelScript("ipvsadm", ops);
    const lines = script.split("\n");
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    expect(at(/^ip link add dev kube-ipvs0 type dummy /)).toBeGreaterThan(0);
    expect(at(/^ip link add/)).toBeLessThan(at(/^t 0\.0 /));
    expect(lines).toContain("t 2.0 'ip -batch $D/addrs'");
    expect(at(/^echo "C \$\(ipvsadm -Ln \| grep -c '\^TCP '\)"$/)).toBe(at(/^t 3\.0 /) + 1);
    expect(Object.keys(files).sort()).toEqual(["add0.2", "add1.2", "addrs", "load", "sets"]);
  });
});

describe("kernel suite: reading the script's output", () => {
  const ops: OpInput[][] = [[{ op: "process start", what: "", emu: [], kernel: "a" }], [{ op: "add a service", what: "", emu: [], kernel: "b" }, { op: "add a service", what: "", emu: [], kernel: "c" }]];
  it("times and CPU per operation; the count", () => {
    const k = parseKernelOutput("T 0.0 10.000000 10.250000 0m0.000s 0m0.000s 0m0.100s 0m0.050s\nT 1.1 11.0 11.5 0m0.100s 0m0.050s 0m1.100s 0m0.050s\nC 42\n", ops, "died");
    expect(k.ms[0]![0]).toBeCloseTo(250, 6);
    expect(k.cpu[0]![0]).toBeCloseTo(150, 6);
    expect(k.ms[1]).toEqual([null, 500]);
    expect(k.cpu[1]![1]).toBeCloseTo(1000, 6);
    expect(k.count).toBe(42);
    expect(k.failedAt).toBeNull();
    expect(k.missing).toBe("died");
  });
  it("a failed command or setup says which and why", () => {
    expect(parseKernelOutput("FAIL 1.0 ipvsadm: no such service\n", ops, "died")).toMatchObject({ failedAt: [1, 0], missing: "failed: ipvsadm: no such service" });
    expect(parseKernelOutput("FAIL setup ip link add dev kube-ipvs0 type dummy\n", ops, "died")).toMatchObject({ failedAt: [-1, 0], missing: "failed: setup: ip link add dev kube-ipvs0 type dummy" });
  });
  it("the calibration loop: the fastest run, the shell's CPU per run", () => {
    expect(parseCalibration("L 1.0 1.5\nL 2.0 2.4\nL 3.0 3.6\nS 0m0.300s 0m0.000s\n")).toEqual({ wallMs: expect.closeTo(400, 6), cpuMs: expect.closeTo(100, 6) });
    expect(parseCalibration("nothing\n")).toBeNull();
  });
});

const root = typeof process.getuid === "function" && process.getuid() === 0;
const canRun = root && existsSync("/usr/bin/busybox") && spawnSync("sh", ["-c", "command -v unshare"]).status === 0;

describe.skipIf(!canRun)("kernel suite: the timing script under busybox sh, as in the VM (a fresh mount and network namespace)", () => {
  it("runs the real tools (not busybox's applets), times commands and the calibration loop", () => {
    const dir = mkdtempSync(join(tmpdir(), "pktpath-kbench-test-"));
    try {
      const ops: OpInput[][] = [[{ op: "process start", what: "", emu: [], kernel: "ip -V | grep -q iproute2" }], [{ op: "add a service", what: "", emu: [], kernel: "sysctl -n net.ipv4.ip_forward" }]];
      const { script } = kernelScript("ipset", ops);
      writeFileSync(join(dir, "s.sh"), `${VM_REAL_TOOLS}\n${CAL_SCRIPT.replace("100000", "1000")}\n${script}`);
      const r = spawnSync("unshare", ["--net", "--mount", "--propagation", "private", "--", "timeout", "-s", "KILL", "60", "/usr/bin/busybox", "sh", join(dir, "s.sh")], {
        encoding: "utf8",
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", D: dir },
        timeout: 70_000,
      });
      expect(r.stderr).toBe("");
      const k = parseKernelOutput(r.stdout, ops, "died");
      expect(k.failedAt).toBeNull();
      expect(k.ms.flat().every((x) => x !== null && x >= 0)).toBe(true);
      expect(parseCalibration(r.stdout)?.wallMs).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 80_000);
});

describe("kernel suite without a VM image", () => {
  it("gives pktpath's IPVS figures and says why the kernel column is empty", () => {
    const empty = mkdtempSync(join(tmpdir(), "pktpath-kbench-novm-"));
    const saved = process.env.PKTPATH_VM_CACHE;
    process.env.PKTPATH_VM_CACHE = empty;
    try {
      const { rows, text } = kernelSuite({ sizes: [20], endpoints: 2, reps: 1, tools: ["ipvsadm"], write: false });
      const ran = rows.filter((r) => r.kernelNote === null || !r.kernelNote.startsWith("n/a"));
      for (const r of ran) expect(r.kernelNote).toMatch(root ? /^not run: no IPVS in this kernel, and the VM image is not built/ : /^not run: needs root/);
      const steps = rows.filter((r) => r.op.startsWith("load: "));
      const total = rows.find((r) => r.op === "load the node")!;
      expect(steps).toHaveLength(3);
      expect(total.pktpathMs).toBeCloseTo(steps.reduce((a, r) => a + r.pktpathMs!, 0), 6);
      expect(rows.indexOf(total)).toBe(rows.indexOf(steps[2]!) + 1);
      expect(rows.find((r) => r.op === "load: ipvsadm -R")!.count).toEqual({ what: "virtual services (TCP lines of ipvsadm -Ln)", pktpath: 20, kernel: null });
      expect(text).toContain("ipvsadm (in VM)");
      expect(text).toMatch(/its kernel column comes from the QEMU VM of src\/realkernel\/vm, which did not run here \(not run: /);
    } finally {
      if (saved === undefined) delete process.env.PKTPATH_VM_CACHE;
      else process.env.PKTPATH_VM_CACHE = saved;
      rmSync(empty, { recursive: true, force: true });
    }
  }, 60_000);
});
