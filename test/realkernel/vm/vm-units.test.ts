// The VM backend without a VM: the per-run archive, the module manifest, the batch's
// serialisation, the console parser, the boot partition and QEMU's argv.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { cpioNewc, readCpioNewc } from "../../../src/realkernel/vm/cpio.ts";
import { parseModuleManifest, vmFeatures } from "../../../src/realkernel/vm/image.ts";
import { batchJson, runArchive } from "../../../src/realkernel/vm/bundle.ts";
import { parseConsole, VM_MARKER } from "../../../src/realkernel/vm/console.ts";
import { modulesLoaded, partitionBoots, planId } from "../../../src/realkernel/vm/backend.ts";
import { qemuArgv } from "../../../src/realkernel/vm/qemu.ts";
import { planScenario } from "../../../src/realkernel/plan.ts";
import { moduleAvailable, linkTypeAvailable, configBuiltIn } from "../../../src/realkernel/features.ts";
import { loadScenario } from "../../../src/scenario/load.ts";
import type { KernelPlan } from "../../../src/realkernel/types.ts";

const MANIFEST = readFileSync(fileURLToPath(new URL("../../../src/realkernel/vm/modules.txt", import.meta.url)), "utf8");
const WALKTHROUGH = fileURLToPath(new URL("../../../scenarios/ipvs/walkthrough.yaml", import.meta.url));

const vmConfig = new Map([
  ["IP_VS", "m"],
  ["IP_VS_RR", "m"],
  ["DUMMY", "m"],
  ["VETH", "m"],
  ["BRIDGE", "m"],
  ["BRIDGE_NETFILTER", "m"],
  ["NET_IPIP", "m"],
  ["NETFILTER_XT_SET", "m"],
]);

describe("cpio newc", () => {
  it("round-trips entries with 4-byte alignment and a trailer", () => {
    const buf = cpioNewc([
      { path: "pktpath", data: null },
      { path: "pktpath/a.json", data: '{"x":1}' },
      { path: "pktpath/b", data: Buffer.from([1, 2, 3]), mode: 0o755 },
    ]);
    expect(buf.length % 4).toBe(0);
    const back = readCpioNewc(buf);
    expect(back.map((e) => e.path)).toEqual(["pktpath", "pktpath/a.json", "pktpath/b"]);
    expect(back[0]!.mode).toBe(0o040755);
    expect(back[1]!.data.toString()).toBe('{"x":1}');
    expect(back[2]!.mode).toBe(0o100755);
    expect(buf.includes(Buffer.from("TRAILER!!!"))).toBe(true);
  });
  it("refuses paths that climb out", () => {
    expect(() => cpioNewc([{ path: "../etc/passwd", data: "x" }])).toThrow(/bad path/);
  });
});

describe("module manifest", () => {
  it("preloads IPVS, its schedulers and dummy; loads br_netfilter only on demand", () => {
    const m = parseModuleManifest(MANIFEST);
    for (const s of ["ip_vs", "rr", "wrr", "lc", "wlc", "sh", "sed", "nq", "dh", "mh", "lblc", "lblcr", "fo", "ovf"]) {
      expect(m.preload).toContain(s === "ip_vs" ? s : `ip_vs_${s}`);
    }
    for (const x of ["dummy", "veth", "bridge", "nf_conntrack", "nf_nat", "ip_set", "xt_set", "xt_MASQUERADE", "libcrc32c"]) expect(m.preload).toContain(x);
    expect(m.preload.indexOf("crc32c_generic")).toBeLessThan(m.preload.indexOf("libcrc32c"));
    expect(m.onDemand).toEqual(["br_netfilter"]);
  });
  it("rejects a malformed line", () => {
    expect(() => parseModuleManifest("ip_vs sometimes\n")).toThrow(/modules.txt:1/);
  });
  it("VM features: image modules as built in, br_netfilter loadable, others absent", () => {
    const f = vmFeatures({ config: vmConfig, preload: ["ip_vs", "dummy"], onDemand: ["br_netfilter"] });
    expect(configBuiltIn("IP_VS", f)).toBe(true);
    expect(linkTypeAvailable("dummy", f)).toBe(true);
    expect(linkTypeAvailable("ipip", f)).toBe(false);
    expect(moduleAvailable("br_netfilter", f)).toBe(false);
    expect(f.onDemand?.has("br_netfilter")).toBe(true);
  });
});

