// The last check before a command runs as root on a real kernel. The command has
// already been accepted by the emulator's own parser (plan.ts plans only from those);
// this gate refuses, whatever the emulator models now or later, every token that could
// reach outside the run's namespaces: options that name files, batch input, `-all`,
// `exec` of anything, module loading programs, sysctl keys outside net. (resolved as
// procps resolves them), namespaces named by PID or path. It allows, per tool, only
// the options it knows to be harmless.
/** A command real-kernel mode will not run: the scenario is refused at that line. */
export class GateRefusal extends Error {
  constructor(message: string) {
    super(`pktpath: real-kernel mode does not run this: ${message}`);
    this.name = "GateRefusal";
  }
}

const NS_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** Only names under the run's own /run/netns: never a PID or a path (PID 1 would be the machine's). */
export function checkNsName(v: string | undefined): void {
  if (v === undefined || !NS_NAME.test(v) || /^\d+$/.test(v) || v === "." || v === "..") {
    throw new GateRefusal(`it names a namespace "${short(v ?? "")}" that is not one the scenario made by name`);
  }
}

function short(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** `ip netns exec NS` in front of a command: nothing else may wrap one. */
export function checkWrapper(w: readonly string[]): string {
  if (w[0] !== "ip" || w[1] !== "netns" || w[2] !== "exec") throw new GateRefusal(`"${short(w.join(" "))}" runs another command`);
  checkNsName(w[3]);
  return w[3]!;
}

// --- ip and bridge (iproute2): global options, then the object ---

/** iproute2 global options that only change output or the namespace by name, with their argument count. */
const IP_OPTIONS = new Map<string, number>([
  ["-4", 0], ["-6", 0], ["-0", 0], ["-s", 0], ["-stats", 0], ["-statistics", 0], ["-d", 0], ["-details", 0],
  ["-o", 0], ["-oneline", 0], ["-br", 0], ["-brief", 0], ["-j", 0], ["-json", 0], ["-p", 0], ["-pretty", 0],
  ["-c", 0], ["-color", 0], ["-N", 0], ["-Numeric", 0], ["-h", 0], ["-human", 0], ["-iec", 0], ["-t", 0], ["-ts", 0],
  ["-timestamp", 0], ["-f", 1], ["-family", 1], ["-n", 1], ["-netns", 1],
]);

/** ip's objects in the order ip.c matches an abbreviation against them (do_cmd). */
const IP_OBJECTS = ["address", "addrlabel", "maddress", "route", "rule", "neighbor", "neighbour", "ntable", "link", "l2tp", "fou", "ila", "macsec", "tunnel", "tunl", "tuntap", "tap", "token", "tcpmetrics", "monitor", "xfrm", "mroute", "mrule", "netns", "netconf", "vrf", "sr", "nexthop", "mptcp", "ioam", "stats", "help"];
const IP_ALLOWED = new Set(["address", "route", "neighbor", "neighbour", "link", "netns"]);
const NETNS_ALLOWED = new Set(["add", "delete", "list", "show"]);
const NETNS_SUBS = ["list", "list-id", "monitor", "add", "attach", "delete", "set", "identify", "pids", "exec", "show"];

/** iproute2's matches(): a non-empty prefix. */
function abbrev(word: string, table: readonly string[]): string | null {
  return word ? (table.find((t) => t.startsWith(word)) ?? null) : null;
}

/** Global options as iproute2 reads them (one leading "--" counts as "-"). */
function globalOptions(argv: readonly string[], tool: string): number {
  let i = 1;
  for (; i < argv.length && argv[i]!.startsWith("-"); i++) {
    const raw = argv[i]!;
    if (raw === "--") return i + 1;
    const o = raw.startsWith("--") ? raw.slice(1) : raw;
    const n = IP_OPTIONS.get(o.split("=")[0]!);
    if (n === undefined) throw new GateRefusal(`${tool} ${short(raw)} (only output options and -n NAME are run; -batch, -force and -all are not)`);
    if (o === "-n" || o === "-netns") checkNsName(argv[i + 1]);
    i += n;
  }
  return i;
}

/** `... netns NAME` anywhere (ip link set/add, peer): a name, never a PID or a path. */
function namedNamespaces(argv: readonly string[], from: number): void {
  for (let j = from; j < argv.length; j++) if (argv[j] === "netns") checkNsName(argv[j + 1]);
}

function checkIp(argv: readonly string[]): void {
  const i = globalOptions(argv, "ip");
  if (i >= argv.length) return;
  const obj = abbrev(argv[i]!, IP_OBJECTS);
  if (obj === null || !IP_ALLOWED.has(obj)) throw new GateRefusal(`ip ${short(argv[i]!)} (only ip link, address, route, neigh and netns are run)`);
  if (obj === "netns") {
    const sub = argv[i + 1] === undefined ? "list" : abbrev(argv[i + 1]!, NETNS_SUBS);
    if (sub === null || !NETNS_ALLOWED.has(sub)) throw new GateRefusal(`ip netns ${short(argv[i + 1] ?? "")} (only ip netns add, delete and list are run; exec only in front of a modelled command)`);
    if (sub === "add" || sub === "delete") checkNsName(argv[i + 2]);
    if (argv.length > i + 3) throw new GateRefusal(`ip netns ${sub} with more than a name`);
    return;
  }
  namedNamespaces(argv, i + 1);
}

const BRIDGE_OBJECTS = ["link", "fdb", "mdb", "vlan", "vni", "monitor"];

function checkBridge(argv: readonly string[]): void {
  const i = globalOptions(argv, "bridge");
  if (i >= argv.length) return;
  const obj = abbrev(argv[i]!, BRIDGE_OBJECTS);
  if (obj !== "link" && obj !== "fdb") throw new GateRefusal(`bridge ${short(argv[i]!)} (only bridge link and fdb are run)`);
}

// --- sysctl (procps-ng) ---

/**
 * The /proc/sys path procps opens for a key (sysctl.c slashdot()): when the key's first
 * separator is a dot, every dot becomes a slash and every slash a dot; when it is a
 * slash, the key is a path as written. Then the path as the kernel resolves it.
 */
export function sysctlPath(key: string): string[] | null {
  let k = key;
  const first = /[./]/.exec(k);
  if (first && first[0] === ".") k = k.replace(/[./]/g, (c) => (c === "." ? "/" : "."));
  const out: string[] = [];
  for (const part of k.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (!out.length) return null;
      out.pop();
    } else out.push(part);
  }
  return out;
}

