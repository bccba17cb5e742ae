// The command layer's contract: a tool takes argv in a namespace and returns what it
// printed, or throws ToolError with the real tool's own wording. A tool sees the host
// through ToolHost, the few things tools use; the Host class (src/host.ts) implements it.
import type { Config } from "../config/types.ts";
import type { Dataplane } from "../dataplane/dataplane.ts";
import type { ProbeResult, ProbeSpec } from "../dataplane/probe.ts";
import { shortenMessage } from "../config/errors.ts";

/** A tool's failure in its own words; a word of the input echoed in it is cut when huge. */
export class ToolError extends Error {
  /** The real tool's exit status for this error (iproute2's invarg() exits 255, iptables' parameter problems 2). */
  readonly status: number;
  constructor(message: string, status = 1) {
    super(shortenMessage(message));
    this.name = "ToolError";
    this.status = status;
  }
}

export interface ProbeRecord {
  /** The namespace the probe ran in. */
  ns: string;
  spec: ProbeSpec;
  result: ProbeResult;
}

export interface ToolOutput {
  stdout: string;
  probe?: ProbeRecord;
  /** The command only touches files: accepted, reported as not modelled. */
  notModelled?: boolean;
  /**
   * A non-zero exit status that is an answer, not an error (`ipset test` of a missing
   * element exits 1 after printing its line). Absent means 0.
   */
  status?: number;
}

/** What a tool reads and changes of the machine it runs on. */
export interface ToolHost {
  /** The current configuration snapshot (immutable). */
  readonly config: Config;
  /** The emulated clock, in ms. */
  readonly now: number;
  /** The dataplane's view of the snapshot, its per-namespace tables (neighbours, sockets), the bridge FDB, its clock. */
  readonly dp: Pick<Dataplane, "view" | "state" | "fdb" | "now">;
  /** Applies a change to the snapshot; a change that throws leaves it as it was. */
  change(fn: (draft: Config) => void): void;
  /** Runs fn as one change: all or nothing (iptables-restore, ipvsadm -R). */
  batch<T>(fn: () => T): T;
  /** The tool installed under name (ipvsadm -R runs ipvsadm per line). */
  tool(name: string): Tool | undefined;
  /** Runs argv as a nested command (ip netns exec NS CMD). */
  execArgv(argv: string[], ns: string, background?: boolean, piped?: boolean, stdin?: string | null): ToolOutput;
  /** Sends one probe (curl, ping, nc) from namespace ns. */
  probe(ns: string, spec: ProbeSpec): ProbeResult;
  /** Moves the clock on (sleep). */
  advance(ms: number): void;
}

/** Where tools are installed: what a layer that only brings tools needs of the host. */
export interface ToolRegistry {
  registerTool(name: string, tool: Tool): void;
}

export interface ToolContext {
  host: ToolHost;
  /** The namespace the command runs in ("host" for the root one). */
  ns: string;
  background: boolean;
  /** Standard input (a scenario's here-document), or null. */
  stdin: string | null;
}

export type Tool = (argv: string[], ctx: ToolContext) => ToolOutput;

export const OK: ToolOutput = { stdout: "" };

export function out(stdout: string): ToolOutput {
  return { stdout };
}
