// The kernel side by side (issue 14): the same generated kube-proxy node loaded and
// changed on this machine's real kernel (a fresh namespace per tool) and in pktpath, in
// the same run: loading the node, one service added, one service removed, one rule
// appended; pktpath / kernel ratios.
//
// Per tool, the inputs are those `pktpath gen kube-proxy` writes (src/gen/):
// - iptables-nft, iptables-legacy: iptables mode's `iptables-restore` of the node; one
//   service added and removed as kube-proxy's partial sync writes it, one
//   `iptables-restore --noflush` each (the service's chains declared, their rules, its
//   KUBE-SERVICES rule inserted; then -D of that rule, -F and -X of its chains); one
//   rule appended with `iptables -t nat -A KUBE-SERVICES ...`.
// - ipset: IPVS mode's `ipset restore` of the node (KUBE-CLUSTER-IP, KUBE-LOOP-BACK,
//   KUBE-NODE-PORT-TCP); one service added / removed is `ipset add` / `ipset del` of its
//   KUBE-CLUSTER-IP element (a set has no rule to append).
// - nft: nftables mode's `nft -f` of the node; one service added / removed is the
//   `nft -f` transaction of kube-proxy's nftables proxier; one rule appended with
//   `nft add rule`.
// - ipvsadm: IPVS mode's node in the QEMU VM of src/realkernel/vm (this machine's kernel
//   has no IPVS): loading is `ipset restore` of its sets, its ClusterIPs on the dummy
//   kube-ipvs0 (kernel: one `ip -batch`; pktpath: the `ip address add` lines in one
//   snapshot, as the node suite loads them) and `ipvsadm -R`; one service added / removed
//   are the node suite's commands (`ip address add`, `ipset add`, `ipvsadm -R` of its
//   lines; `ipvsadm -D -t`, `ipset del`, `ip address del`). The VM boots once per size
//   (runVmScript: no network device, QEMU killed by its PID after the bound) and runs the
//   same timing script as the namespaces do, in a fresh namespace of the VM's kernel, its
//   clock read inside the guest. Under TCG (no KVM here) the guest is many times slower
//   than this machine: the suite times the same busybox loop in the guest and here, and
//   ipset restore of the same input in both, and prints those factors. `ipvsadm -R` sends
//   one netlink message per line, and ipvsadm's libipvs (ipvs_nl_send_message) opens a
//   socket and resolves the IPVS genetlink family for each: the VM's load is mostly that.
//
// Kernel side: everything runs inside `unshare --net --mount --pid --fork --kill-child`
// (a fresh network namespace; /run a private tmpfs, so iptables-legacy's xtables lock is
// the namespace's own), under `timeout -s KILL` and setpriv's parent-death signal, so no
// process outlives its bound or this run. Each operation is one process of the real
// tool, timed by bash ($EPOCHREALTIME) around it: the figure includes starting the
// process, which the "process start" row measures alone (the tool on an empty input).
// pktpath side: Host + defaultLayers, the same command line and input through
// host.exec; inputs the emulator refuses are never run on the kernel.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../src/host.ts";
import { defaultLayers } from "../src/layers.ts";
import { addServiceCommands, delServiceCommands, generateKubeProxy, runStepBatched, SERVICE_PORT, withDeferredView, type KubeProxyMode, type KubeProxyNode } from "../src/gen/index.ts";
import { loadImage, type VmImage } from "../src/realkernel/vm/image.ts";
import { QEMU } from "../src/realkernel/vm/qemu.ts";
import { runVmScript, VM_SCRIPT_DIR, type VmScriptResult } from "../src/realkernel/vm/script.ts";
import { formatIPv4 } from "../src/wire/ipv4.ts";
import { fmtN, gc, progress, table, writeResult } from "./lib.ts";

export type KernelTool = "iptables-nft" | "iptables-legacy" | "ipset" | "nft" | "ipvsadm";
export type KernelOp =
  | "process start"
  | "load: ipset restore"
  | "load: addresses"
  | "load: ipvsadm -R"
  | "load the node"
  | "add a service"
  | "remove a service"
  | "append a rule";
const OPS: KernelOp[] = ["process start", "load: ipset restore", "load: addresses", "load: ipvsadm -R", "load the node", "add a service", "remove a service", "append a rule"];
/** The IPVS node's load, in steps; its "load the node" row is their sum. */
const IPVS_LOAD: KernelOp[] = ["load: ipset restore", "load: addresses", "load: ipvsadm -R"];
const TOOLS: KernelTool[] = ["iptables-nft", "iptables-legacy", "ipset", "nft", "ipvsadm"];

