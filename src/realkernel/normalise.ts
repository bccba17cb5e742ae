// Listings (ip, bridge, iptables-save, ipset, ipvsadm, conntrack) from the emulator and
// from the kernel, with what legitimately differs taken out before they are compared.
// Taken out, and why:
// - unicast MAC addresses -> "<mac>": the kernel draws them at random (addr_assign_type
//   1), the emulator derives them; multicast and broadcast MACs (01:00:5e:.., ff:ff:..)
//   follow from the IP groups and stay.
// - IPv6: inet6 addresses and their lifetime lines, IPv6 routes (fe80::/64, ff00::/8,
//   local ::1 ...), IPv6 neighbours and the 33:33:.. bridge FDB entries of IPv6
//   multicast groups: the emulator models no IPv6, the kernel runs it on every link.
// - `ip -d` timers (gc_timer, hello_timer, forward_delay_timer...): wall time.
// - counters: `ip -s` RX/TX lines (the kernel's count IPv6 and ARP noise), iptables byte
//   counts (the emulator cannot know exact segment sizes: TCP options, HTTP headers);
//   packet counts stay.
// - neighbour entries: their order (hash order in the kernel) and NUD state words
//   (REACHABLE/STALE/DELAY/PROBE/INCOMPLETE/FAILED move with wall time; PERMANENT and
//   NOARP stay, they are configuration).
// - conntrack -L: its order (hash order), the seconds left on each entry, `use=`,
//   ephemeral ports (>= 32768, drawn at random by the client's kernel), and entries to
//   multicast groups (224.0.0.0/4: IGMP reports sent on the kernel's own timers).
// - iptables-save's "# Generated/Completed" banners, ipvsadm's version banner, ipset's
//   random hash initval and "Size in memory" (kernel allocation sizes).
// - the order of IPVS services in ipvsadm -L/-S: the kernel's service table hash mixes
//   in the address of the namespace's netns_ipvs (ip_vs_svc_hashkey()), so it changes
//   from one namespace to the next; each service stays with its real servers.
// - trailing blanks on each line (iproute2 prints some after the last word).
import { splitLine } from "../tool/shell.ts";
import { unwrap } from "../commands/vocabulary.ts";

const MAC = /\b([0-9a-f]{2})(:[0-9a-f]{2}){5}\b/gi;
const ROUTE_TYPES = new Set(["unicast", "local", "broadcast", "multicast", "anycast", "unreachable", "prohibit", "blackhole", "throw", "nat"]);
const NUD_TRANSIENT = /\s+(REACHABLE|STALE|DELAY|PROBE|INCOMPLETE|FAILED)$/;

function macs(line: string): string {
  return line.replace(MAC, (m) => {
    const lower = m.toLowerCase();
    if (lower === "ff:ff:ff:ff:ff:ff" || lower === "00:00:00:00:00:00") return lower;
    return parseInt(lower.slice(0, 2), 16) & 1 ? lower : "<mac>";
  });
}

function isIPv6(token: string | undefined): boolean {
  // At least two colons (a MAC has five, and is not an address).
  return token !== undefined && /^[0-9a-f]*:[0-9a-f]*:[0-9a-f:.]*(\/\d+)?$/i.test(token) && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(token);
}

/** The first address-like word of a route or neighbour line (after a route type). */
function leadWord(line: string): string | undefined {
  const t = line.trim().split(/\s+/);
  return ROUTE_TYPES.has(t[0]!) ? t[1] : t[0];
}

/** The tool and its object: ["ip", "neigh"], ["bridge", "fdb"], ["iptables-save"]. */
export function listingKind(command: string): { tool: string; object: string } {
  let argv: string[] = [];
  try {
    argv = unwrap(splitLine(command)[0]?.argv ?? []).inner;
  } catch {
    argv = command.trim().split(/\s+/);
  }
  const tool = argv[0] ?? "";
  let i = 1;
  while (i < argv.length && argv[i]!.startsWith("-")) i += ["-n", "-netns", "-f", "-family"].includes(argv[i]!) ? 2 : 1;
  return { tool, object: argv[i] ?? "" };
}

function ipLines(object: string, lines: string[]): string[] {
  const neigh = /^n(e(i(g(h(b(o(u(r)?)?)?)?)?)?)?)?$/.test(object);
  const out: string[] = [];
  let counters = false;
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!;
    if (/(^|\s)inet6\s/.test(l)) {
      if (/^\s+valid_lft/.test(lines[i + 1] ?? "")) i++;
      continue;
    }
    if (!/^\s/.test(l) && (isIPv6(leadWord(l)) || isIPv6(/\svia\s+(\S+)/.exec(l)?.[1]))) continue;
    if (counters) {
      // Column widths follow the numbers' widths: one N per column, single spaces.
      l = `    ${l.trim().split(/\s+/).map(() => "N").join(" ")}`;
      counters = false;
    } else if (/^\s+(RX|TX)(:|\s)/.test(l)) counters = true;
    // ip -br addr: IPv6 addresses inline after the IPv4 ones.
    l = l.split(/(\s+)/).filter((w) => !(isIPv6(w) && w.includes("/"))).join("").trimEnd();
    if (neigh) l = l.replace(NUD_TRANSIENT, "");
    // ip -d: bridge and port timers run with wall time.
    l = l.replace(/\b(\w+_timer)\s+[\d.]+/g, "$1 *");
    out.push(l);
  }
  return neigh ? out.sort() : out;
}

