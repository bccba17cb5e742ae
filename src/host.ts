// The emulated machine: the configuration snapshot, the dataplane, the tools a user
// types, and the layers installed on it (the core tools, netfilter, ipset, ipvs,
// nftables: see src/layers.ts).
import { createDraft, type Draft, finishDraft, produce, setAutoFreeze } from "immer";
import type { Config } from "./config/types.ts";
import { ROOT_NETNS } from "./config/types.ts";
import { initialConfig } from "./config/netns.ts";
import { Dataplane } from "./dataplane/dataplane.ts";
import { Tracer, type TraceEvent } from "./dataplane/trace.ts";
import type { HookProvider } from "./dataplane/hooks.ts";
import { runProbe, type ProbeResult, type ProbeSpec } from "./dataplane/probe.ts";
import { splitLine, ShellNotModelled, ShellSyntaxError } from "./tool/shell.ts";
import { ToolError, type Tool, type ToolHost, type ToolOutput, type ToolRegistry } from "./tool/tool.ts";
import { coreLayer } from "./commands/layer.ts";
import { FILE_ONLY } from "./commands/vocabulary.ts";
import { brNetfilterProvider } from "./dataplane/br_netfilter.ts";

setAutoFreeze(true);

/**
 * A layer above the core (one folder): install() registers its tools and hook operations on
 * a host and returns its runtime. `Below` is what it needs from other layers (their
 * runtimes, or an interface they implement), handed in by whoever installs it
 * (src/layers.ts); a layer never looks another up.
 */
export interface Layer<Runtime = unknown, Below = void> {
  readonly name: string;
  install(host: Host, below: Below): Runtime;
}

/** What a layer's runtime reads of the host it is installed on: the dataplane, the current snapshot, the clock. */
export interface LayerHost {
  readonly dp: Dataplane;
  readonly config: Config;
  readonly now: number;
}

/** A command the host ran and accepted, as its innermost tool saw it (after sudo and ip netns exec). */
export interface ExecutedCommand {
  /** The innermost command's argv (what the tool parsed and accepted). */
  argv: string[];
  /** The commands it ran inside (ip netns exec NS ...), outermost first, sudo dropped. */
  wrappers: string[][];
  ns: string;
  background: boolean;
  piped: boolean;
  stdin: string | null;
  output: ToolOutput;
}

export interface HostOptions {
  trace?: boolean;
  /**
   * The layers to install, in order (src/layers.ts defaultLayers(): the core tools,
   * then netfilter, ipset, ipvs, nftables). A list replaces the default, which is the
   * core tools alone (ip, bridge, sysctl, modprobe, probes, servers).
   */
  layers?: Layer[];
}

export class Host implements LayerHost, ToolHost, ToolRegistry {
  private cfg: Config;
  readonly dp = new Dataplane();
  private readonly tools = new Map<string, Tool>();
  /** Told of each top-level command that succeeded (real-kernel mode plans from it). */
  onCommand: ((c: ExecutedCommand) => void) | null = null;
  private depth = 0;
  private innermost: Omit<ExecutedCommand, "output" | "wrappers"> | null = null;
  private chain: string[][] = [];

  constructor(options: HostOptions = {}) {
    this.cfg = initialConfig();
    this.dp.providers.push(brNetfilterProvider(this.dp));
    for (const layer of options.layers ?? [coreLayer]) layer.install(this);
    if (options.trace) this.dp.tracer = new Tracer();
    this.dp.setConfig(this.cfg);
  }

  /** The current configuration snapshot (immutable). */
  get config(): Config {
    return this.cfg;
  }

  get now(): number {
    return this.dp.now;
  }

  registerTool(name: string, tool: Tool): void {
    this.tools.set(name, tool);
  }

  registerHooks(provider: HookProvider): void {
    this.dp.providers.push(provider);
    this.dp.invalidate(this.cfg);
  }

  tool(name: string): Tool | undefined {
    return this.tools.get(name);
  }

  isFileOnly(name: string): boolean {
    return FILE_ONLY.has(name);
  }

