// sysctl (procps-ng): read and write /proc/sys keys of the namespace it runs in.
import { KernelError } from "../config/errors.ts";
import { normaliseSysctl, readSysctl, resolveSysctl, sysctlPath, writeSysctl } from "../config/sysctl.ts";
import { ToolError, type Tool, type ToolContext, type ToolOutput } from "../tool/tool.ts";
import { GetoptError, getoptLong, type GotOption, type LongOption } from "../tool/getopt.ts";

// procps-ng 4.0.2 sysctl.c: its getopt_long table.
const SHORT = "bneNwfp::qoxaAXr:Vdh";
const LONGS: LongOption[] = [
  { name: "all", hasArg: 0, val: "a" },
  { name: "deprecated", hasArg: 0, val: "deprecated" },
  { name: "dry-run", hasArg: 0, val: "dry-run" },
  { name: "binary", hasArg: 0, val: "b" },
  { name: "ignore", hasArg: 0, val: "e" },
  { name: "names", hasArg: 0, val: "N" },
  { name: "values", hasArg: 0, val: "n" },
  { name: "load", hasArg: 2, val: "p" },
  { name: "quiet", hasArg: 0, val: "q" },
  { name: "write", hasArg: 0, val: "w" },
  { name: "system", hasArg: 0, val: "system" },
  { name: "pattern", hasArg: 1, val: "r" },
  { name: "help", hasArg: 0, val: "h" },
  { name: "version", hasArg: 0, val: "V" },
];

const USAGE = `
Usage:
 sysctl [options] [variable[=value] ...]

Options:
  -a, --all            display all variables
  -A                   alias of -a
  -X                   alias of -a
      --deprecated     include deprecated parameters to listing
      --dry-run        Print the key and values but do not write
  -b, --binary         print value without new line
  -e, --ignore         ignore unknown variables errors
  -N, --names          print variable names without values
  -n, --values         print only values of the given variable(s)
  -p, --load[=<file>]  read values from file
  -f                   alias of -p
      --system         read values from all system directories
  -r, --pattern <expression>
                       select setting that match expression
  -q, --quiet          do not echo variable set
  -w, --write          enable writing a value to variable
  -o                   does nothing
  -x                   does nothing
  -d                   alias of -h

 -h, --help     display this help and exit
 -V, --version  output version information and exit

For more details see sysctl(8).
`;

interface SysctlFlags {
  write: boolean;
  valuesOnly: boolean;
  namesOnly: boolean;
  binary: boolean;
  quiet: boolean;
  ignore: boolean;
}

const FLAG_OF: Record<string, keyof SysctlFlags> = { w: "write", n: "valuesOnly", N: "namesOnly", b: "binary", q: "quiet", e: "ignore" };

/** What one sysctl command printed so far, and how it fails. */
interface SysctlRun {
  flags: SysctlFlags;
  ctx: ToolContext;
  lines: string[];
  /** The exit status as procps builds it. */
  failed: number;
  errors: number;
}

export const sysctlTool: Tool = (argv, ctx) => {
  let parsed;
  try {
    parsed = getoptLong("sysctl", argv.slice(1), SHORT, LONGS);
  } catch (e) {
    // A bad option prints getopt's complaint and the usage and, in procps-ng 4.0.2, exits 0.
    if (e instanceof GetoptError) return { stdout: `${e.message}\n${USAGE}` };
    throw e;
  }
  const flags = readFlags(parsed.opts);
  if ("stdout" in flags) return flags;
  const items = parsed.rest;
  if (!items.length && !flags.write && !parsed.opts.length) throw new ToolError(USAGE.slice(1));
  if (!items.length) throw new ToolError("sysctl: no variables specified\nTry `sysctl --help' for more information.");
  const run: SysctlRun = { flags, ctx, lines: [], failed: 0, errors: 0 };
  for (const item of items) {
    const eq = item.indexOf("=");
    if (flags.write || eq >= 0) writeItem(run, item, eq);
    else readItem(run, item);
  }
  const text = run.lines.map((l) => l + (flags.binary && !l.startsWith("sysctl: ") ? "" : "\n")).join("");
  if (run.errors) throw new ToolError(text.replace(/\n$/, ""), Math.min(run.failed, 255));
  return { stdout: text };
};

/** The options as flags, or what -h, -d and -V print. */
function readFlags(opts: GotOption[]): SysctlFlags | ToolOutput {
  const flags: SysctlFlags = { write: false, valuesOnly: false, namesOnly: false, binary: false, quiet: false, ignore: false };
  for (const o of opts) {
    const flag = FLAG_OF[o.val];
    if (flag) flags[flag] = true;
    else if (o.val === "o" || o.val === "x") continue;
    else if (o.val === "h" || o.val === "d") return { stdout: USAGE };
    else if (o.val === "V") return { stdout: "sysctl from procps-ng 4.0.2\n" };
    // -a, -p, --system, -r, --dry-run read files or list everything.
    else throw new ToolError(`sysctl: pktpath does not model "${o.text}" yet`);
  }
  return flags;
}

// procps reports a bad item and goes on with the next; main() ORs a write's failure into
// its return code and adds a read's (measured on procps-ng 4.0.2).
function fail(run: SysctlRun, msg: string, read = false): void {
  run.lines.push(msg);
  run.errors++;
  run.failed = read ? run.failed + 1 : run.failed | 1;
}

/** KEY=VALUE (or any item with -w). */
function writeItem(run: SysctlRun, item: string, eq: number): void {
  const { flags, ctx } = run;
  if (eq <= 0) return fail(run, "sysctl: command line(0): invalid syntax, continuing...");
  const key = item.slice(0, eq).trim().replace(/\//g, ".");
  const value = item.slice(eq + 1).trim();
  const found = resolveSysctl(ctx.host.config, ctx.ns, key);
  if (!found) {
    if (!flags.ignore) fail(run, `sysctl: cannot stat ${sysctlPath(key)}: No such file or directory`);
    return;
  }
  let norm: string;
  try {
    norm = normaliseSysctl(found.def, value);
  } catch (e) {
    if (e instanceof KernelError) return fail(run, `sysctl: setting key "${key}": Invalid argument`);
    throw e;
  }
  ctx.host.change((c) => writeSysctl(c.netns[ctx.ns]!, key, norm));
  // After a write, -N (like -n and -b) prints the value alone.
  if (!flags.quiet) run.lines.push(flags.valuesOnly || flags.binary || flags.namesOnly ? value : `${key} = ${value}`);
}

/** KEY: its value, shown as the flags say (-N wins over -n; -b drops the newline). */
function readItem(run: SysctlRun, item: string): void {
  const { flags, ctx } = run;
  const key = item.replace(/\//g, ".");
  const found = resolveSysctl(ctx.host.config, ctx.ns, key);
  if (!found) {
    if (!flags.ignore) fail(run, `sysctl: cannot stat ${sysctlPath(key)}: No such file or directory`, true);
    return;
  }
  const v = readSysctl(ctx.host.config.netns[ctx.ns]!, key, found.dev, found.def);
  run.lines.push(flags.namesOnly ? key : flags.valuesOnly || flags.binary ? v : `${key} = ${v}`);
}
