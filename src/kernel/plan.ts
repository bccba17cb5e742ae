// From a loaded scenario to the actions the inner runner executes on a real kernel.
// Every line goes through splitLine (the only tokenizer); only commands understood here
// become actions, each rebuilt from its parsed argv and later run with execFile/spawn,
// never through a shell. Probe and server options are those of commands/probes.ts.
import { splitLine, ShellSyntaxError, type ShellCommand } from "../commands/shell.ts";
import {
  parseCurl as sharedCurl,
  parseNc as sharedNc,
  parsePing as sharedPing,
  parsePython as sharedPython,
  parseSleep as sharedSleep,
  parseWget as sharedWget,
} from "../commands/probes.ts";
import { ToolError } from "../commands/tool.ts";
import type { BindArgs } from "../commands/probes.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import { isProbe } from "../scenario/run.ts";
import { ScenarioError, type Scenario } from "../scenario/types.ts";
import { configBuiltIn, linkTypeAvailable, machineFeatures, moduleAvailable, type KernelFeatures } from "./features.ts";
import type { KernelAction, KernelPlan, KernelProbeSpec, ServerApp } from "./types.ts";

export const HOST_NS = "host";

/** Tools run as themselves, from their parsed argv (SCENARIOS.md "Commands"). */
const EXEC_TOOLS = new Set(["ip", "bridge", "sysctl", "iptables", "iptables-save", "iptables-restore", "ipset", "conntrack", "ipvsadm"]);
/** Same list as the emulator's host.ts: accepted, reported, not run. */
export const FILE_ONLY = new Set(["mkdir", "echo", "tee", "touch", "cat", "rm", "cp", "mv", "chmod", "ln", "true", ":"]);

/** Upper bounds the inner runner enforces, summed into the run's budget. */
export const EXEC_TIMEOUT_MS = 10_000;
export const SERVER_START_MS = 5_000;
/** Node's start-up inside `ip netns exec`, on top of a probe's own limit. */
export const PROBE_SLACK_MS = 3_000;
/** Longest `advance:` / `sleep` real-kernel mode will sleep through. */
export const MAX_SLEEP_MS = 15 * 60_000;

/** A command the planner rejects with the real tool's words: the run stops there. */
class ToolReject extends Error {}

export interface PlanResult {
  plan: KernelPlan;
  /** Why the namespaces backend cannot run it (empty: it can). */
  needs: string[];
  /** Executables the run calls (checked before starting). */
  binaries: Set<string>;
  /** The first command our parsers refused: actions stop before it. */
  failure: { line: number; message: string } | null;
}

/** `[sudo] [ip netns exec NS]... CMD` -> the namespace and CMD. */
export function unwrap(argv: string[]): { ns: string; inner: string[]; wrapped: string[] } {
  let a = argv;
  while (a[0] === "sudo") a = a.slice(1);
  const wrapped = a;
  let ns = HOST_NS;
  for (;;) {
    while (a[0] === "sudo") a = a.slice(1);
    if (a[0] === "ip" && a[1] === "netns" && a[2] === "exec" && a.length > 4) {
      ns = a[3]!;
      a = a.slice(4);
    } else return { ns, inner: a, wrapped };
  }
}

const NS_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

function spec(kind: KernelProbeSpec["kind"], daddr: number, dport: number, timeoutMs: number, bind: BindArgs = {}): KernelProbeSpec {
  const s: KernelProbeSpec = { kind, daddr: formatIPv4(daddr), dport, timeoutMs, count: 1, pingArgv: [] };
  // Where the client binds (nc -s/-p, curl --interface/--local-port), as the emulator's ProbeSpec has it.
  if (bind.saddr !== undefined) s.saddr = formatIPv4(bind.saddr);
  if (bind.sport !== undefined) s.sport = bind.sport;
  if (bind.sportMax !== undefined) s.sportMax = bind.sportMax;
  if (bind.iface !== undefined) s.iface = bind.iface;
  return s;
}

/** The command parsers the emulator's tools use; their errors stop the plan at that line. */
function shared<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ToolError) throw new ToolReject(e.message);
    throw e;
  }
}

export function parseCurl(argv: string[]): KernelProbeSpec {
  const a = shared(() => sharedCurl(argv));
  return spec("http", a.addr, a.port, a.timeoutMs, a);
}