/** One timed operation's inputs: the pktpath command (with its stdin) and the kernel's shell command. */
export interface OpInput {
  op: KernelOp;
  /** pktpath: command line and here-document, run through host.exec; batched: the lines' `ip address add` in one snapshot (runStepBatched). */
  emu: { run: string; stdin?: string; batched?: boolean }[];
  /** The shell command run in the namespace ($D: the directory of input files), or why not. */
  kernel: string | { notApplicable: string };
  /** Input files the kernel command reads (name -> text). */
  files?: Record<string, string>;
  what: string;
}

export interface KernelRow {
  n: number;
  tool: KernelTool;
  op: KernelOp;
  what: string;
  /** ms (median of the repetitions for add / remove), or null when not applicable. */
  pktpathMs: number | null;
  pktpathCpuMs: number | null;
  kernelMs: number | null;
  /** CPU time of the kernel side's process (user + system), ms. */
  kernelCpuMs: number | null;
  /** Why the kernel column is empty ("not run: ..."), or null. */
  kernelNote: string | null;
  /** Rules / elements / lines each side holds after loading, when counted. */
  count?: { what: string; pktpath: number | string; kernel: number | null };
}

const APPEND_IPT = `-t nat -A KUBE-SERVICES -d 10.111.0.1/32 -p tcp -m tcp --dport ${SERVICE_PORT} -j RETURN`;
const APPEND_NFT = `add rule ip kube-proxy services ip daddr 10.111.0.1 tcp dport ${SERVICE_PORT} return`;

function modeOf(tool: KernelTool): KubeProxyMode {
  return tool === "iptables-nft" || tool === "iptables-legacy" ? "iptables" : tool === "nft" ? "nftables" : "ipvs";
}