export function normaliseListing(command: string, output: string): string[] {
  const { tool, object } = listingKind(command);
  let lines = output.split("\n").map((l) => l.trimEnd());
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  const normalise = Object.hasOwn(BY_TOOL, tool) ? BY_TOOL[tool] : undefined;
  if (normalise) lines = normalise(lines, object, command);
  return lines.map(macs);
}

/** What differs between two runs of one tool's listing for reasons other than the dataplane, per tool. */
const BY_TOOL: Record<string, (lines: string[], object: string, command: string) => string[]> = {
  ip: (lines, object) => ipLines(object, lines),
  bridge: (lines, object) => (object === "fdb" ? lines.filter((l) => !/^33:33:/i.test(l)) : lines),
  "iptables-save": (lines) => lines.filter((l) => !l.startsWith("#")).map((l) => l.replace(/\[(\d+):\d+\]/g, "[$1:*]")),
  iptables: (lines) =>
    lines.map((l) =>
      l
        .replace(/\(policy (\S+) (\d+) packets, \d+[KMGT]? bytes\)/, "(policy $1 $2 packets, * bytes)")
        .replace(/^(\s*\d+[KMGT]?\s+)\d+[KMGT]?(\s)/, "$1*$2")
        .replace(/\[(\d+):\d+\]/g, "[$1:*]"),
    ),
  conntrack: conntrackLines,
  ipset: ipsetLines,
  ipvsadm: (lines, _object, command) => ipvsadmLines(lines, command),
};

function conntrackLines(lines: string[]): string[] {
  return (
    lines
      .filter((l) => !/flow entries have been shown/.test(l))
      // IGMP reports the kernel sends on its own timers (224.0.0.22, 224.0.0.x).
      .filter((l) => !/^\S+\s+\d+\s+\d+\s+(\S+\s+)?src=\S+ dst=2(2[4-9]|3\d)\./.test(l))
      .map((l) =>
        l
          .replace(/^(\S+\s+\d+\s+)\d+/, "$1*")
          .replace(/\s+use=\d+/, "")
          // A reply port that is not the original source port was picked by source NAT
          // (nf_nat_l4proto_unique_tuple: at random on a kernel).
          .replace(/( sport=(\d+) dport=\d+ .*? sport=\d+ dport=)(\d+)/, (m, head: string, orig: string, reply: string) => (orig === reply ? m : `${head}*`))
          .replace(/\b(sport|dport)=(\d+)/g, (m, k: string, p: string) => (Number(p) >= 32768 ? `${k}=*` : m)),
      )
      .sort()
  );
}

function ipsetLines(input: string[]): string[] {
  const lines = input.map((l) => l.replace(/initval 0x[0-9a-f]+/i, "initval *").replace(/^Size in memory: \d+/, "Size in memory: *"));
  // Members come out in hash order, which follows the random initval: sort them.
  const at = lines.indexOf("Members:");
  if (at < 0) return lines;
  let end = at + 1;
  while (end < lines.length && lines[end] !== "" && !lines[end]!.startsWith("Name:")) end++;
  return [...lines.slice(0, at + 1), ...lines.slice(at + 1, end).sort(), ...lines.slice(end)];
}

function ipvsadmLines(input: string[], command: string): string[] {
  let lines = input.map((l) => l.replace(/^IP Virtual Server version \S+ \(size=\d+\)/, "IP Virtual Server version *"));
  if (/(^|\s)-[A-Za-z]*c[A-Za-z]*(\s|$)/.test(command) || command.includes("--connection")) {
    // -Lc: hash order, seconds left, and the clients' ephemeral ports (random on a kernel).
    const head = lines.slice(0, 2);
    const body = lines
      .slice(2)
      .map((l) => l.replace(/^(\S+\s+)\d\d:\d\d/, "$1**:**").replace(/(\d+\.\d+\.\d+\.\d+):(\d+)/, (m, a: string, p: string) => (Number(p) >= 32768 ? `${a}:*` : m)).replace(/\s+/g, " "))
      .sort();
    lines = [...head, ...body];
  } else {
    lines = sortServiceBlocks(lines);
  }
  if (command.includes("--stats") || command.includes("--rate")) {
    // Packets and bytes depend on the applications' segments (the kernel's probe and server
    // agents are not curl and python).
    // The kernel sums its per-CPU counters in the estimator's periodic work, so what a
    // listing shows right after traffic lags behind: none of the numbers is compared.
    lines = lines.map((l) => l.replace(/(\s+\d+[KMG]?){5}\s*$/, " * * * * *"));
  }
  return lines;
}

/** ipvsadm -L / -S: each service with the lines under it, services sorted (hash order on a kernel). */
function sortServiceBlocks(lines: string[]): string[] {
  const starts = /^(TCP|UDP|SCTP|FWM)\s|^-A\s/;
  const first = lines.findIndex((l) => starts.test(l));
  if (first < 0) return lines;
  const blocks: string[][] = [];
  for (const l of lines.slice(first)) {
    if (starts.test(l) || !blocks.length) blocks.push([l]);
    else blocks[blocks.length - 1]!.push(l);
  }
  blocks.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  return [...lines.slice(0, first), ...blocks.flat()];
}

/** A line diff (longest common subsequence): "  same", "- emulator only", "+ kernel only". */
export function lineDiff(a: string[], b: string[]): string[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) out.push(`+ ${b[j++]}`);
    else out.push(`- ${a[i++]}`);
  }
  return out;
}
