// From a scenario to the actions the inner runner executes on a real kernel. The plan
// is built from the emulator's own run of the whole scenario: only commands the
// emulator's parsers accepted become actions (an allow-list by construction), each
// from its parsed form, and only when the emulator accepted every line. Each tool's
// argv then passes gate.ts before it may run as root; probes and servers run as
// real-kernel mode's own agents from their parsed specs. Nothing is handed to a shell.
import { parseNc, parsePing, parsePython, parseSleep } from "../commands/probes.ts";
import { FILE_ONLY, HOST_NS, commandKind } from "../commands/vocabulary.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import { parseNftInput } from "../nftables/tool.ts";
import { rebuildNft } from "../nftables/rebuild.ts";
import type { ProbeSpec } from "../dataplane/probe.ts";
import { defaultLayers } from "../layers.ts";
import type { Layer } from "../host.ts";
import { runScenario, type AcceptedCommand } from "../scenario/run.ts";
import { ScenarioError, type AdvanceStep, type Scenario } from "../scenario/types.ts";
import { configBuiltIn, linkTypeAvailable, machineFeatures, moduleAvailable, type KernelFeatures } from "./features.ts";
import { GateRefusal, checkCommand, checkNsName, checkWrapper } from "./gate.ts";
import { EXEC_TIMEOUT_MS, MAX_SLEEP_MS, SERVER_START_MS, probeBoundMs } from "./limits.ts";
import type { KernelAction, KernelPlan, KernelProbeSpec } from "./types.ts";

export { HOST_NS };

export interface PlanResult {
  plan: KernelPlan;
  /** Why the namespaces backend cannot run it (empty: it can). */
  needs: string[];
  /** Executables the run calls (checked before starting). */
  binaries: Set<string>;
}

const acceptedOf = new WeakMap<Scenario, AcceptedCommand[]>();

/**
 * Runs the whole scenario in the emulator and returns the commands it accepted, in
 * order. Bad input (a line the emulator refuses) throws ScenarioError: then nothing of
 * the scenario may run on a kernel.
 */
export function acceptedCommands(s: Scenario, layers?: Layer[]): AcceptedCommand[] {
  // Planned once per scenario (the VM batch and the run itself both ask).
  const known = layers ? undefined : acceptedOf.get(s);
  if (known) return known;
  const out: AcceptedCommand[] = [];
  const report = runScenario(s, { layers: layers ?? defaultLayers(), accepted: (c) => out.push(c) });
  if (report.error !== null) {
    const m = /^(?:.*?):(\d+): ([\s\S]*)$/.exec(report.error.slice(s.file.length));
    throw new ScenarioError(s.file, m ? Number(m[1]) : 0, m ? m[2]! : report.error);
  }
  if (!layers) acceptedOf.set(s, out);
  return out;
}

/** The emulator's parsed probe, every field, addresses as text. */
export function kernelProbe(spec: ProbeSpec, pingArgv: string[] = []): KernelProbeSpec {
  const out: Record<string, unknown> = { pingArgv };
  for (const [k, v] of Object.entries(spec)) out[k] = k.endsWith("addr") && typeof v === "number" ? formatIPv4(v) : v;
  return out as KernelProbeSpec;
}

/** ping: the real binary, argv rebuilt from what was parsed; -W 1 when no limit is given. */
export function pingArgv(argv: string[]): string[] {
  const a = parsePing(argv);
  return ["ping", "-n", "-c", String(a.count), ...(a.limit ?? ["-W", String(a.timeoutMs / 1000)]), ...(a.broadcast ? ["-b"] : []), ...a.extra, formatIPv4(a.addr)];
}

/** What the namespaces backend cannot do for this command (empty: it can). */
function needsOf(inner: string[], f: KernelFeatures): string[] {
  const tool = inner[0]!;
  const out: string[] = [];
  if (tool === "ipvsadm" && !configBuiltIn("IP_VS", f)) out.push("IPVS (ipvsadm): this kernel has no CONFIG_IP_VS");
  let o = 1;
  while (tool === "ip" && o < inner.length && inner[o]!.startsWith("-")) o += ["-n", "-netns", "-f", "-family"].includes(inner[o]!) ? 2 : 1;
  if (tool === "ip" && inner[o] !== undefined && /^l(i(n(k)?)?)?$/.test(inner[o]!) && inner[o + 1] === "add") {
    const t = inner.indexOf("type");
    const type = t >= 0 ? inner[t + 1] : undefined;
    if (type !== undefined && !linkTypeAvailable(type, f)) out.push(`link type ${type}: this kernel has none`);
  }
  if (tool === "sysctl" && inner.some((a) => /^net[./]ipv4[./]vs[./]/.test(a)) && !configBuiltIn("IP_VS", f)) {
    out.push("net.ipv4.vs.* sysctls: this kernel has no CONFIG_IP_VS");
  }
  return out;
}