  /** Applies a change to the snapshot; a change that throws leaves it as it was. */
  change(fn: (draft: Config) => void): void {
    if (this.draft) return fn(this.draft);
    const next = produce(this.cfg, fn);
    if (next !== this.cfg) {
      this.cfg = next;
      this.dp.setConfig(next);
    }
  }

  private draft: Draft<Config> | null = null;

  /**
   * Runs `fn` as one change: every change() inside works on one immer draft, which
   * becomes the snapshot (and the dataplane's view) once, at the end; if `fn` throws,
   * nothing changes (a restore file that fails changes nothing). Inside, `config` is
   * still the snapshot from before the batch.
   */
  batch<T>(fn: () => T): T {
    if (this.draft) return fn();
    this.draft = createDraft(this.cfg);
    let ok = false;
    try {
      const r = fn();
      ok = true;
      return r;
    } finally {
      const draft = this.draft;
      this.draft = null;
      const next = finishDraft(draft);
      if (ok && next !== this.cfg) {
        this.cfg = next;
        this.dp.setConfig(next);
      }
    }
  }

  /** Re-reads hook registrations for the current snapshot (a layer's state changed). */
  refreshHooks(): void {
    this.dp.invalidate(this.cfg);
  }

  /**
   * Runs one command line as typed at a root shell (in namespace `ns`). Returns each
   * command's output; throws ToolError with the tool's own message on failure.
   */
  exec(line: string, ns: string = ROOT_NETNS, stdin: string | null = null): ToolOutput[] {
    let commands;
    try {
      commands = splitLine(line);
    } catch (e) {
      if (e instanceof ShellSyntaxError) throw new ToolError(e instanceof ShellNotModelled ? e.message : `syntax error: ${e.message}`);
      throw e;
    }
    const outputs: ToolOutput[] = [];
    for (const cmd of commands) outputs.push(this.execArgv(cmd.argv, ns, cmd.background, cmd.piped, stdin));
    return outputs;
  }

  execArgv(argv: string[], ns: string, background = false, piped = false, stdin: string | null = null): ToolOutput {
    let args = argv;
    while (args[0] === "sudo") args = args.slice(1);
    if (args.length === 0) return { stdout: "" };
    // A library caller naming a namespace that does not exist: ip netns exec's words.
    if (!(this.draft ?? this.cfg).netns[ns]) throw new ToolError(`Cannot open network namespace "${ns}": No such file or directory`);
    // A nested call (ip netns exec NS CMD) runs inside this one and leaves its own
    // argv as the innermost; only the outermost call reports.
    if (this.depth === 0) this.chain = [];
    this.chain.push(args);
    this.innermost = { argv: args, ns, background, piped, stdin };
    this.depth++;
    let output: ToolOutput;
    try {
      output = this.dispatch(args, ns, background, piped, stdin);
    } finally {
      this.depth--;
    }
    if (this.depth === 0 && this.onCommand && this.innermost) this.onCommand({ ...this.innermost, wrappers: this.chain.slice(0, -1), output });
    return output;
  }

  private dispatch(args: string[], ns: string, background: boolean, piped: boolean, stdin: string | null): ToolOutput {
    if (piped || FILE_ONLY.has(args[0]!)) {
      if (!FILE_ONLY.has(args[0]!)) throw new ToolError(`${args[0]}: pipes and redirections are modelled only for commands that touch files`);
      return { stdout: "", notModelled: true };
    }
    const tool = this.tools.get(args[0]!);
    if (!tool) throw new ToolError(`${args[0]}: command not found`);
    return tool(args, { host: this, ns, background, stdin });
  }

  probe(ns: string, spec: ProbeSpec): ProbeResult {
    return runProbe(this.dp, ns, spec);
  }

  advance(ms: number): void {
    this.dp.advance(ms);
  }

  setTracing(on: boolean): void {
    this.dp.tracer = on ? (this.dp.tracer ?? new Tracer()) : null;
  }

  takeTrace(): TraceEvent[] {
    return this.dp.tracer ? this.dp.tracer.take() : [];
  }
}

