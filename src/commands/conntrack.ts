// conntrack (conntrack-tools 1.4.7): -L lists, -F flushes, -D deletes, -C counts the
// namespace's connection tracking table, in conntrack's own format.
import type { NetfilterRuntime } from "../netfilter/runtime.ts";
import { type Conn, IPS_ASSURED, IPS_SEEN_REPLY, protoName, TCP_CT_NAMES, type Tuple } from "../netfilter/conntrack.ts";
import { IPPROTO_ICMP, IPPROTO_TCP } from "../wire/packet.ts";
import { formatIPv4, parseIPv4 } from "../wire/ipv4.ts";
import { ToolError, type Tool } from "./tool.ts";

const VERSION = "conntrack v1.4.7 (conntrack-tools)";

function tuple(t: Tuple): string {
  if (t.proto === IPPROTO_ICMP) return `src=${formatIPv4(t.src)} dst=${formatIPv4(t.dst)} type=${t.dport} code=0 id=${t.sport}`;
  return `src=${formatIPv4(t.src)} dst=${formatIPv4(t.dst)} sport=${t.sport} dport=${t.dport}`;
}

// conntrack's default (plain) output format, as nfct_snprintf writes it.
export function formatConn(c: Conn, now: number): string {
  const proto = c.tuple[0].proto;
  let s = `${protoName(proto).padEnd(8)} ${proto} ${Math.max(0, Math.ceil((c.timeout - now) / 1000))} `;
  if (proto === IPPROTO_TCP) s += `${TCP_CT_NAMES[c.tcp]} `;
  s += tuple(c.tuple[0]) + " ";
  if (!(c.status & IPS_SEEN_REPLY)) s += "[UNREPLIED] ";
  s += tuple(c.tuple[1]) + " ";
  if (c.status & IPS_ASSURED) s += "[ASSURED] ";
  s += `mark=${c.mark} use=1`;
  return s;
}

interface Filter {
  proto: number | null;
  src: number | null;
  dst: number | null;
}

function matches(c: Conn, f: Filter): boolean {
  const o = c.tuple[0];
  return (f.proto === null || o.proto === f.proto) && (f.src === null || o.src === f.src) && (f.dst === null || o.dst === f.dst);
}

export function conntrackTool(rt: NetfilterRuntime): Tool {
  return (argv, ctx) => {
    let cmd: "L" | "F" | "D" | "C" | null = null;
    const f: Filter = { proto: null, src: null, dst: null };
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i]!;
      const val = () => {
        const v = argv[++i];
        if (v === undefined) throw new ToolError(`${VERSION}: option \`${a}' requires an argument`);
        return v;
      };
      if (a === "-L" || a === "--dump") cmd = "L";
      else if (a === "-F" || a === "--flush") cmd = "F";
      else if (a === "-D" || a === "--delete") cmd = "D";
      else if (a === "-C" || a === "--count") cmd = "C";
      else if (a === "-p" || a === "--proto") {
        const p = val();
        f.proto = p === "tcp" ? 6 : p === "udp" ? 17 : p === "icmp" ? 1 : Number(p);
      } else if (a === "-s" || a === "--src" || a === "--orig-src" || a === "-d" || a === "--dst" || a === "--orig-dst") {
        const v = val();
        const addr = parseIPv4(v);
        if (addr === null) throw new ToolError(`${VERSION}: Bad parameter \`${v}'`);
        if (a.includes("s") && !a.includes("d")) f.src = addr;
        else f.dst = addr;
      } else if (a === "-n" || a === "-o" || a === "--output") {
        if (a !== "-n") val();
      } else if (a === "-E" || a === "--event" || a === "-U" || a === "-I" || a === "-G" || a === "-S") {
        throw new ToolError(`${VERSION}: pktpath does not model conntrack ${a} yet`);
      } else throw new ToolError(`${VERSION}: Invalid argument \`${a}'`);
    }
    const st = rt.state(ctx.ns);
    const now = ctx.host.now;
    const conns = rt.connections(ctx.ns).filter((c) => matches(c, f));
    switch (cmd ?? "L") {
      case "L":
        // The summary goes to stderr in the real tool; the emulator keeps it out of stdout too.
        return { stdout: conns.map((c) => formatConn(c, now) + "\n").join("") };
      case "C":
        return { stdout: `${conns.length}\n` };
      case "F":
        st.ct.flush();
        return { stdout: "" };
      case "D":
        if (!conns.length) throw new ToolError(`${VERSION}: 0 flow entries have been deleted.`);
        // Each deleted entry is printed as -L prints it (the count goes to stderr).
        for (const c of conns) st.ct.remove(c);
        return { stdout: conns.map((c) => formatConn(c, now) + "\n").join("") };
    }
    return { stdout: "" };
  };
}
