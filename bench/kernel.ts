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
// - ipvsadm: IPVS mode's `ipvsadm -R` of the node; one service added by `ipvsadm -R` of
//   its lines, removed by `ipvsadm -D -t`. This kernel has no IPVS, and the QEMU VM
//   (src/realkernel/vm) boots in minutes under TCG: the kernel column says so.
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
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../src/host.ts";
import { defaultLayers } from "../src/layers.ts";
import { addServiceCommands, delServiceCommands, generateKubeProxy, SERVICE_PORT, type KubeProxyMode, type KubeProxyNode } from "../src/gen/index.ts";
import { formatIPv4 } from "../src/wire/ipv4.ts";
import { fmtN, gc, progress, table, writeResult } from "./lib.ts";

export type KernelTool = "iptables-nft" | "iptables-legacy" | "ipset" | "nft" | "ipvsadm";
export type KernelOp = "process start" | "load the node" | "add a service" | "remove a service" | "append a rule";
const OPS: KernelOp[] = ["process start", "load the node", "add a service", "remove a service", "append a rule"];
const TOOLS: KernelTool[] = ["iptables-nft", "iptables-legacy", "ipset", "nft", "ipvsadm"];

/** One timed operation's inputs: the pktpath command (with its stdin) and the kernel's shell command. */
interface OpInput {
  op: KernelOp;
  /** pktpath: command line and here-document, run through host.exec. */
  emu: { run: string; stdin?: string }[];
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
function opsFor(tool: KernelTool, node: KubeProxyNode, reps: number): OpInput[][] {
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
  // ipvsadm
  const load = node.load.find((s) => s.run === "ipvsadm -R")!.stdin!;
  ops.push([{ op: "process start", what: "ipvsadm -R of an empty input", emu: [{ run: "ipvsadm -R", stdin: "" }], kernel: "ipvsadm -R < /dev/null" }]);
  ops.push([{ op: "load the node", what: `ipvsadm -R (${load.length >> 10} KB)`, emu: [{ run: "ipvsadm -R", stdin: load }], kernel: "ipvsadm -R < $D/load", files: { load } }]);
  for (let r = 0; r < reps; r++) {
    const a = addServiceCommands(node, n + r).find((s) => s.run === "ipvsadm -R")!;
    const d = delServiceCommands(node, n + r).find((s) => s.run.startsWith("ipvsadm -D"))!;
    adds.push({ op: "add a service", what: "ipvsadm -R (its virtual service and real servers)", emu: [a as { run: string; stdin: string }], kernel: `ipvsadm -R < $D/add${r}`, files: { [`add${r}`]: a.stdin! } });
    dels.push({ op: "remove a service", what: "ipvsadm -D -t", emu: [{ run: d.run }], kernel: d.run });
  }
  ops.push(adds, dels);
  ops.push([{ op: "append a rule", what: "-", emu: [], kernel: { notApplicable: "IPVS has no rules" } }]);
  return ops;
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
  return null;
}

/** pktpath: each operation through host.exec (wall and CPU ms), in order. Throws when pktpath refuses an input. */
function runEmulator(tool: KernelTool, ops: OpInput[][], label: string): { ms: number[][]; cpu: number[][]; count: number | string | null } {
  const host = new Host({ layers: defaultLayers() });
  if (tool === "ipvsadm") host.exec("modprobe ip_vs");
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
      for (const c of op.emu) host.exec(c.run, "host", c.stdin ?? null);
      gms.push(performance.now() - t0);
      const c1 = process.cpuUsage(c0);
      gcpu.push((c1.user + c1.system) / 1000);
      if (op.op === "load the node") {
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

/** This machine's kernel has no IPVS; the VM (src/realkernel/vm) would take minutes to boot under TCG. */
export const IPVS_NOT_RUN = "not run: no IPVS in this kernel (VM not driven, see below)";
const IPVS_NOTE =
  "ipvsadm: this machine's kernel has no IPVS (ip_vs); real-kernel mode runs IPVS in the QEMU VM of src/realkernel/vm, which boots in minutes under TCG on this machine. The bench does not drive the VM: its kernel column is empty and only pktpath's figures are given.";

/** Why the real kernel cannot take this tool here, or null. */
export function kernelUnavailable(tool: KernelTool): string | null {
  if (tool === "ipvsadm") return IPVS_NOT_RUN;
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not run: needs root (a fresh network namespace)";
  const bins = tool === "iptables-nft" || tool === "iptables-legacy" ? [tool, `${tool}-restore`, `${tool}-save`] : [tool];
  for (const b of [...bins, "unshare", "setpriv", "timeout", "bash", "mount"]) {
    const r = spawnSync("sh", ["-c", `command -v ${b}`], { encoding: "utf8", timeout: 5000 });
    if (r.status !== 0) return `not run: ${b} is not installed`;
  }
  return null;
}

/**
 * The kernel: one namespace for the tool, each operation timed around its process, in
 * the same order as pktpath's. Returns ms per operation, or why it could not run.
 */
interface KernelTimes {
  ms: (number | null)[][];
  cpu: (number | null)[][];
  count: number | null;
  /** Why an operation without a time has none. */
  missing: string;
  /** The operation that failed (group, index), when one did. */
  failedAt: [number, number] | null;
}

function runKernel(tool: KernelTool, ops: OpInput[][], label: string, boundS: number): KernelTimes {
  const dir = mkdtempSync(join(tmpdir(), "pktpath-kernel-bench-"));
  try {
    const lines = [
      "set -u",
      "export LC_ALL=C",
      // A private /run: iptables-legacy's lock (/run/xtables.lock) is this namespace's own.
      "mount -t tmpfs tmpfs /run || exit 90",
      // Wall time around the command, and its CPU time (user + system, in the kernel's
      // own code too: nf_tables commits in the process's netlink call) from bash's `times`.
      't() { times > "$D/c0"; local a=$EPOCHREALTIME; eval "$2" > /dev/null 2> "$D/err" || { echo "FAIL $1 $(head -c 300 "$D/err" | head -1)"; exit 3; }; local b=$EPOCHREALTIME; times > "$D/c1"; echo "T $1 $a $b $(tail -1 "$D/c0") $(tail -1 "$D/c1")"; }',
    ];
    const cc = countCommand(tool);
    ops.forEach((group, g) =>
      group.forEach((op, k) => {
        for (const [name, text] of Object.entries(op.files ?? {})) writeFileSync(join(dir, name), text);
        if (typeof op.kernel === "string") lines.push(`t ${g}.${k} ${shellQuote(op.kernel)}`);
        if (op.op === "load the node" && cc) lines.push(`echo "C $(${cc.kernel} | grep -c ${shellQuote(cc.pick.source.replace("\\s*", "[[:space:]]*"))})"`);
      }),
    );
    writeFileSync(join(dir, "script.sh"), lines.join("\n") + "\n");
    progress(`${label}: kernel (${tool} in a fresh namespace, bound ${boundS} s)`);
    const r = spawnSync(
      "setpriv",
      ["--pdeathsig", "KILL", "--", "timeout", "-s", "KILL", String(boundS), "unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--", "bash", join(dir, "script.sh")],
      { encoding: "utf8", timeout: (boundS + 10) * 1000, killSignal: "SIGKILL", env: { ...process.env, D: dir, LC_ALL: "C" }, maxBuffer: 16 << 20 },
    );
    const out = r.stdout ?? "";
    const ms: (number | null)[][] = ops.map((g) => g.map(() => null));
    const cpu: (number | null)[][] = ops.map((g) => g.map(() => null));
    // T g.k wall0 wall1 user0 sys0 user1 sys1 (bash `times`: 0m0.123s)
    const sec = (t: string) => {
      const m = /^(\d+)m([\d.]+)s$/.exec(t);
      return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
    };
    for (const m of out.matchAll(/^T (\d+)\.(\d+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)$/gm)) {
      const [g, k] = [Number(m[1]), Number(m[2])];
      ms[g]![k] = (Number(m[4]) - Number(m[3])) * 1000;
      const c = (sec(m[7]!) + sec(m[8]!) - sec(m[5]!) - sec(m[6]!)) * 1000;
      cpu[g]![k] = Number.isFinite(c) ? c : null;
    }
    const c = /^C (\d+)$/m.exec(out);
    // What happened to the operations that gave no time: the first failed, or the bound killed the run.
    const fail = /^FAIL (\d+)\.(\d+) (.*)$/m.exec(out);
    const missing = fail
      ? `failed: ${fail[3]!.trim() || "exit status non-zero"}`
      : r.status === 137 || r.signal === "SIGKILL" || r.status === 124
        ? `not finished: killed after ${boundS} s`
        : r.status !== 0
          ? `failed: ${(r.stderr || r.error?.message || `status ${r.status}`).trim().split("\n")[0]}`
          : "not run: no timing came back";
    return { ms, cpu, count: c ? Number(c[1]) : null, missing, failedAt: fail ? [Number(fail[1]), Number(fail[2])] : null };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface KernelSuiteOptions {
  sizes: number[];
  endpoints: number;
  reps: number;
  tools?: KernelTool[];
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
      const k = emuError ? `not run: pktpath refused the input (${emuError})` : unavailable ?? runKernel(tool, ops, label, Math.max(300, Math.ceil(n / 20)));
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
        if (op.op === "load the node" && cc && emu?.count != null) row.count = { what: cc.what, pktpath: emu.count, kernel: typeof k === "string" ? null : k.count };
        rows.push(row);
      });
      writeResult("kernel", { date: started, sizes: o.sizes, endpoints: o.endpoints, reps: o.reps, rows });
      gc();
    }
  }
  return { rows, text: kernelTable(rows, o) };
}

function fmtMs(ms: number | null): string {
  if (ms === null) return "-";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`;
}

export function kernelTable(rows: KernelRow[], o: { endpoints: number; reps: number }): string {
  const body = rows
    .filter((r) => OPS.includes(r.op))
    .map((r) => [
      fmtN(r.n),
      r.tool,
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
    `Kernel side by side — the generated node (${o.endpoints} endpoints per service) on this kernel (a fresh namespace per tool) and in pktpath; wall time of one command ` +
      `(kernel: its process, timed by bash; add / remove: median of ${o.reps}); CPU: pktpath's process / the tool's process (user + system); held after load: pktpath / kernel`,
    ["N", "tool", "operation", "command", "pktpath", "kernel", "pktpath/kernel", "CPU: pktpath / kernel", "CPU ratio", "held after load"],
    body,
  ) + (rows.some((r) => r.tool === "ipvsadm") ? `${IPVS_NOTE}\n` : "");
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
