// A scenario as loaded from YAML (docs/scenarios.md): steps with their source lines.
import { shortenMessage } from "../config/errors.ts";

export interface ExpectOutcome {
  /** A namespace name, timeout, refused, unreachable or reply; null to check only the mapping keys. */
  outcome: string | null;
  server: string | null;
  clientIp: string | null;
}

export interface CommandLine {
  /** 1-based line in the file. */
  line: number;
  text: string;
  /** A here-document (`CMD <<EOF ... EOF`) given to the command as its standard input. */
  stdin?: string;
}

export interface RunStep {
  kind: "run";
  line: number;
  commands: CommandLine[];
  /** One per repetition when present. */
  expect: ExpectOutcome[] | null;
  repeat: number;
  why: string | null;
}

export interface AdvanceStep {
  kind: "advance";
  line: number;
  ms: number;
  text: string;
}

export type Step = RunStep | AdvanceStep;

export interface Scenario {
  file: string;
  name: string;
  description: string | null;
  steps: Step[];
}

/** A bad input: FILE:LINE: message. */
export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    // A whole-file problem (line 0: no such file, not a scenario) names the file alone.
    super(shortenMessage(line ? `${file}:${line}: ${detail}` : `${file}: ${detail}`));
    this.name = "ScenarioError";
  }
}
