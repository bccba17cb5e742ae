// The node subcommands' own argument parsing and entry points: `pktpath snapshot|import|trace|reach`.
// Each returns the exit status (0 fine, 1 a difference or failed probe, 2 bad input).
import { readFileSync, writeFileSync } from "node:fs";
import { snapshotScript } from "./snapshot.ts";
import { parseSnapshot, SnapshotError } from "./format.ts";
import { importSnapshot, summary } from "./import.ts";
import { traceCommand, type TraceOptions } from "./trace.ts";
import { reachCommand, type ReachOptions } from "./reach.ts";
import { snapshotOnKernel } from "./kernel.ts";
import { KernelUnavailable } from "../realkernel/runner.ts";
import { loadScenario } from "../scenario/load.ts";
import { ScenarioError } from "../scenario/types.ts";

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const NODE_USAGE = `usage: pktpath snapshot [-o FILE]
       pktpath snapshot --kernel SCENARIO [-o SNAPSHOT.json]
       pktpath import SNAPSHOT [-o FILE] [--listen]
       pktpath trace FILE --from NS|ADDR --to ADDR:PORT [-p tcp|udp|icmp] [--sport N] [--all-packets] [--json]
       pktpath reach FILE [--from NS|ADDR,...] [--to ADDR:PORT,...] [-p tcp|udp] [--json] [--expect FILE] [--max-branches N]`;

export class UsageError extends Error {}

/** A small getopt: flags that take a value, flags that do not, and positionals. */
export function parseArgs(argv: string[], withValue: string[], bare: string[]): { opts: Map<string, string[]>; args: string[] } {
  const opts = new Map<string, string[]>();
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      args.push(a);
      continue;
    }
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (withValue.includes(flag)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`option "${flag}" needs a value`);
      opts.set(flag, [...(opts.get(flag) ?? []), v]);
    } else if (bare.includes(flag) && eq < 0) {
      opts.set(flag, [...(opts.get(flag) ?? []), ""]);
    } else throw new UsageError(`unknown option "${a}"`);
  }
  return { opts, args };
}

function last(opts: Map<string, string[]>, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = opts.get(n);
    if (v?.length) return v[v.length - 1];
  }
  return undefined;
}

function usage(io: Io, cmd: string, e: unknown): number {
  if (e instanceof UsageError) {
    io.err(`pktpath ${cmd}: ${e.message}\n${NODE_USAGE}\n`);
    return 2;
  }
  throw e;
}

export function snapshotMain(argv: string[], io: Io): number {
  try {
    const { opts, args } = parseArgs(argv, ["-o", "--output", "--kernel"], []);
    if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
    const out = last(opts, "-o", "--output");
    const scenario = last(opts, "--kernel");
    if (scenario !== undefined) return snapshotKernelMain(scenario, out, io);
    const script = snapshotScript();
    if (out) {
      writeFileSync(out, script, { mode: 0o755 });
      io.err(`pktpath snapshot: wrote ${out}; run it as root on the node: sh ${out} [OUTPUT.json]\n`);
    } else io.out(script);
    return 0;
  } catch (e) {
    return usage(io, "snapshot", e);
  }
}

