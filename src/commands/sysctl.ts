// sysctl (procps-ng): read and write /proc/sys keys of the namespace it runs in.
import { KernelError } from "../config/errors.ts";
import { normaliseSysctl, readSysctl, resolveSysctl, sysctlPath, writeSysctl } from "../config/sysctl.ts";
import { ToolError, type Tool } from "../tool/tool.ts";
import { GetoptError, getoptLong, type LongOption } from "../tool/getopt.ts";

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

export const sysctlTool: Tool = (argv, ctx) => {
  let write = false;
  let valuesOnly = false;
  let namesOnly = false;
  let binary = false;
  let quiet = false;
  let ignore = false;
  let parsed;
  try {
    parsed = getoptLong("sysctl", argv.slice(1), SHORT, LONGS);
  } catch (e) {
    // A bad option prints getopt's complaint and the usage and, in procps-ng 4.0.2, exits 0.
    if (e instanceof GetoptError) return { stdout: `${e.message}\n${USAGE}` };
    throw e;
  }
  for (const o of parsed.opts) {
    switch (o.val) {
      case "w":
        write = true;
        break;
      case "n":
        valuesOnly = true;
        break;
      case "N":
        namesOnly = true;
        break;
      case "b":
        binary = true;
        break;
      case "q":
        quiet = true;
        break;
      case "e":
        ignore = true;
        break;
      case "o":
      case "x":
        break;
      case "h":
      case "d":
        return { stdout: USAGE };
      case "V":
        return { stdout: "sysctl from procps-ng 4.0.2\n" };
      default:
        // -a, -p, --system, -r, --dry-run read files or list everything.
        throw new ToolError(`sysctl: pktpath does not model "${o.text}" yet`);
    }
  }
  const items = parsed.rest;
  if (!items.length && !write && !parsed.opts.length) throw new ToolError(USAGE.slice(1));
  if (!items.length) throw new ToolError("sysctl: no variables specified\nTry `sysctl --help' for more information.");
  const lines: string[] = [];
  // -N (NameOnly) wins over -n (no names); -b drops the newline.
  const show = (key: string, v: string) => (namesOnly ? key : valuesOnly || binary ? v : `${key} = ${v}`);
  // procps reports a bad item and goes on with the next; main() ORs a write's failure into
  // its return code and adds a read's (measured on procps-ng 4.0.2).
  let failed = 0;
  let errors = 0;
  const fail = (msg: string, read = false) => {
    lines.push(msg);
    errors++;
    failed = read ? failed + 1 : failed | 1;
  };
  for (const item of items) {
    const eq = item.indexOf("=");
    if (write || eq >= 0) {
      if (eq <= 0) {
        fail("sysctl: command line(0): invalid syntax, continuing...");
        continue;
      }
      const key = item.slice(0, eq).trim().replace(/\//g, ".");
      const value = item.slice(eq + 1).trim();
      const found = resolveSysctl(ctx.host.config, ctx.ns, key);
      if (!found) {
        if (!ignore) fail(`sysctl: cannot stat ${sysctlPath(key)}: No such file or directory`);
        continue;
      }
      let norm: string;
      try {
        norm = normaliseSysctl(found.def, value);
      } catch (e) {
        if (e instanceof KernelError) {
          fail(`sysctl: setting key "${key}": Invalid argument`);
          continue;
        }
        throw e;
      }
      ctx.host.change((c) => writeSysctl(c.netns[ctx.ns]!, key, norm));
      // After a write, -N (like -n and -b) prints the value alone.
      if (!quiet) lines.push(valuesOnly || binary || namesOnly ? value : `${key} = ${value}`);
    } else {
      const key = item.replace(/\//g, ".");
      const found = resolveSysctl(ctx.host.config, ctx.ns, key);
      if (!found) {
        if (!ignore) fail(`sysctl: cannot stat ${sysctlPath(key)}: No such file or directory`, true);
        continue;
      }
      const v = readSysctl(ctx.host.config.netns[ctx.ns]!, key, found.dev, found.def);
      lines.push(show(key, v));
    }
  }
  const text = lines.map((l) => l + (binary && !l.startsWith("sysctl: ") ? "" : "\n")).join("");
  if (errors) throw new ToolError(text.replace(/\n$/, ""), Math.min(failed, 255));
  return { stdout: text };
};