/** The operations for one tool on node (services n .. n+reps-1 are the ones added and removed). */
export function opsFor(tool: KernelTool, node: KubeProxyNode, reps: number): OpInput[][] {
  const n = node.opts.services;
  const ops: OpInput[][] = [];
  const adds: OpInput[] = [];
  const dels: OpInput[] = [];
  if (tool === "iptables-nft" || tool === "iptables-legacy") {
    const restore = `${tool}-restore`;
    ops.push([{ op: "process start", what: `${restore} --noflush of an empty input`, emu: [{ run: "iptables-restore --noflush", stdin: "" }], kernel: `${restore} --noflush < /dev/null` }]);
    ops.push([{ op: "load the node", what: `${restore} (${node.load[0]!.stdin!.length >> 10} KB)`, emu: [{ run: "iptables-restore", stdin: node.load[0]!.stdin! }], kernel: `${restore} < $D/load`, files: { load: node.load[0]!.stdin! } }]);
    for (let r = 0; r < reps; r++) {
      const a = addServiceCommands(node, n + r)[0]!;
      const d = delServiceCommands(node, n + r)[0]!;
      adds.push({ op: "add a service", what: `${restore} --noflush (its chains and rules)`, emu: [a as { run: string; stdin: string }], kernel: `${restore} --noflush < $D/add${r}`, files: { [`add${r}`]: a.stdin! } });
      dels.push({ op: "remove a service", what: `${restore} --noflush (-D, -F, -X)`, emu: [d as { run: string; stdin: string }], kernel: `${restore} --noflush < $D/del${r}`, files: { [`del${r}`]: d.stdin! } });
    }
    ops.push(adds, dels);
    ops.push([{ op: "append a rule", what: `${tool.replace("-nft", "").replace("-legacy", "")} -A KUBE-SERVICES`, emu: [{ run: `iptables ${APPEND_IPT}` }], kernel: `${tool} ${APPEND_IPT}` }]);
    return ops;
  }
  if (tool === "ipset") {
    const load = node.load.find((s) => s.run === "ipset restore")!.stdin!;
    ops.push([{ op: "process start", what: "ipset restore of an empty input", emu: [{ run: "ipset restore", stdin: "" }], kernel: "ipset restore < /dev/null" }]);
    ops.push([{ op: "load the node", what: `ipset restore (${load.length >> 10} KB)`, emu: [{ run: "ipset restore", stdin: load }], kernel: "ipset restore < $D/load", files: { load } }]);
    for (let r = 0; r < reps; r++) {
      const elem = `${formatIPv4(node.clusterIp(n + r))},tcp:${SERVICE_PORT}`;
      adds.push({ op: "add a service", what: "ipset add KUBE-CLUSTER-IP", emu: [{ run: `ipset add KUBE-CLUSTER-IP ${elem}` }], kernel: `ipset add KUBE-CLUSTER-IP ${elem}` });
      dels.push({ op: "remove a service", what: "ipset del KUBE-CLUSTER-IP", emu: [{ run: `ipset del KUBE-CLUSTER-IP ${elem}` }], kernel: `ipset del KUBE-CLUSTER-IP ${elem}` });
    }
    ops.push(adds, dels);
    ops.push([{ op: "append a rule", what: "-", emu: [], kernel: { notApplicable: "a set has no rules" } }]);
    return ops;
  }
  if (tool === "nft") {
    const load = node.load[0]!.stdin!;
    ops.push([{ op: "process start", what: "nft -f of an empty input", emu: [{ run: "nft -f -", stdin: "" }], kernel: "nft -f /dev/null" }]);
    ops.push([{ op: "load the node", what: `nft -f (${load.length >> 10} KB)`, emu: [{ run: "nft -f -", stdin: load }], kernel: "nft -f $D/load", files: { load } }]);
    for (let r = 0; r < reps; r++) {
      const a = addServiceCommands(node, n + r)[0]!;
      const d = delServiceCommands(node, n + r)[0]!;
      adds.push({ op: "add a service", what: "nft -f (its chains, rules, map elements)", emu: [a as { run: string; stdin: string }], kernel: `nft -f $D/add${r}`, files: { [`add${r}`]: a.stdin! } });
      dels.push({ op: "remove a service", what: "nft -f (elements deleted, chains flushed and deleted)", emu: [d as { run: string; stdin: string }], kernel: `nft -f $D/del${r}`, files: { [`del${r}`]: d.stdin! } });
    }
    ops.push(adds, dels);
    ops.push([{ op: "append a rule", what: "nft add rule ... services", emu: [{ run: `nft ${APPEND_NFT}` }], kernel: `nft ${APPEND_NFT}` }]);
    return ops;
  }
  // ipvsadm (in the VM): the node suite's load steps and service commands.
  const sets = node.load.find((s) => s.run === "ipset restore")!.stdin!;
  const addrLines = node.load.find((s) => s.stdin === undefined && s.run.includes("ip address add"))!.run.split("\n").filter((l) => l.startsWith("ip address add "));
  const load = node.load.find((s) => s.run === "ipvsadm -R")!.stdin!;
  ops.push([{ op: "process start", what: "ipvsadm -R of an empty input", emu: [{ run: "ipvsadm -R", stdin: "" }], kernel: "ipvsadm -R < /dev/null" }]);
  ops.push([{ op: "load: ipset restore", what: `ipset restore (${sets.length >> 10} KB)`, emu: [{ run: "ipset restore", stdin: sets }], kernel: "ipset restore < $D/sets", files: { sets } }]);
  ops.push([
    {
      op: "load: addresses",
      what: `${addrLines.length} ip address add on kube-ipvs0 (kernel: ip -batch; pktpath: one snapshot)`,
      emu: [{ run: addrLines.join("\n"), batched: true }],
      kernel: "ip -batch $D/addrs",
      files: { addrs: addrLines.map((l) => l.slice(3)).join("\n") + "\n" },
    },
  ]);
  ops.push([{ op: "load: ipvsadm -R", what: `ipvsadm -R (${load.length >> 10} KB)`, emu: [{ run: "ipvsadm -R", stdin: load }], kernel: "ipvsadm -R < $D/load", files: { load } }]);
  for (let r = 0; r < reps; r++) {
    const a = addServiceCommands(node, n + r);
    const d = delServiceCommands(node, n + r);
    const files: Record<string, string> = {};
    const sh = (steps: typeof a, name: string) =>
      steps
        .map((s, k) => {
          if (s.stdin === undefined) return s.run;
          files[`${name}.${k}`] = s.stdin;
          return `${s.run} < $D/${name}.${k}`;
        })
        .join(" && ");
    const words = (s: { run: string }) => s.run.split(" ").slice(0, s.run.startsWith("ip ") ? 3 : 2).join(" ");
    adds.push({ op: "add a service", what: a.map(words).join(", "), emu: a.map((s) => ({ run: s.run, stdin: s.stdin })), kernel: sh(a, `add${r}`), files });
    dels.push({ op: "remove a service", what: d.map(words).join(", "), emu: d.map((s) => ({ run: s.run })), kernel: sh(d, `del${r}`) });
  }
  ops.push(adds, dels);
  ops.push([{ op: "append a rule", what: "-", emu: [], kernel: { notApplicable: "IPVS has no rules" } }]);
  return ops;
}

