// Real-kernel mode's data: the plan the outer runner hands to the inner one (JSON over
// a pipe), what the inner one hands back, and the report the CLI prints.
import type { ScenarioReport } from "../scenario/run.ts";
import type { ProbeSpec } from "../dataplane/probe.ts";

/** Marks the inner runner's one result line on its stdout. */
export const RESULT_MARKER = "PKTPATH-KERNEL-RESULT ";
/** Marks the inner runner's progress on its stderr: the line of the action it starts. */
export const AT_MARKER = "PKTPATH-KERNEL-AT ";

/**
 * A probe as the kernel-side client runs it: the emulator's whole parsed ProbeSpec
 * (commands/probes.ts), every field through, addresses (fields named ...addr) as text
 * since they cross a pipe; plus ping's argv, rebuilt from its parsed options.
 */
export type KernelProbeSpec = {
  [K in keyof ProbeSpec]: K extends `${string}addr` ? string : ProbeSpec[K];
} & {
  /** ping only: the real ping's argv, rebuilt from the parsed options (bounded). */
  pingArgv: string[];
};

export type ServerApp = "http" | "nc" | "nc-udp";

interface ActionBase {
  /** 1-based line in the scenario file. */
  line: number;
  /** The command line as the scenario wrote it (for reports only, never executed). */
  text: string;
  /** The namespace the command runs in: "host" or a name from ip netns add. */
  ns: string;
}

/** A tool run as itself (ip, bridge, sysctl, iptables, ipset, conntrack) from the argv the emulator accepted. */
export interface ExecAction extends ActionBase {
  kind: "exec";
  /** The innermost command; inner.ts puts `ip netns exec NS` in front outside the host. */
  argv: string[];
  /** Standard input: the line's here-document (iptables-restore <<EOF), or null (/dev/null). */
  stdin: string | null;
  /** Its output is a listing the report shows (a step of one command line). */
  listing: boolean;
  /** The exit status the emulator answered with (1 after `ipset test` of a missing element); 0 when absent. */
  status?: number;
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

/**
 * pktpath's own snapshot script (src/node/snapshot.sh, handed over in the envelope, never
 * from a scenario) run in the host namespace after the plan built the node; its JSON
 * comes back in InnerResult.snapshot. Only plans made by src/node/kernel.ts carry it.
 */
export interface SnapshotAction extends ActionBase {
  kind: "snapshot";
}

export type KernelAction = ExecAction | ServerAction | ProbeAction | SleepAction | NoteAction | SnapshotAction;

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
  /** What the snapshot action read (a plan with one): the JSON file, and the script's stderr. */
  snapshot?: { json: string; stderr: string };
}

/** A scenario run on a real kernel: the emulator's report shape, plus why it was skipped. */
export interface KernelScenarioReport extends ScenarioReport {
  mode: "kernel";
  /** Why the scenario did not run (needs the VM backend ...), null when it ran. */
  skipped: string | null;
  /** Wall time of the run in ms. */
  elapsedMs: number;
}
