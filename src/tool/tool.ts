// The command layer's contract: a tool takes argv in a namespace and returns what it
// printed, or throws ToolError with the real tool's own wording.
import type { Host } from "../host.ts";
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

export interface ToolContext {
  host: Host;
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