function modprobeNames(argv: string[]): { names: string[]; remove: boolean } {
  const names: string[] = [];
  let remove = false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-r" || a === "--remove") remove = true;
    else if (a.startsWith("-")) continue;
    else {
      names.push(a.replace(/-/g, "_"));
      if (!argv.includes("-a") && !argv.includes("--all")) break;
    }
  }
  return { names, remove };
}

/** The plan being built: what planScenario() adds to as it walks the accepted commands. */
interface PlanBuilder {
  f: KernelFeatures;
  actions: KernelAction[];
  needs: Set<string>;
  binaries: Set<string>;
  budget: number;
  /** br_netfilter is built into the kernel (not loaded on demand). */
  brnfBuiltin: boolean;
  /** The scenario has loaded br_netfilter (modprobe). */
  brnfLoaded: boolean;
  /** Namespaces that have a bridge, in the order they got one. */
  namespaces: string[];
  /** The scenario's advance: steps, slept where they stand among the commands. */
  advances: AdvanceStep[];
  nextAdvance: number;
}

/** Where a command's actions come from in the scenario. */
interface ActionBase {
  line: number;
  text: string;
  ns: string;
}

function newBuilder(s: Scenario, f: KernelFeatures): PlanBuilder {
  return {
    f,
    actions: [],
    needs: new Set(),
    binaries: new Set(["unshare", "mount", "ip"]),
    budget: 10_000,
    // A kernel with br_netfilter built in has bridge-nf-call-iptables=1 in every namespace
    // from the start; the emulator (like Debian's modular kernel) has it only after
    // `modprobe br_netfilter`. Turn it off until the scenario loads the module.
    brnfBuiltin: moduleAvailable("br_netfilter", f) && !f.onDemand?.has("br_netfilter"),
    brnfLoaded: false,
    namespaces: [],
    advances: s.steps.filter((st): st is AdvanceStep => st.kind === "advance"),
    nextAdvance: 0,
  };
}

/** Adds an action and the time it may take to the run's budget. */
function addAction(b: PlanBuilder, a: KernelAction): void {
  b.actions.push(a);
  if (a.kind === "exec") b.budget += EXEC_TIMEOUT_MS;
  else if (a.kind === "server") b.budget += SERVER_START_MS;
  else if (a.kind === "sleep") b.budget += a.ms;
  else if (a.kind === "probe") b.budget += probeBoundMs(a.probe) + 1000;
}

/** bridge-nf-call-iptables in a namespace, set as the emulator has it. */
function setBrnf(b: PlanBuilder, ns: string, on: boolean, line: number): void {
  const text = `(br_netfilter is built in: bridge-nf-call-iptables=${on ? 1 : 0}${ns !== HOST_NS ? ` in ${ns}` : ""})`;
  addAction(b, { kind: "exec", line, text, ns, argv: ["sysctl", "-q", "-w", `net.bridge.bridge-nf-call-iptables=${on ? 1 : 0}`], stdin: null, listing: false });
}

/** The advance: steps before `line` sleep where they stand. */
function advanceUpTo(b: PlanBuilder, line: number): void {
  while (b.nextAdvance < b.advances.length && b.advances[b.nextAdvance]!.line < line) {
    const st = b.advances[b.nextAdvance++]!;
    if (st.ms > MAX_SLEEP_MS) b.needs.add(`advance: ${st.text} is longer than real-kernel mode sleeps (${MAX_SLEEP_MS / 60_000}m)`);
    addAction(b, { kind: "sleep", line: st.line, text: `advance: ${st.text}`, ns: HOST_NS, ms: st.ms });
  }
}

/** A probe: real-kernel mode's own agent, from the probe the emulator ran. */
function planProbe(b: PlanBuilder, c: AcceptedCommand, base: ActionBase): void {
  const spec = c.output.probe?.spec;
  if (!spec) throw new GateRefusal(`${c.argv[0]}: the emulator ran no probe for it`);
  const ping = spec.kind === "ping";
  if (ping) b.binaries.add("ping");
  addAction(b, { ...base, kind: "probe", rep: c.rep, probe: kernelProbe(spec, ping ? pingArgv(c.argv) : []) });
}

/** A server (nc -l, python3 -m http.server): real-kernel mode's own listener, from the parsed form. */
function planServer(b: PlanBuilder, c: AcceptedCommand, base: ActionBase): void {
  const tool = c.argv[0]!;
  if (tool === "nc" || tool === "netcat") {
    const p = parseNc(c.argv);
    if (p.mode !== "listen") throw new GateRefusal(`${tool}: not a listener`);
    addAction(b, { ...base, kind: "server", proto: p.proto, bind: p.bind ? formatIPv4(p.bind) : null, port: p.port, app: p.app, tool: "nc" });
  } else {
    const p = parsePython(c.argv);
    addAction(b, { ...base, kind: "server", proto: "tcp", bind: p.bind ? formatIPv4(p.bind) : null, port: p.port, app: "http", tool: "python3" });
  }
}