/** --kernel SCENARIO: build it on a real kernel (namespaces or the VM), snapshot it there. */
function snapshotKernelMain(file: string, out: string | undefined, io: Io): number {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    io.err(`pktpath snapshot: ${file}: ${code === "ENOENT" ? "No such file or directory" : code === "EISDIR" ? "a folder, not a scenario file" : (e as Error).message}\n`);
    return 2;
  }
  try {
    const snap = snapshotOnKernel(loadScenario(file, text));
    if (out) writeFileSync(out, snap.json);
    else io.out(snap.json);
    io.err(snap.stderr);
    io.err(`pktpath snapshot: ${file} ${snap.note}${out ? `; wrote ${out}` : ""}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ScenarioError || e instanceof KernelUnavailable) {
      io.err(`pktpath snapshot: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

export function importMain(argv: string[], io: Io): number {
  let file = "";
  try {
    const { opts, args } = parseArgs(argv, ["-o", "--output"], ["--listen"]);
    if (args.length !== 1) throw new UsageError(args.length ? `one snapshot only, not "${args[1]}"` : "no snapshot given");
    file = args[0]!;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      io.err(`pktpath import: ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "No such file or directory" : (e as Error).message}\n`);
      return 2;
    }
    const snap = parseSnapshot(file, text);
    const r = importSnapshot(snap, { listen: opts.has("--listen"), file });
    const out = last(opts, "-o", "--output");
    if (out) writeFileSync(out, r.yaml);
    else io.out(r.yaml);
    io.err(`pktpath import: ${out ? `wrote ${out}: ` : ""}${summary(r)}\n`);
    if (r.notModelled.length) io.err(`not modelled by pktpath, left out:\n${r.notModelled.map((x) => `  - ${x}\n`).join("")}`);
    if (r.standIns.length) io.err(`stood in for:\n${r.standIns.map((x) => `  - ${x}\n`).join("")}`);
    return 0;
  } catch (e) {
    if (e instanceof SnapshotError) {
      io.err(`pktpath import: ${e.message}\n`);
      return 2;
    }
    return usage(io, "import", e);
  }
}

export function traceMain(argv: string[], io: Io): number {
  try {
    const { opts, args } = parseArgs(argv, ["--from", "--to", "-p", "--protocol", "--sport"], ["--json", "--all-packets"]);
    if (args.length !== 1) throw new UsageError(args.length ? `one scenario only, not "${args[1]}"` : "no scenario given");
    const from = last(opts, "--from");
    const to = last(opts, "--to");
    if (!from || !to) throw new UsageError("--from and --to are required");
    const sport = last(opts, "--sport");
    if (sport !== undefined && !/^\d+$/.test(sport)) throw new UsageError(`--sport "${sport}": a port number`);
    const o: TraceOptions = {
      file: args[0]!,
      from,
      to,
      proto: last(opts, "-p", "--protocol") ?? "tcp",
      sport: sport === undefined ? null : Number(sport),
      json: opts.has("--json"),
      allPackets: opts.has("--all-packets"),
    };
    return traceCommand(o, io);
  } catch (e) {
    return usage(io, "trace", e);
  }
}

export function reachMain(argv: string[], io: Io): number {
  try {
    const { opts, args } = parseArgs(argv, ["--from", "--to", "-p", "--protocol", "--expect", "--max-branches"], ["--json"]);
    if (args.length !== 1) throw new UsageError(args.length ? `one scenario only, not "${args[1]}"` : "no scenario given");
    const split = (k: string) => (opts.get(k) ?? []).flatMap((v) => v.split(",")).filter(Boolean);
    const mb = last(opts, "--max-branches");
    if (mb !== undefined && !/^[1-9]\d*$/.test(mb)) throw new UsageError(`--max-branches "${mb}": a positive number`);
    const o: ReachOptions = {
      file: args[0]!,
      from: split("--from"),
      to: split("--to"),
      proto: last(opts, "-p", "--protocol") ?? null,
      json: opts.has("--json"),
      expect: last(opts, "--expect") ?? null,
      maxBranches: mb === undefined ? 1024 : Number(mb),
    };
    return reachCommand(o, io);
  } catch (e) {
    return usage(io, "reach", e);
  }
}

/** Dispatch for src/cli/main.ts: the node commands, or null for any other command. */
export function nodeMain(cmd: string, argv: string[], io: Io): number | null {
  switch (cmd) {
    case "snapshot":
      return snapshotMain(argv, io);
    case "import":
      return importMain(argv, io);
    case "trace":
      return traceMain(argv, io);
    case "reach":
      return reachMain(argv, io);
    default:
      return null;
  }
}