/** A ".." step in the key, in either spelling (real keys never have one). */
function hasDotDot(key: string): boolean {
  const first = /[./]/.exec(key);
  const k = first && first[0] === "." ? key.replace(/[./]/g, (c) => (c === "." ? "/" : ".")) : key;
  return k.split("/").includes("..");
}

const SYSCTL_FLAGS = new Set(["w", "n", "q", "e", "N"]);
const SYSCTL_LONG = new Set(["--write", "--values", "--quiet", "--ignore", "--names"]);

function checkSysctl(argv: readonly string[]): void {
  for (const a of argv.slice(1)) {
    if (a.startsWith("--")) {
      if (!SYSCTL_LONG.has(a)) throw new GateRefusal(`sysctl ${short(a)} (only -w, -n, -q, -e and -N are run; -p, --load and --system read files)`);
    } else if (a.startsWith("-") && a.length > 1) {
      for (const c of a.slice(1)) if (!SYSCTL_FLAGS.has(c)) throw new GateRefusal(`sysctl ${short(a)} (only -w, -n, -q, -e and -N are run; -p, --load and --system read files)`);
    } else {
      const key = a.includes("=") ? a.slice(0, a.indexOf("=")).trim() : a;
      const path = sysctlPath(key);
      if (path === null || path[0] !== "net" || path.length < 2 || hasDotDot(key)) {
        throw new GateRefusal(`sysctl ${short(key)}: it resolves to /proc/sys/${path ? path.join("/") : "<outside /proc/sys>"}, and only net.* keys (the run's own namespace) are read or written`);
      }
    }
  }
}

// --- netfilter tools ---

/** iptables short options that take an argument (getopt string of iptables.c). */
const IPT_ARG = new Set(["A", "C", "D", "R", "I", "N", "E", "P", "o", "p", "s", "d", "j", "i", "t", "m", "c", "g", "M"]);

/** One iptables command's tokens: no --modprobe/-M (it runs a program), no pinned BPF objects (files). */
function checkIptablesArgs(tool: string, args: readonly string[]): void {
  for (const a of args) {
    if (a.startsWith("--")) {
      const name = a.slice(2).split("=")[0]!;
      if ((name.length >= 2 && "modprobe".startsWith(name)) || (name.length >= 2 && "object-pinned".startsWith(name))) {
        throw new GateRefusal(`${tool} ${short(a)} (it names a program or a file)`);
      }
    } else if (/^-[A-Za-z]/.test(a)) {
      for (const c of a.slice(1)) {
        if (c === "M") throw new GateRefusal(`${tool} ${short(a)} (-M names a program to run)`);
        if (IPT_ARG.has(c)) break;
      }
    }
  }
}

