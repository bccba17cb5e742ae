// Real-kernel mode's data: the plan the outer runner hands to the inner one (JSON over
// a pipe), what the inner one hands back, and the report the CLI prints.
import type { ScenarioReport } from "../scenario/run.ts";

/** Marks the inner runner's one result line on its stdout. */
export const RESULT_MARKER = "PKTPATH-KERNEL-RESULT ";

/** A probe as the kernel-side client runs it (daddr stays text: it crosses a pipe). */
export interface KernelProbeSpec {
  kind: "http" | "tcp" | "udp" | "ping";
  daddr: string;
  dport: number;
  /** curl -m, wget -T, nc -w, ping -W; 1 s when the command gives none. */
  timeoutMs: number;
  /** ping -c */
  count: number;
  /** ping only: the real ping's argv, rebuilt from the parsed options (bounded). */
  pingArgv: string[];
  /** nc -s, curl --interface ADDR: the address the client binds. */
  saddr?: string;
  /** nc -p, curl --local-port N[-M]: the ports the client may bind, first free one wins. */
  sport?: number;
  sportMax?: number;
  /** curl --interface NAME: bind to that interface's first IPv4 address. */
  iface?: string;
}

export type ServerApp = "http" | "nc" | "nc-udp";

interface ActionBase {
  /** 1-based line in the scenario file. */
  line: number;
  /** The command line as the scenario wrote it (for reports only, never executed). */
  text: string;
  /** The namespace the command runs in: "host" or a name from ip netns add. */
  ns: string;
}

/** A tool run as itself (ip, bridge, sysctl, iptables, ipset, conntrack) from its parsed argv. */
export interface ExecAction extends ActionBase {
  kind: "exec";
  argv: string[];
  /** Standard input: the line's here-document (iptables-restore <<EOF), or null (/dev/null). */
  stdin: string | null;
  /** Its output is a listing the report shows (a step of one command line). */
  listing: boolean;
}

export interface ServerAction extends ActionBase {
  kind: "server";
  proto: "tcp" | "udp";
  /** --bind / nc's address, null for INADDR_ANY. */
  bind: string | null;
  port: number;
  app: ServerApp;
  /** The tool's name for error messages (python3, nc). */
  tool: string;
}

export interface ProbeAction extends ActionBase {
  kind: "probe";
  /** Repetition index (repeat: N). */
  rep: number;
  probe: KernelProbeSpec;
}

export interface SleepAction extends ActionBase {
  kind: "sleep";
  ms: number;
}

/** Accepted and not run: a line that only touches files, a module built into the kernel. */
export interface NoteAction extends ActionBase {
  kind: "note";
  note: string;
}

export type KernelAction = ExecAction | ServerAction | ProbeAction | SleepAction | NoteAction;

export interface KernelPlan {
  file: string;
  actions: KernelAction[];
  /** Upper bound of the whole run in ms (the outer runner kills it after that). */
  budgetMs: number;
}

/** What the inner runner saw for one probe. */
export interface KernelProbeResult {
  line: number;
  rep: number;
  ns: string;
  command: string;
  outcome: string;
  server: string | null;
  client_ip: string | null;
  error: string;
}

export interface InnerResult {
  probes: KernelProbeResult[];
  listings: { line: number; command: string; output: string }[];
  notes: string[];
  /** "LINE: message" of the first command that failed; nothing ran after it. */
  error: { line: number; message: string } | null;
}

/** A scenario run on a real kernel: the emulator's report shape, plus why it was skipped. */
export interface KernelScenarioReport extends ScenarioReport {
  mode: "kernel";
  /** Why the scenario did not run (needs the VM backend ...), null when it ran. */
  skipped: string | null;
  /** Wall time of the run in ms. */
  elapsedMs: number;
}