export function parseWget(argv: string[]): KernelProbeSpec {
  const a = shared(() => sharedWget(argv));
  return spec("http", a.addr, a.port, a.timeoutMs);
}

/** ping: the real binary, with its argv rebuilt from what was parsed; -W 1 when no limit is given. */
export function parsePing(argv: string[]): KernelProbeSpec {
  const a = shared(() => sharedPing(argv));
  const daddr = formatIPv4(a.addr);
  const pingArgv = ["ping", "-n", "-c", String(a.count), ...(a.limit ?? ["-W", String(a.timeoutMs / 1000)]), ...(a.broadcast ? ["-b"] : []), ...a.extra, daddr];
  return { kind: "ping", daddr, dport: 0, timeoutMs: a.timeoutMs, count: a.count, pingArgv };
}

/** ping's own interval (-i, 1 s by default) for the run's bound. */
export function pingIntervalMs(p: KernelProbeSpec): number {
  const i = p.pingArgv.indexOf("-i");
  return i >= 0 ? Math.round(Number(p.pingArgv[i + 1]) * 1000) : 1000;
}

export type NcParse = { mode: "probe"; probe: KernelProbeSpec } | { mode: "listen"; proto: "tcp" | "udp"; bind: string | null; port: number; app: ServerApp };

export function parseNc(argv: string[]): NcParse {
  const a = shared(() => sharedNc(argv));
  if (a.mode === "listen") return { mode: "listen", proto: a.proto, bind: a.bind ? formatIPv4(a.bind) : null, port: a.port, app: a.app };
  return { mode: "probe", probe: spec(a.kind, a.addr, a.port, a.timeoutMs, a) };
}

export function parsePython(argv: string[]): { bind: string | null; port: number } {
  const a = shared(() => sharedPython(argv));
  return { bind: a.bind ? formatIPv4(a.bind) : null, port: a.port };
}

function parseSleep(argv: string[]): number {
  return shared(() => sharedSleep(argv));
}

function checkNsName(v: string | undefined): void {
  // Only names under the run's own /run/netns: never a PID or a path (PID 1 or
  // /proc/1/ns/net would be the machine's own namespace).
  if (v === undefined || !NS_NAME.test(v) || /^\d+$/.test(v)) {
    throw new ToolReject(`pktpath: real-kernel mode uses only namespaces the scenario made by name, not "${v ?? ""}"`);
  }
}

/** One `ip` invocation, and the one it execs (ip netns exec NS ip ...). */
function checkIp(a: string[]): void {
  let i = 1;
  for (; i < a.length && a[i]!.startsWith("-"); i++) {
    const o = a[i]!;
    if (o === "-n" || o === "-netns" || o === "--netns") checkNsName(a[++i]);
    else if (o === "-b" || o === "-batch" || o === "--batch") throw new ToolReject("pktpath: real-kernel mode does not run ip -batch (commands from a file)");
    else if (o === "-f" || o === "-family" || o === "-rc" || o === "-rcvbuf" || o === "-l" || o === "-loops") i++;
  }
  if (a[i] === "netns") {
    const sub = a[i + 1];
    if (sub === "attach" || sub === "set") throw new ToolReject(`pktpath: real-kernel mode does not run "ip netns ${sub}" (it names a process's namespace)`);
    if (sub === "exec" || sub === "add" || sub === "del" || sub === "delete") checkNsName(a[i + 2]);
    if (sub === "exec" && a[i + 3] === "ip") checkIp(a.slice(i + 3));
    return;
  }
  for (let j = i + 1; j < a.length; j++) if (a[j] === "netns") checkNsName(a[j + 1]);
}

/**
 * Safety checks on a tool's argv (wrappers included) before it may run as root:
 * nothing may reach outside the run's namespaces or run another program.
 */