function checkOnlyOptions(tool: string, argv: readonly string[], flags: string, long: readonly string[], withArg: Record<string, RegExp>): void {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    const [name, inline] = a.startsWith("--") ? [a.split("=")[0]!, a.includes("=") ? a.slice(a.indexOf("=") + 1) : undefined] : [a, undefined];
    const re = withArg[name];
    if (re) {
      const v = inline ?? argv[++i];
      if (v === undefined || !re.test(v)) throw new GateRefusal(`${tool} ${short(a)} ${short(v ?? "")}`);
    } else if (long.includes(a)) continue;
    else if (new RegExp(`^-[${flags}]+$`).test(a)) continue;
    else throw new GateRefusal(`${tool} ${short(a)} (${a.startsWith("-") ? "an option that is not run" : "it names a file"})`);
  }
}

function lines(stdin: string | null): string[][] {
  return (stdin ?? "").split("\n").map((l) => l.trim().split(/\s+/).filter(Boolean));
}

// --- ipset, ipvsadm, conntrack, nft ---

function checkIpsetArgs(args: readonly string[]): void {
  for (const a of args) {
    const o = a.startsWith("--") ? a.slice(1) : a;
    if (o === "-f" || (o.length >= 3 && "-file".startsWith(o))) throw new GateRefusal(`ipset ${short(a)} (it names a file)`);
  }
}

const IPVSADM_DAEMON = ["--start-daemon", "--stop-daemon", "--mcast-interface", "--mcast-group", "--mcast-port", "--mcast-ttl", "--syncid", "--sync-maxlen"];

function checkIpvsadmArgs(args: readonly string[]): void {
  for (const a of args) {
    const name = a.split("=")[0]!;
    if (name.length >= 4 && IPVSADM_DAEMON.some((d) => d.startsWith(name))) throw new GateRefusal(`ipvsadm ${short(a)} (the sync daemon sends traffic)`);
  }
}

function checkConntrack(argv: readonly string[]): void {
  for (const a of argv.slice(1)) {
    const name = a.startsWith("--") ? a.slice(2).split("=")[0]! : null;
    if (a === "-R" || (name !== null && name.length >= 2 && "load-file".startsWith(name))) throw new GateRefusal(`conntrack ${short(a)} (it reads a file)`);
    if (a === "-E" || (name !== null && name.length >= 2 && "event".startsWith(name))) throw new GateRefusal(`conntrack ${short(a)} (it never ends)`);
  }
}

function checkNft(argv: readonly string[], stdin: string | null): void {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-f" || a === "--file") {
      if (argv[i + 1] !== "-") throw new GateRefusal(`nft ${a} ${short(argv[i + 1] ?? "")} (it names a file; use nft -f - <<EOF)`);
      i++;
    } else if (/^-[a-zA-Z]*[fIi]/.test(a) || /^--(f|fi|fil|file|i|in|inc|incl|inclu|includ|include|includep|includepa|includepat|includepath|inter|intera|interac|interact|interacti|interactiv|interactive)(=|$)/.test(a)) {
      throw new GateRefusal(`nft ${short(a)} (it names a file or reads commands interactively)`);
    }
  }
  const text = [...argv.slice(1), stdin ?? ""].join("\n");
  if (/(^|[\s;{])include\s/.test(text)) throw new GateRefusal("nft include (it reads a file)");
}

/**
 * Checks one innermost command (ns: where it runs) before it may run as root;
 * throws GateRefusal with what is refused and why.
 */
export function checkCommand(argv: readonly string[], stdin: string | null): void {
  const tool = argv[0] ?? "";
  switch (tool) {
    case "ip":
      return checkIp(argv);
    case "bridge":
      return checkBridge(argv);
    case "sysctl":
      return checkSysctl(argv);
    case "iptables":
      return checkIptablesArgs(tool, argv.slice(1));
    case "iptables-save":
      return checkOnlyOptions(tool, argv, "cb", ["--counters", "--binary"], { "-t": /^[a-z]+$/, "--table": /^[a-z]+$/ });
    case "iptables-restore":
      checkOnlyOptions(tool, argv, "cnvtb", ["--counters", "--noflush", "--verbose", "--test", "--binary"], { "-w": /^\d+$/, "--wait": /^\d+$/, "-W": /^\d+$/, "--wait-interval": /^\d+$/, "-T": /^[a-z]+$/, "--table": /^[a-z]+$/ });
      for (const l of lines(stdin)) checkIptablesArgs(tool, l);
      return;
    case "ipset":
      if (argv[1] === "-") throw new GateRefusal("ipset - (interactive mode)");
      checkIpsetArgs(argv.slice(1));
      for (const l of lines(stdin)) checkIpsetArgs(l);
      return;
    case "ipvsadm":
      checkIpvsadmArgs(argv.slice(1));
      for (const l of lines(stdin)) checkIpvsadmArgs(l);
      return;
    case "conntrack":
      return checkConntrack(argv);
    case "nft":
      return checkNft(argv, stdin);
    default:
      throw new GateRefusal(`${short(tool)} is not one of the tools real-kernel mode runs`);
  }
}
