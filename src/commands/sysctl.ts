// sysctl (procps-ng): read and write /proc/sys keys of the namespace it runs in.
import { KernelError } from "../config/errors.ts";
import { normaliseSysctl, readSysctl, resolveSysctl, sysctlPath, writeSysctl } from "../config/sysctl.ts";
import { ToolError, type Tool } from "./tool.ts";

export const sysctlTool: Tool = (argv, ctx) => {
  let write = false;
  let valuesOnly = false;
  let quiet = false;
  let ignore = false;
  const items: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-w" || a === "--write") write = true;
    else if (a === "-n" || a === "--values") valuesOnly = true;
    else if (a === "-q" || a === "--quiet") quiet = true;
    else if (a === "-e" || a === "--ignore") ignore = true;
    else if (a === "-N" || a === "--names" || a === "-b" || a === "--binary") continue;
    else if (a === "-p" || a === "--load" || a === "--system" || a === "-a" || a === "--all" || a === "-A" || a === "-X") {
      throw new ToolError(`sysctl: pktpath does not model "${a}" yet`);
    } else if (a.startsWith("-")) throw new ToolError(`sysctl: invalid option -- '${a.replace(/^-+/, "")}'`);
    else items.push(a);
  }
  if (!items.length) throw new ToolError("sysctl: no variables specified\nTry `sysctl --help' for more information.");
  const lines: string[] = [];
  for (const item of items) {
    const eq = item.indexOf("=");
    if (write || eq >= 0) {
      if (eq <= 0) throw new ToolError("sysctl: command line(0): invalid syntax, continuing...");
      const key = item.slice(0, eq).trim().replace(/\//g, ".");
      const value = item.slice(eq + 1).trim();
      const found = resolveSysctl(ctx.host.config, ctx.ns, key);
      if (!found) {
        if (ignore) continue;
        throw new ToolError(`sysctl: cannot stat ${sysctlPath(key)}: No such file or directory`);
      }
      let norm: string;
      try {
        norm = normaliseSysctl(found.def, value);
      } catch (e) {
        if (e instanceof KernelError) throw new ToolError(`sysctl: setting key "${key}": Invalid argument`);
        throw e;
      }
      ctx.host.change((c) => writeSysctl(c.netns[ctx.ns]!, key, norm));
      if (!quiet) lines.push(valuesOnly ? value : `${key} = ${value}`);
    } else {
      const key = item.replace(/\//g, ".");
      const found = resolveSysctl(ctx.host.config, ctx.ns, key);
      if (!found) {
        if (ignore) continue;
        throw new ToolError(`sysctl: cannot stat ${sysctlPath(key)}: No such file or directory`);
      }
      const v = readSysctl(ctx.host.config.netns[ctx.ns]!, key, found.dev, found.def);
      lines.push(valuesOnly ? v : `${key} = ${v}`);
    }
  }
  return { stdout: lines.map((l) => l + "\n").join("") };
};