export function checkSafety(wrapped: string[], inner: string[]): void {
  if (wrapped[0] === "ip") checkIp(wrapped);
  const tool = inner[0]!;
  if (tool === "bridge" && inner.some((a) => a === "-b" || a === "-batch" || a === "--batch")) {
    throw new ToolReject("pktpath: real-kernel mode does not run bridge -batch (commands from a file)");
  }
  if (tool.startsWith("iptables") && inner.some((a) => a.startsWith("--modprobe") || a === "-M")) {
    throw new ToolReject(`pktpath: real-kernel mode does not run ${tool} --modprobe (it runs another program)`);
  }
  if (tool === "sysctl") {
    for (let i = 1; i < inner.length; i++) {
      const a = inner[i]!;
      if (a === "-p" || a === "--load" || a.startsWith("--load=") || a === "--system" || a === "-f") {
        throw new ToolReject(`pktpath: real-kernel mode does not run sysctl ${a} (it reads settings from files)`);
      }
      if (a === "-r" || a === "--pattern") i++;
      else if (!a.startsWith("-") && a.includes("=") && !/^net[./]/.test(a)) {
        throw new ToolReject(`pktpath: real-kernel mode writes only net.* sysctls (they belong to the run's namespace), not ${a}`);
      }
    }
  }
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
    else if (["-a", "--all", "-q", "--quiet", "-v", "--verbose", "-b"].includes(a)) continue;
    else if (a.startsWith("-")) throw new ToolReject(`modprobe: ERROR: unknown option ${a}`);
    else {
      names.push(a.replace(/-/g, "_"));
      if (!argv.includes("-a") && !argv.includes("--all")) break;
    }
  }
  if (!names.length) throw new ToolReject("modprobe: ERROR: missing parameters. See -h.");
  return { names, remove };
}

/** Checks as scenario/run.ts validateScenario does: shell syntax and where expect may stand. */
function splitChecked(file: string, line: number, text: string): ShellCommand[] {
  try {
    return splitLine(text);
  } catch (e) {
    if (e instanceof ShellSyntaxError) throw new ScenarioError(file, line, `syntax error: ${e.message}`);
    throw e;
  }
}

function known(name: string): boolean {
  return EXEC_TOOLS.has(name) || FILE_ONLY.has(name) || ["modprobe", "sleep", "curl", "wget", "nc", "netcat", "ping", "python3", "python"].includes(name);
}