describe("planning the walkthrough for the VM", () => {
  const s = loadScenario(WALKTHROUGH);
  const f = vmFeatures({ config: vmConfig, preload: ["ip_vs", "dummy", "veth", "bridge"], onDemand: ["br_netfilter"] });
  const planned = planScenario(s, f);
  it("needs nothing the VM lacks, and runs modprobe br_netfilter as argv", () => {
    expect(planned.needs).toEqual([]);
    const mp = planned.plan.actions.filter((a) => a.kind === "exec" && a.argv[0] === "modprobe");
    expect(mp.map((a) => (a.kind === "exec" ? a.argv : []))).toEqual([["modprobe", "br_netfilter"]]);
    expect(modulesLoaded(planned.plan)).toEqual(["br_netfilter"]);
  });
  it("serialises the batch as the guest reads it, inside the per-run archive", () => {
    const items = [{ id: planId(planned.plan), plan: planned.plan }];
    const back = JSON.parse(batchJson(items)) as { items: { id: string; plan: KernelPlan }[] };
    expect(back.items[0]!.plan).toEqual(planned.plan);
    const files = readCpioNewc(gunzipSync(runArchive(items)));
    const names = files.map((e) => e.path);
    for (const n of ["pktpath/guest.mjs", "pktpath/batch.json", "pktpath/kernel/inner.mjs", "pktpath/kernel/agent/server.mjs", "pktpath/kernel/agent/probe.mjs", "pktpath/kernel/agent/classify.mjs"]) {
      expect(names).toContain(n);
    }
    expect(JSON.parse(files.find((e) => e.path === "pktpath/batch.json")!.data.toString())).toEqual(back);
  });
});

describe("console parsing", () => {
  it("finds events among BIOS escapes, kernel lines and CRs", () => {
    const result = { probes: [], listings: [], notes: [], error: null };
    const text = [
      "\x1bc\x1b[?7l\x1b[2JSeaBIOS (version 1.16.2)",
      "PKTPATH-VM-BOOTED 6.85\r",
      "PKTPATH-VM-MODULES-FAILED foo bar",
      "PKTPATH-VM-MODULES 7.90",
      `${VM_MARKER}{"event":"agent","uptime":9.1,"kernel":"6.1.0-56-amd64"}\r`,
      `[   12.3] random kernel line ${VM_MARKER}{"event":"result","id":"abc","elapsedMs":5,"result":${JSON.stringify(result)}}`,
      `${VM_MARKER}{"event":"result","id":"cut`,
      `${VM_MARKER}{"event":"done","uptime":30}`,
      "[   30.1] reboot: Power down",
    ].join("\n");
    const c = parseConsole(text);
    expect(c.bootedAt).toBe(6.85);
    expect(c.modulesAt).toBe(7.9);
    expect(c.modulesFailed).toEqual(["foo", "bar"]);
    expect(c.events.map((e) => e.event)).toEqual(["agent", "result", "done"]);
    expect(c.done).toBe(true);
    expect(c.tail.at(-1)).toContain("reboot: Power down");
  });
});

describe("boots and QEMU", () => {
  const plan = (file: string, modprobe: string[]): KernelPlan => ({
    file,
    budgetMs: 1000,
    actions: modprobe.map((m) => ({ kind: "exec", line: 1, text: `modprobe ${m}`, ns: "host", argv: ["modprobe", m], stdin: null, listing: false })),
  });
  it("runs a batch in one boot (the guest unloads what each scenario loaded)", () => {
    const boots = partitionBoots([plan("a", []), plan("b", []), plan("c", ["br_netfilter"]), plan("d", ["br_netfilter"]), plan("e", [])]);
    expect(boots.map((b) => b.map((p) => p.file))).toEqual([["a", "b", "c", "d", "e"]]);
    expect(partitionBoots([])).toEqual([]);
  });
  it("starts QEMU with no network device, no defaults and no reboot", () => {
    const argv = qemuArgv({ vmlinuz: "/x/vmlinuz" }, "/proc/self/fd/3", "tcg");
    expect(argv.join(" ")).toContain("-nic none");
    expect(argv).toContain("-nodefaults");
    expect(argv).toContain("-no-reboot");
    expect(argv.join(" ")).toContain("-accel tcg -cpu max");
    expect(argv).not.toContain("-netdev");
    expect(qemuArgv({ vmlinuz: "/x" }, "/i", "kvm").slice(0, 3)).toEqual(["-enable-kvm", "-cpu", "host"]);
  });
});