/** Commands before the timed ones (not timed): the IPVS node's dummy device and sysctl. */
function setupFor(tool: KernelTool): { emu: string[]; kernel: string[] } {
  if (tool !== "ipvsadm") return { emu: [], kernel: [] };
  const common = ["sysctl -w net.ipv4.vs.conntrack=1", "ip link add dev kube-ipvs0 type dummy"];
  return { emu: ["modprobe ip_vs", ...common], kernel: common };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** What each side holds after loading, counted the same way on both (a listing's lines). */
function countCommand(tool: KernelTool): { what: string; emu: string; kernel: string; pick: RegExp } | null {
  if (tool === "iptables-nft" || tool === "iptables-legacy") return { what: "rules (-A lines of iptables-save)", emu: "iptables-save", kernel: `${tool}-save`, pick: /^-A /gm };
  if (tool === "ipset") return { what: "elements (add lines of ipset save)", emu: "ipset save", kernel: "ipset save", pick: /^add /gm };
  if (tool === "nft") return { what: "chains (nft list chains)", emu: "nft list chains", kernel: "nft list chains", pick: /^\s*chain /gm };
  return { what: "virtual services (TCP lines of ipvsadm -Ln)", emu: "ipvsadm -Ln", kernel: "ipvsadm -Ln", pick: /^TCP /gm };
}

/** pktpath: each operation through host.exec (wall and CPU ms), in order. Throws when pktpath refuses an input. */
function runEmulator(tool: KernelTool, ops: OpInput[][], label: string): { ms: number[][]; cpu: number[][]; count: number | string | null } {
  const host = new Host({ layers: defaultLayers() });
  for (const c of setupFor(tool).emu) host.exec(c);
  const ms: number[][] = [];
  const cpu: number[][] = [];
  let count: number | string | null = null;
  for (const group of ops) {
    const gms: number[] = [];
    const gcpu: number[] = [];
    for (const op of group) {
      if (!op.emu.length) continue;
      progress(`${label}: pktpath ${op.op}`);
      gc();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (const c of op.emu) {
        if (c.batched) withDeferredView(host, () => runStepBatched(host, { run: c.run }));
        else host.exec(c.run, "host", c.stdin ?? null);
      }
      gms.push(performance.now() - t0);
      const c1 = process.cpuUsage(c0);
      gcpu.push((c1.user + c1.system) / 1000);
      if (op.op === "load the node" || op.op === "load: ipvsadm -R") {
        const cc = countCommand(tool);
        // A failing listing is reported in the count column, not as a failed load.
        if (cc) {
          try {
            count = (host.exec(cc.emu)[0]!.stdout.match(cc.pick) ?? []).length;
          } catch (e) {
            count = `${cc.emu} failed: ${(e as Error).message.split("\n")[0]}`;
          }
        }
      }
    }
    ms.push(gms);
    cpu.push(gcpu);
  }
  return { ms, cpu, count };
}

/** The VM image when it is usable for the IPVS column, or why not (cached per process). */
let vmImage: VmImage | string | undefined;
function vmForIpvs(): VmImage | string {
  if (vmImage !== undefined) return vmImage;
  const img = loadImage();
  if ("missing" in img) vmImage = `not run: no IPVS in this kernel, and ${img.missing} (npm run kernel:setup)`;
  else if (!which(QEMU)) vmImage = `not run: no IPVS in this kernel, and ${QEMU} is not installed (npm run kernel:setup)`;
  else vmImage = img;
  return vmImage;
}

function which(b: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${b}`], { encoding: "utf8", timeout: 5000 }).status === 0;
}

/** Why the real kernel cannot take this tool here, or null. */
export function kernelUnavailable(tool: KernelTool): string | null {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    return tool === "ipvsadm" ? "not run: needs root (no IPVS in this kernel; the VM is run as root only)" : "not run: needs root (a fresh network namespace)";
  }
  if (tool === "ipvsadm") {
    const img = vmForIpvs();
    return typeof img === "string" ? img : null;
  }
  const bins = tool === "iptables-nft" || tool === "iptables-legacy" ? [tool, `${tool}-restore`, `${tool}-save`] : [tool];
  for (const b of [...bins, "unshare", "setpriv", "timeout", "bash", "mount"]) if (!which(b)) return `not run: ${b} is not installed`;
  return null;
}

/**
 * The kernel: one namespace for the tool, each operation timed around its process, in
 * the same order as pktpath's. Returns ms per operation, or why it could not run.
 */
export interface KernelTimes {
  ms: (number | null)[][];
  cpu: (number | null)[][];
  count: number | null;
  /** Why an operation without a time has none. */
  missing: string;
  /** The operation that failed (group, index), when one did. */
  failedAt: [number, number] | null;
}

/** The timing script (bash here, busybox sh in the VM: both have $EPOCHREALTIME and `times`) and its input files. */
export function kernelScript(tool: KernelTool, ops: OpInput[][]): { script: string; files: Record<string, string> } {
  const files: Record<string, string> = {};
  const lines = [
    "set -u",
    "export LC_ALL=C",
    // A private /run: iptables-legacy's lock (/run/xtables.lock) is this namespace's own.
    "mount -t tmpfs tmpfs /run || exit 90",
    // Wall time around the command, and its CPU time (user + system, in the kernel's
    // own code too: nf_tables commits in the process's netlink call) from the shell's `times`.
    't() { times > "$D/c0"; local a=$EPOCHREALTIME; eval "$2" > /dev/null 2> "$D/err" || { echo "FAIL $1 $(head -c 300 "$D/err" | head -1)"; exit 3; }; local b=$EPOCHREALTIME; times > "$D/c1"; echo "T $1 $a $b $(tail -1 "$D/c0") $(tail -1 "$D/c1")"; }',
  ];
  for (const c of setupFor(tool).kernel) lines.push(`${c} > /dev/null || { echo "FAIL setup ${c.replace(/"/g, "")}"; exit 3; }`);
  const cc = countCommand(tool);
  ops.forEach((group, g) =>
    group.forEach((op, k) => {
      Object.assign(files, op.files ?? {});
      if (typeof op.kernel === "string") lines.push(`t ${g}.${k} ${shellQuote(op.kernel)}`);
      if ((op.op === "load the node" || op.op === "load: ipvsadm -R") && cc) lines.push(`echo "C $(${cc.kernel} | grep -c ${shellQuote(cc.pick.source.replace("\\s*", "[[:space:]]*"))})"`);
    }),
  );
  return { script: lines.join("\n") + "\n", files };
}

/** The script's output (T, C and FAIL lines) as times per operation. */
export function parseKernelOutput(out: string, ops: OpInput[][], died: string): KernelTimes {
  const ms: (number | null)[][] = ops.map((g) => g.map(() => null));
  const cpu: (number | null)[][] = ops.map((g) => g.map(() => null));
  // T g.k wall0 wall1 user0 sys0 user1 sys1 (`times`: 0m0.123s)
  for (const m of out.matchAll(/^T (\d+)\.(\d+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)$/gm)) {
    const [g, k] = [Number(m[1]), Number(m[2])];
    ms[g]![k] = (Number(m[4]) - Number(m[3])) * 1000;
    const c = (timesSec(m[7]!) + timesSec(m[8]!) - timesSec(m[5]!) - timesSec(m[6]!)) * 1000;
    cpu[g]![k] = Number.isFinite(c) ? c : null;
  }
  const c = /^C (\d+)$/m.exec(out);
  // What happened to the operations that gave no time: the first failed, or the run died.
  const fail = /^FAIL (\S+) (.*)$/m.exec(out);
  const at = fail && /^(\d+)\.(\d+)$/.exec(fail[1]!);
  const missing = fail ? `failed: ${fail[1] === "setup" ? `setup: ${fail[2]}` : fail[2]!.trim() || "exit status non-zero"}` : died;
  return { ms, cpu, count: c ? Number(c[1]) : null, missing, failedAt: fail ? (at ? [Number(at[1]), Number(at[2])] : [-1, 0]) : null };
}

/** `times`' 0m0.123s as seconds. */
function timesSec(t: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(t);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
}

function runKernel(tool: KernelTool, ops: OpInput[][], label: string, boundS: number): KernelTimes {
  const dir = mkdtempSync(join(tmpdir(), "pktpath-kernel-bench-"));
  try {
    const { script, files } = kernelScript(tool, ops);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, "script.sh"), script);
    progress(`${label}: kernel (${tool} in a fresh namespace, bound ${boundS} s)`);
    const r = spawnSync(
      "setpriv",
      ["--pdeathsig", "KILL", "--", "timeout", "-s", "KILL", String(boundS), "unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--", "bash", join(dir, "script.sh")],
      { encoding: "utf8", timeout: (boundS + 10) * 1000, killSignal: "SIGKILL", env: { ...process.env, D: dir, LC_ALL: "C" }, maxBuffer: 16 << 20 },
    );
    const died =
      r.status === 137 || r.signal === "SIGKILL" || r.status === 124
        ? `not finished: killed after ${boundS} s`
        : r.status !== 0
          ? `failed: ${(r.stderr || r.error?.message || `status ${r.status}`).trim().split("\n")[0]}`
          : "not run: no timing came back";
    return parseKernelOutput(r.stdout ?? "", ops, died);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same busybox sh loop here and in the VM: its wall time (and the shell's CPU time) per run. */
const CAL_LOOP = 100_000;
const CAL_RUNS = 3;
export const CAL_SCRIPT = `cal() { local a=$EPOCHREALTIME; i=0; while [ $i -lt ${CAL_LOOP} ]; do i=$((i+1)); done; local b=$EPOCHREALTIME; echo "L $a $b"; }; for r in ${Array.from({ length: CAL_RUNS }, (_, i) => i).join(" ")}; do cal; done; times > "$D/cal"; echo "S $(head -1 "$D/cal")"`;

export interface Calibration {
  /** Fastest run's wall time, ms. */
  wallMs: number;
  /** The shell's CPU time (user + system) per run, ms. */
  cpuMs: number | null;
}

export function parseCalibration(out: string): Calibration | null {
  const walls = [...out.matchAll(/^L (\S+) (\S+)$/gm)].map((m) => (Number(m[2]) - Number(m[1])) * 1000).filter(Number.isFinite);
  if (!walls.length) return null;
  const s = /^S (\S+) (\S+)$/m.exec(out);
  const cpu = s ? ((timesSec(s[1]!) + timesSec(s[2]!)) * 1000) / walls.length : NaN;
  return { wallMs: Math.min(...walls), cpuMs: Number.isFinite(cpu) ? cpu : null };
}

/** The calibration loop on this machine (busybox sh, the binary the VM image copies). */
function hostCalibration(): Calibration | null {
  if (!existsSync("/usr/bin/busybox")) return null;
  const dir = mkdtempSync(join(tmpdir(), "pktpath-kernel-bench-"));
  try {
    const r = spawnSync("setpriv", ["--pdeathsig", "KILL", "--", "timeout", "-s", "KILL", "120", "/usr/bin/busybox", "sh", "-c", CAL_SCRIPT], {
      encoding: "utf8",
      timeout: 130_000,
      killSignal: "SIGKILL",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", D: dir, LC_ALL: "C" },
    });
    return parseCalibration(r.stdout ?? "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the VM run said about itself, for the notes under the table. */
interface VmRunNote {
  n: number;
  run: Omit<VmScriptResult, "stdout" | "stderr">;
  guest: Calibration | null;
  host: Calibration | null;
}
const vmRuns: VmRunNote[] = [];

/**
 * The image's sh is Debian's static busybox, which runs its own applets (ip, sysctl,
 * mount) before a PATH lookup: functions come first, so these name the real tools.
 */
export const VM_REAL_TOOLS = ["ip() { /usr/bin/ip \"$@\"; }", "sysctl() { /usr/sbin/sysctl \"$@\"; }", "mount() { /usr/bin/mount \"$@\"; }"].join("\n");

/** The IPVS node in the VM: one boot, the calibration loop and then the timing script in a fresh namespace of its kernel. */
function runKernelVm(img: VmImage, n: number, ops: OpInput[][], label: string, boundS: number): KernelTimes {
  const { script, files } = kernelScript("ipvsadm", ops);
  progress(`${label}: kernel (IPVS in the QEMU VM, one boot, bound ${boundS} s + boot)`);
  const host = hostCalibration();
  const r = runVmScript(img, { script: `D=${VM_SCRIPT_DIR}\n${VM_REAL_TOOLS}\n${CAL_SCRIPT}\n${script}`, files, timeoutMs: boundS * 1000 });
  const { stdout, stderr, ...run } = r;
  vmRuns.push({ n, run, guest: parseCalibration(stdout ?? ""), host });
  const died =
    r.stdout === null
      ? `not run: ${r.error}`
      : r.timedOut
        ? `not finished: killed after ${boundS} s in the VM`
        : r.status !== 0
          ? `failed: ${(stderr.trim().split("\n").pop() ?? "") || `status ${r.status}`}`
          : "not run: no timing came back";
  return parseKernelOutput(stdout ?? "", ops, died);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface KernelSuiteOptions {
  sizes: number[];
  endpoints: number;
  reps: number;
  tools?: KernelTool[];
  /** Write bench/results/kernel.json (default true; tests say false). */
  write?: boolean;
}

export function kernelSuite(o: KernelSuiteOptions): { rows: KernelRow[]; text: string } {
  const rows: KernelRow[] = [];
  const tools = o.tools ?? TOOLS;
  const started = new Date().toISOString();
  for (const n of o.sizes) {
    const nodes = new Map<KubeProxyMode, KubeProxyNode>();
    for (const tool of tools) {
      const mode = modeOf(tool);
      if (!nodes.has(mode)) nodes.set(mode, generateKubeProxy({ mode, services: n, endpoints: o.endpoints, podNamespaces: 4, addrsPerPod: 100, probes: false }));
      const node = nodes.get(mode)!;
      const label = `kernel ${tool} N=${fmtN(n)}`;
      const ops = opsFor(tool, node, o.reps);
      let emu: ReturnType<typeof runEmulator> | null = null;
      let emuError: string | null = null;
      try {
        emu = runEmulator(tool, ops, label);
      } catch (e) {
        emuError = (e as Error).message.split("\n")[0]!;
      }
      const unavailable = kernelUnavailable(tool);
      // Only what pktpath accepted runs on the kernel.
      const k = emuError
        ? `not run: pktpath refused the input (${emuError})`
        : (unavailable ??
          (tool === "ipvsadm" ? runKernelVm(vmForIpvs() as VmImage, n, ops, label, Math.max(600, Math.ceil(n / 5))) : runKernel(tool, ops, label, Math.max(300, Math.ceil(n / 20)))));
      const toolRows: KernelRow[] = [];
      const cc = countCommand(tool);
      ops.forEach((group, g) => {
        const op = group[0]!;
        const emuMs = emu && op.emu.length ? median(emu.ms[g]!) : null;
        const emuCpu = emu && op.emu.length ? median(emu.cpu[g]!) : null;
        let kernelMs: number | null = null;
        let kernelCpuMs: number | null = null;
        let kernelNote: string | null = null;
        if (typeof op.kernel !== "string") kernelNote = `n/a: ${op.kernel.notApplicable}`;
        else if (typeof k === "string") kernelNote = k;
        else {
          const xs = k.ms[g]!.filter((x): x is number => x !== null);
          if (xs.length) kernelMs = median(xs);
          else kernelNote = k.failedAt && k.failedAt[0] < g ? "not run: an earlier command failed" : k.missing;
          const cs = k.cpu[g]!.filter((x): x is number => x !== null);
          if (cs.length) kernelCpuMs = median(cs);
        }
        const row: KernelRow = { n, tool, op: op.op, what: op.what, pktpathMs: emuMs, pktpathCpuMs: emuCpu, kernelMs, kernelCpuMs, kernelNote };
        if ((op.op === "load the node" || op.op === "load: ipvsadm -R") && cc && emu?.count != null) row.count = { what: cc.what, pktpath: emu.count, kernel: typeof k === "string" ? null : k.count };
        toolRows.push(row);
      });
      // The IPVS node's load in steps: "load the node" is their sum, after them.
      const steps = toolRows.filter((r) => IPVS_LOAD.includes(r.op));
      if (steps.length) {
        const sum = (f: (r: KernelRow) => number | null) => (steps.every((r) => f(r) !== null) ? steps.reduce((a, r) => a + f(r)!, 0) : null);
        const total: KernelRow = {
          n,
          tool,
          op: "load the node",
          what: "the three load steps above",
          pktpathMs: sum((r) => r.pktpathMs),
          pktpathCpuMs: sum((r) => r.pktpathCpuMs),
          kernelMs: sum((r) => r.kernelMs),
          kernelCpuMs: sum((r) => r.kernelCpuMs),
          kernelNote: steps.find((r) => r.kernelMs === null)?.kernelNote ?? null,
        };
        toolRows.splice(toolRows.indexOf(steps[steps.length - 1]!) + 1, 0, total);
      }
      rows.push(...toolRows);
      if (o.write !== false) writeResult("kernel", { date: started, sizes: o.sizes, endpoints: o.endpoints, reps: o.reps, rows });
      gc();
    }
  }
  return { rows, text: kernelTable(rows, o, vmNotes(rows)) };
}

/** What the VM runs were and how much slower than this machine its guest is. */
function vmNotes(rows: KernelRow[]): string[] {
  const ipvs = rows.filter((r) => r.tool === "ipvsadm");
  if (!ipvs.length) return [];
  if (!vmRuns.length) {
    const why = ipvs.find((r) => r.kernelNote?.startsWith("not run"))?.kernelNote;
    return [`ipvsadm: this machine's kernel has no IPVS; its kernel column comes from the QEMU VM of src/realkernel/vm, which did not run here${why ? ` (${why})` : ""}.`];
  }
  const out: string[] = [];
  for (const v of vmRuns) {
    const accel = v.run.accel === "kvm" ? "KVM" : `TCG software emulation (no KVM: ${v.run.accelNote || "not usable"})`;
    let line =
      `ipvsadm (in VM), N=${fmtN(v.n)}: this machine's kernel has no IPVS, so its kernel column is the QEMU VM of src/realkernel/vm (Debian kernel ${v.run.kernel}, ${accel}, no network device), ` +
      `one boot (QEMU ran ${(v.run.wallMs / 1000).toFixed(0)} s; agent up ${v.run.agentUptime?.toFixed(0) ?? "?"} s after boot), the same timing script in a fresh namespace of the guest's kernel, its clock read in the guest.`;
    if (v.run.accel === "tcg") {
      line += " Under TCG the guest runs many times slower than this machine, so these kernel figures and their ratios are not a real kernel's:";
      if (v.guest && v.host) {
        line +=
          ` the same busybox sh loop (${CAL_LOOP} iterations, fastest of ${CAL_RUNS}) took ${fmtMs(v.guest.wallMs)} in the guest and ${fmtMs(v.host.wallMs)} here ` +
          `(${ratioText(v.guest.wallMs / v.host.wallMs)} wall${v.host.cpuMs ? `; ${ratioText(v.guest.wallMs / v.host.cpuMs)} the host loop's CPU time, ${fmtMs(v.host.cpuMs)}` : ""})`;
      } else line += " (the calibration loop gave no time)";
      const host = rows.find((r) => r.n === v.n && r.tool === "ipset" && r.op === "load the node");
      const guest = rows.find((r) => r.n === v.n && r.tool === "ipvsadm" && r.op === "load: ipset restore");
      if (host?.kernelMs && guest?.kernelMs) line += `; ipset restore of the same input took ${fmtMs(guest.kernelMs)} in the VM and ${fmtMs(host.kernelMs)} on this kernel (${ratioText(guest.kernelMs / host.kernelMs)})`;
      line += ". Divided by such a factor, a VM figure gives only a rough idea of a real kernel's.";
    }
    out.push(line);
  }
  return out;
}

function fmtMs(ms: number | null): string {
  if (ms === null) return "-";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`;
}

export function kernelTable(rows: KernelRow[], o: { endpoints: number; reps: number }, notes: string[] = []): string {
  const body = rows
    .filter((r) => OPS.includes(r.op))
    .map((r) => [
      fmtN(r.n),
      r.tool === "ipvsadm" ? "ipvsadm (in VM)" : r.tool,
      r.op,
      r.what,
      fmtMs(r.pktpathMs),
      r.kernelMs !== null ? fmtMs(r.kernelMs) : (r.kernelNote ?? "-"),
      r.kernelMs !== null && r.pktpathMs !== null ? ratioText(r.pktpathMs / r.kernelMs) : "-",
      r.pktpathCpuMs === null ? "-" : `${fmtMs(r.pktpathCpuMs)} / ${r.kernelCpuMs === null ? "-" : fmtMs(r.kernelCpuMs)}`,
      r.kernelCpuMs !== null && r.pktpathCpuMs !== null && r.kernelCpuMs > 0 ? ratioText(r.pktpathCpuMs / r.kernelCpuMs) : "-",
      r.count ? `${r.count.pktpath} / ${r.count.kernel ?? "-"}` : "",
    ]);
  return table(
    `Kernel side by side — the generated node (${o.endpoints} endpoints per service) on this kernel (a fresh namespace per tool; IPVS in a VM, see below) and in pktpath; wall time of one command ` +
      `(kernel: its process, timed by the shell around it; add / remove: median of ${o.reps}); CPU: pktpath's process / the tool's process (user + system); held after load: pktpath / kernel`,
    ["N", "tool", "operation", "command", "pktpath", "kernel", "pktpath/kernel", "CPU: pktpath / kernel", "CPU ratio", "held after load"],
    body,
  ) + notes.map((l) => `${l}\n`).join("");
}

function ratioText(r: number): string {
  return r >= 10 ? `${r.toFixed(0)}×` : r >= 0.1 ? `${r.toFixed(2)}×` : `${r.toFixed(3)}×`;
}

// npx tsx bench/kernel.ts [--full]: the suite alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const full = process.argv.includes("--full");
  const { text } = kernelSuite({ sizes: full ? [1000, 5000, 20_000] : [1000, 5000], endpoints: 10, reps: 3 });
  process.stderr.write("\n");
  process.stdout.write(text);
}