export function planScenario(s: Scenario, f: KernelFeatures = machineFeatures()): PlanResult {
  // First pass: what the emulator's validateScenario rejects before anything runs.
  for (const step of s.steps) {
    if (step.kind !== "run") continue;
    let probes = 0;
    let commands = 0;
    for (const cl of step.commands) {
      for (const c of splitChecked(s.file, cl.line, cl.text)) {
        commands++;
        const name = unwrap(c.argv).inner[0] ?? "";
        if (!c.piped && !known(name)) throw new ScenarioError(s.file, cl.line, `${name}: command not found`);
        if (isProbe(c.argv)) probes++;
      }
    }
    if ((step.expect || step.repeat > 1) && (commands !== 1 || probes !== 1)) {
      throw new ScenarioError(s.file, step.line, `${step.expect ? "expect:" : "repeat:"} needs a run: of exactly one probe command (curl, wget, nc, ping)`);
    }
  }

  const actions: KernelAction[] = [];
  const needs = new Set<string>();
  const binaries = new Set<string>(["unshare", "mount", "ip"]);
  let failure: PlanResult["failure"] = null;
  let budget = 10_000;

  const add = (a: KernelAction) => {
    actions.push(a);
    if (a.kind === "exec") budget += EXEC_TIMEOUT_MS;
    else if (a.kind === "server") budget += SERVER_START_MS;
    else if (a.kind === "sleep") budget += a.ms;
    else if (a.kind === "probe") {
      const p = a.probe;
      budget += p.kind === "ping" ? (p.count - 1) * pingIntervalMs(p) + p.timeoutMs + PROBE_SLACK_MS : p.timeoutMs + PROBE_SLACK_MS + 1000;
    }
  };

  // A kernel with br_netfilter built in has bridge-nf-call-iptables=1 in every namespace
  // from the start; the emulator (like Debian's modular kernel) has it only after
  // `modprobe br_netfilter`. Turn it off until the scenario loads the module.
  const brnfBuiltin = moduleAvailable("br_netfilter", f) && !f.onDemand?.has("br_netfilter");
  let brnfLoaded = false;
  const namespaces: string[] = [];
  const brnf = (ns: string | null, on: boolean, line: number) => {
    const set = ["sysctl", "-q", "-w", `net.bridge.bridge-nf-call-iptables=${on ? 1 : 0}`];
    add({ kind: "exec", line, text: `(br_netfilter is built in: bridge-nf-call-iptables=${on ? 1 : 0}${ns ? ` in ${ns}` : ""})`, ns: ns ?? HOST_NS, argv: ns ? ["ip", "netns", "exec", ns, ...set] : set, stdin: null, listing: false });
  };

  outer: for (const step of s.steps) {
    if (step.kind === "advance") {
      if (step.ms > MAX_SLEEP_MS) needs.add(`advance: ${step.text} is longer than real-kernel mode sleeps (${MAX_SLEEP_MS / 60_000}m)`);
      add({ kind: "sleep", line: step.line, text: `advance: ${step.text}`, ns: HOST_NS, ms: step.ms });
      continue;
    }
    for (const cl of step.commands) {
      for (let rep = 0; rep < step.repeat; rep++) {
        for (const c of splitChecked(s.file, cl.line, cl.text)) {
          try {
            planCommand(c, cl.line, cl.text, rep, step.commands.length === 1, cl.stdin ?? null);
          } catch (e) {
            if (!(e instanceof ToolReject)) throw e;
            failure = { line: cl.line, message: e.message };
            break outer;
          }
        }
      }
    }
  }

  function planCommand(c: ShellCommand, line: number, text: string, rep: number, listing: boolean, stdin: string | null): void {
    const { ns, inner, wrapped } = unwrap(c.argv);
    const tool = inner[0];
    if (tool === undefined) return;
    if (ns !== HOST_NS) binaries.add("ip");
    if (c.piped || FILE_ONLY.has(tool)) {
      if (!FILE_ONLY.has(tool)) throw new ToolReject(`${tool}: pipes and redirections are modelled only for commands that touch files`);
      add({ kind: "note", line, text, ns, note: `not run (touches only files): ${text}` });
      return;
    }
    checkSafety(wrapped, inner);
    const base = { line, text, ns };
    switch (tool) {
      case "curl":
      case "wget":
      case "ping":
      case "nc":
      case "netcat": {
        let probe: KernelProbeSpec;
        if (tool === "curl") probe = parseCurl(inner);
        else if (tool === "wget") probe = parseWget(inner);
        else if (tool === "ping") probe = parsePing(inner);
        else {
          const p = parseNc(inner);
          if (p.mode === "listen") {
            add({ ...base, kind: "server", proto: p.proto, bind: p.bind, port: p.port, app: p.app, tool: "nc" });
            return;
          }
          probe = p.probe;
        }
        if (c.background) throw new ToolReject(`a probe cannot run in the background (drop the trailing "&")`);
        if (tool === "ping") binaries.add("ping");
        add({ ...base, kind: "probe", rep, probe });
        return;
      }
      case "python3":
      case "python": {
        const p = parsePython(inner);
        add({ ...base, kind: "server", proto: "tcp", bind: p.bind, port: p.port, app: "http", tool: "python3" });
        return;
      }
      case "sleep": {
        const ms = parseSleep(inner);
        if (ms > MAX_SLEEP_MS) needs.add(`sleep ${inner[1]} is longer than real-kernel mode sleeps (${MAX_SLEEP_MS / 60_000}m)`);
        add({ ...base, kind: "sleep", ms });
        return;
      }
      case "modprobe": {
        const { names, remove } = modprobeNames(inner);
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
          add({ ...base, kind: "exec", argv: load.length > 1 ? ["modprobe", "-a", ...load] : ["modprobe", load[0]!], stdin: null, listing: false });
        } else add({ ...base, kind: "note", note: `${text}: built into this kernel, nothing loaded` });
        if (brnfBuiltin && !brnfLoaded && names.includes("br_netfilter")) {
          // What loading the module does: bridge-nf-call-iptables=1 in every namespace.
          brnfLoaded = true;
          for (const n of namespaces) brnf(n === HOST_NS ? null : n, true, line);
        }
        return;
      }
      default: {
        for (const n of needsOf(inner, f)) needs.add(n);
        binaries.add(tool);
        add({ ...base, kind: "exec", argv: wrapped, stdin, listing });
        // The first bridge of a namespace: from then on its bridge-nf setting matters.
        if (brnfBuiltin && tool === "ip" && inner.includes("bridge") && inner[inner.indexOf("bridge") - 1] === "type" && !namespaces.includes(ns)) {
          namespaces.push(ns);
          binaries.add("sysctl");
          if (!brnfLoaded) brnf(ns === HOST_NS ? null : ns, false, line);
        }
      }
    }
  }

  return { plan: { file: s.file, actions, budgetMs: budget }, needs: [...needs], binaries, failure };
}