function planSleep(b: PlanBuilder, c: AcceptedCommand, base: ActionBase): void {
  const ms = parseSleep(c.argv);
  // `sleep N &` returns at once: nothing waits, nothing runs.
  if (c.background) return addAction(b, { ...base, kind: "note", note: `not run (a background sleep changes nothing): ${c.text}` });
  if (ms > MAX_SLEEP_MS) b.needs.add(`sleep ${c.argv[1]} is longer than real-kernel mode sleeps (${MAX_SLEEP_MS / 60_000}m)`);
  addAction(b, { ...base, kind: "sleep", ms });
}

/** One accepted command: checked by the gate, then planned by its kind. */
function planCommand(b: PlanBuilder, c: AcceptedCommand): void {
  const base: ActionBase = { line: c.line, text: c.text, ns: c.ns };
  if (c.piped || FILE_ONLY.has(c.argv[0]!)) return addAction(b, { ...base, kind: "note", note: `not run (touches only files): ${c.text}` });
  for (const w of c.wrappers) checkWrapper(w);
  if (c.ns !== HOST_NS) {
    checkNsName(c.ns);
    b.binaries.add("ip");
  }
  switch (commandKind(c.argv, () => true)) {
    case "probe":
      return planProbe(b, c, base);
    case "server":
      return planServer(b, c, base);
    case "sleep":
      return planSleep(b, c, base);
    case "modprobe":
      return planModprobe(b, c, base);
    default:
      return planTool(b, c, base);
  }
}

function planModprobe(b: PlanBuilder, c: AcceptedCommand, base: ActionBase): void {
  const { f } = b;
  const { names, remove } = modprobeNames(c.argv);
  if (remove) {
    b.needs.add(`modprobe -r ${names.join(" ")}: unloading would change the machine's own kernel`);
    return;
  }
  // The VM backend loads what its image carries for loading (br_netfilter): the
  // scenario's modprobe runs there, rebuilt from the parsed names.
  const load = names.filter((n) => !moduleAvailable(n, f) && f.onDemand?.has(n));
  const missing = names.filter((n) => !moduleAvailable(n, f) && !load.includes(n));
  for (const n of missing) b.needs.add(`module ${n}: not built into this kernel, and real-kernel mode loads none on the machine`);
  if (missing.length) return;
  if (load.length) {
    b.binaries.add("modprobe");
    addAction(b, { ...base, ns: HOST_NS, kind: "exec", argv: load.length > 1 ? ["modprobe", "-a", ...load] : ["modprobe", load[0]!], stdin: null, listing: false });
  } else addAction(b, { ...base, kind: "note", note: `${c.text}: built into this kernel, nothing loaded` });
  if (b.brnfBuiltin && !b.brnfLoaded && names.includes("br_netfilter")) {
    // What loading the module does: bridge-nf-call-iptables=1 in every namespace.
    b.brnfLoaded = true;
    for (const n of b.namespaces) setBrnf(b, n, true, c.line);
  }
}

/** A tool's command: its argv as the emulator accepted it (nft's input printed back from the parsed form). */
function planTool(b: PlanBuilder, c: AcceptedCommand, base: ActionBase): void {
  const inner = c.argv;
  checkCommand(inner, c.stdin);
  let stdin = c.stdin;
  if (inner[0] === "nft") {
    const parsed = parseNftInput(inner, stdin);
    if (parsed.args.file !== null) stdin = rebuildNft(parsed.cmds);
  }
  for (const n of needsOf(inner, b.f)) b.needs.add(n);
  b.binaries.add(inner[0]!);
  const status = c.output.status ?? 0;
  addAction(b, { ...base, kind: "exec", argv: inner, stdin, listing: c.alone, ...(status ? { status } : {}) });
  // The first bridge of a namespace: from then on its bridge-nf setting matters.
  if (b.brnfBuiltin && inner[0] === "ip" && inner.includes("bridge") && inner[inner.indexOf("bridge") - 1] === "type" && !b.namespaces.includes(c.ns)) {
    b.namespaces.push(c.ns);
    b.binaries.add("sysctl");
    if (!b.brnfLoaded) setBrnf(b, c.ns, false, c.line);
  }
}

/** Builds the plan; throws ScenarioError (FILE:LINE:) for bad input and for what the gate refuses. */
export function planScenario(s: Scenario, f: KernelFeatures = machineFeatures(), accepted: AcceptedCommand[] = acceptedCommands(s)): PlanResult {
  const b = newBuilder(s, f);
  for (const c of accepted) {
    advanceUpTo(b, c.line);
    try {
      planCommand(b, c);
    } catch (e) {
      if (e instanceof GateRefusal) throw new ScenarioError(s.file, c.line, e.message);
      throw e;
    }
  }
  advanceUpTo(b, Infinity);
  return { plan: { file: s.file, actions: b.actions, budgetMs: b.budget }, needs: [...b.needs], binaries: b.binaries };
}
