// `ipset restore`: the lines of a saved state run as commands (lib/ipset.c
// ipset_parse_stream, build_argv). Unlike the real tool, a restore that fails on a line
// leaves every set as it was (one draft for all lines, kept only at the end).
import { ipsetCommand, newSession } from "./command.ts";
import { IpsetError } from "./errors.ts";
import { commit, type IpsetRuntime, Txn } from "./store.ts";

const BLANKS = /[ \t\r\n]+/;

/** build_argv(): words split on blanks, "..." keeps blanks; an unclosed quote drops its word. */
export function restoreArgv(line: string): string[] {
  // Without a quote the words are what lies between blanks.
  if (!line.includes('"')) return line.split(BLANKS).filter((w) => w !== "");
  const out: string[] = [];
  let arg = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    const last = i === line.length - 1;
    if (c === '"') {
      quoted = !quoted;
      if (!last) continue;
    } else if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      if (quoted) {
        arg += c;
        continue;
      }
    } else {
      arg += c;
      if (!last) continue;
    }
    if (last && quoted) throw new IpsetError("Missing close quote!", "parameter");
    if (arg) out.push(arg);
    arg = "";
  }
  return out;
}

export interface RestoreOptions {
  /** `ipset -exist restore` */
  exist?: boolean;
}

/**
 * Runs a saved state (create/add/... lines, "COMMIT", comments) in namespace ns.
 * Returns what the commands printed; throws IpsetError worded as ipset words it
 * ("Error in line N: ..." for the errors ipset numbers).
 */
export function restoreIpsets(rt: IpsetRuntime, ns: string, text: string, opts: RestoreOptions = {}): string {
  const host = rt.host;
  const st = rt.netns(ns);
  if (!st) throw new IpsetError("Kernel error received: No such file or directory");
  st.gc(host.now);
  const s = newSession();
  s.exist = opts.exist ?? false;
  s.tx = new Txn(st, host.now);
  let out = "";
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    // (trimStart() takes what /^\s+/ takes: white space and line terminators.)
    const line = lines[n]!.trimStart();
    if (!line || line.startsWith("#") || line === "COMMIT" || line === "COMMIT\r") continue;
    s.line = n + 1;
    try {
      out += ipsetCommand(rt, ns, restoreArgv(line + "\n"), s);
    } catch (e) {
      if (e instanceof IpsetError && e.kind === "session") throw new IpsetError(`Error in line ${s.line}: ${e.message}`);
      throw e;
    }
  }
  commit(rt, ns, s.tx);
  return out;
}
