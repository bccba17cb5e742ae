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
import { ScenarioError, type Scenario } from "../scenario/types.ts";
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

/** Builds the plan; throws ScenarioError (FILE:LINE:) for bad input and for what the gate refuses. */
export function planScenario(s: Scenario, f: KernelFeatures = machineFeatures(), accepted: AcceptedCommand[] = acceptedCommands(s)): PlanResult {
  const actions: KernelAction[] = [];
  const needs = new Set<string>();
  const binaries = new Set<string>(["unshare", "mount", "ip"]);
  let budget = 10_000;

  const add = (a: KernelAction) => {
    actions.push(a);
    if (a.kind === "exec") budget += EXEC_TIMEOUT_MS;
    else if (a.kind === "server") budget += SERVER_START_MS;
    else if (a.kind === "sleep") budget += a.ms;
    else if (a.kind === "probe") budget += probeBoundMs(a.probe) + 1000;
  };

  // A kernel with br_netfilter built in has bridge-nf-call-iptables=1 in every namespace
  // from the start; the emulator (like Debian's modular kernel) has it only after
  // `modprobe br_netfilter`. Turn it off until the scenario loads the module.
  const brnfBuiltin = moduleAvailable("br_netfilter", f) && !f.onDemand?.has("br_netfilter");
  let brnfLoaded = false;
  const namespaces: string[] = [];
  const brnf = (ns: string, on: boolean, line: number) => {
    const text = `(br_netfilter is built in: bridge-nf-call-iptables=${on ? 1 : 0}${ns !== HOST_NS ? ` in ${ns}` : ""})`;
    add({ kind: "exec", line, text, ns, argv: ["sysctl", "-q", "-w", `net.bridge.bridge-nf-call-iptables=${on ? 1 : 0}`], stdin: null, listing: false });
  };

  // Steps are interleaved with the commands by line: an advance: sleeps where it stands.
  const advances = s.steps.filter((st) => st.kind === "advance");
  let nextAdvance = 0;
  const advanceUpTo = (line: number) => {
    while (nextAdvance < advances.length && advances[nextAdvance]!.line < line) {
      const st = advances[nextAdvance++]!;
      if (st.kind !== "advance") continue;
      if (st.ms > MAX_SLEEP_MS) needs.add(`advance: ${st.text} is longer than real-kernel mode sleeps (${MAX_SLEEP_MS / 60_000}m)`);
      add({ kind: "sleep", line: st.line, text: `advance: ${st.text}`, ns: HOST_NS, ms: st.ms });
    }
  };

  for (const c of accepted) {
    advanceUpTo(c.line);
    try {
      planCommand(c);
    } catch (e) {
      if (e instanceof GateRefusal) throw new ScenarioError(s.file, c.line, e.message);
      throw e;
    }
  }
  advanceUpTo(Infinity);

  function planCommand(c: AcceptedCommand): void {
    const base = { line: c.line, text: c.text, ns: c.ns };
    const tool = c.argv[0]!;
    if (c.piped || FILE_ONLY.has(tool)) {
      add({ ...base, kind: "note", note: `not run (touches only files): ${c.text}` });
      return;
    }
    for (const w of c.wrappers) checkWrapper(w);
    if (c.ns !== HOST_NS) {
      checkNsName(c.ns);
      binaries.add("ip");
    }
    switch (commandKind(c.argv, () => true)) {
      case "probe": {
        const spec = c.output.probe?.spec;
        if (!spec) throw new GateRefusal(`${tool}: the emulator ran no probe for it`);
        const ping = spec.kind === "ping";
        if (ping) binaries.add("ping");
        add({ ...base, kind: "probe", rep: c.rep, probe: kernelProbe(spec, ping ? pingArgv(c.argv) : []) });
        return;
      }
      case "server": {
        if (tool === "nc" || tool === "netcat") {
          const p = parseNc(c.argv);
          if (p.mode !== "listen") throw new GateRefusal(`${tool}: not a listener`);
          add({ ...base, kind: "server", proto: p.proto, bind: p.bind ? formatIPv4(p.bind) : null, port: p.port, app: p.app, tool: "nc" });
        } else {
          const p = parsePython(c.argv);
          add({ ...base, kind: "server", proto: "tcp", bind: p.bind ? formatIPv4(p.bind) : null, port: p.port, app: "http", tool: "python3" });
        }
        return;
      }
      case "sleep": {
        const ms = parseSleep(c.argv);
        // `sleep N &` returns at once: nothing waits, nothing runs.
        if (c.background) return add({ ...base, kind: "note", note: `not run (a background sleep changes nothing): ${c.text}` });
        if (ms > MAX_SLEEP_MS) needs.add(`sleep ${c.argv[1]} is longer than real-kernel mode sleeps (${MAX_SLEEP_MS / 60_000}m)`);
        add({ ...base, kind: "sleep", ms });
        return;
      }
      case "modprobe":
        return planModprobe(c, base);
      default:
        return planTool(c, base);
    }
  }

  function planModprobe(c: AcceptedCommand, base: { line: number; text: string; ns: string }): void {
    const { names, remove } = modprobeNames(c.argv);
    if (remove) {
      needs.add(`modprobe -r ${names.join(" ")}: unloading would change the machine's own kernel`);
      return;
    }
    // The VM backend loads what its image carries for loading (br_netfilter): the
    // scenario's modprobe runs there, rebuilt from the parsed names.
    const load = names.filter((n) => !moduleAvailable(n, f) && f.onDemand?.has(n));
    const missing = names.filter((n) => !moduleAvailable(n, f) && !load.includes(n));
    for (const n of missing) needs.add(`module ${n}: not built into this kernel, and real-kernel mode loads none on the machine`);
    if (missing.length) return;
    if (load.length) {
      binaries.add("modprobe");
      add({ ...base, ns: HOST_NS, kind: "exec", argv: load.length > 1 ? ["modprobe", "-a", ...load] : ["modprobe", load[0]!], stdin: null, listing: false });
    } else add({ ...base, kind: "note", note: `${c.text}: built into this kernel, nothing loaded` });
    if (brnfBuiltin && !brnfLoaded && names.includes("br_netfilter")) {
      // What loading the module does: bridge-nf-call-iptables=1 in every namespace.
      brnfLoaded = true;
      for (const n of namespaces) brnf(n, true, c.line);
    }
  }

  function planTool(c: AcceptedCommand, base: { line: number; text: string; ns: string }): void {
    const inner = c.argv;
    checkCommand(inner, c.stdin);
    // nft -f -: what nft reads is the input printed back from our parsed form.
    let stdin = c.stdin;
    if (inner[0] === "nft") {
      const parsed = parseNftInput(inner, stdin);
      if (parsed.args.file !== null) stdin = rebuildNft(parsed.cmds);
    }
    for (const n of needsOf(inner, f)) needs.add(n);
    binaries.add(inner[0]!);
    const status = c.output.status ?? 0;
    add({ ...base, kind: "exec", argv: inner, stdin, listing: c.alone, ...(status ? { status } : {}) });
    // The first bridge of a namespace: from then on its bridge-nf setting matters.
    if (brnfBuiltin && inner[0] === "ip" && inner.includes("bridge") && inner[inner.indexOf("bridge") - 1] === "type" && !namespaces.includes(c.ns)) {
      namespaces.push(c.ns);
      binaries.add("sysctl");
      if (!brnfLoaded) brnf(c.ns, false, c.line);
    }
  }

  return { plan: { file: s.file, actions, budgetMs: budget }, needs: [...needs], binaries };
}
