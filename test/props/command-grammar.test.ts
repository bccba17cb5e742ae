// command-grammar: command lines generated from the grammars of ip, iptables, ipset,
// sysctl and conntrack (valid and invalid: keyword prefixes, long-option abbreviations,
// service names, comma lists, limits in bytes, values out of range) are run by the real
// tools in a fresh network namespace each and by the emulator; the exit status, the
// error text and the listings that follow must agree. A disagreement is shrunk to the
// fewest lines that still disagree and printed as a scenario.
// ipvsadm is left out: this kernel has no IPVS (its forms are unit tests, from ipvsadm.c).
// Skipped, with the reason, when not root or the tools are missing.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { SEED, runs, timeoutMs } from "./config.ts";
import { canRunReal, emulatorTranscript, normalise } from "../commands/transcript.ts";

const COUNT = runs(Number(process.env.PROPS_GRAMMAR_CASES ?? 100));
const real = canRunReal();
if (!real) console.log("command-grammar skipped: needs root and ip, iptables (nf_tables), ipset, conntrack on this machine");

/** mulberry32: a small seeded generator, so a case is reproduced from SEED and its index. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type R = () => number;
const pick = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const maybe = (r: R, p: number, s: string): string => (r() < p ? s : "");
const join = (...parts: string[]) => parts.filter((p) => p !== "").join(" ");

interface Case {
  setup: string[];
  cmds: string[];
  listing: string[];
}

// ---- ip -----------------------------------------------------------------------------
const NAMES = ["v0", "v1", "br0", "d0", "a", "br", "t", "peer", "abcdefghijklmno", "abcdefghijklmnop", "éééééééé", "ééééééé", "x:1", "dev"];
const MTUS = ["68", "67", "1400", "1500", "9000", "65535", "65536", "abc", "0x600"];
const MACS = ["02:00:00:00:00:01", "2:0:0:0:0:2", "00:11", "zz", "02:00:00:00:00:03:04"];
const ADDRS = ["10.1.0.1/24", "10.1.0.2/24", "10.2.0.1/16", "10.1.0.1", "10.1.0.300/24", "127.0.0.2/8", "10.1.0.9/33"];

function linkAttr(r: R, withNetns: boolean): string {
  return pick(r, [
    "up",
    "down",
    `mtu ${pick(r, MTUS)}`,
    `address ${pick(r, MACS)}`,
    `master ${pick(r, ["br0", "nosuch"])}`,
    "promisc on",
    withNetns ? `netns ${pick(r, ["ns0", "nosuch"])}` : "up",
    `name ${pick(r, NAMES)}`,
  ]);
}

function ipCommand(r: R): string {
  const word = (full: string, ...abbr: string[]) => pick(r, [full, ...abbr]);
  switch (Math.floor(r() * 9)) {
    case 0:
    case 1: {
      const attrs = Array.from({ length: Math.floor(r() * 3) }, () => linkAttr(r, true)).filter((a) => !a.startsWith("name"));
      const peer = r() < 0.7 ? join("peer", maybe(r, 0.8, "name"), pick(r, NAMES), ...Array.from({ length: Math.floor(r() * 2) }, () => pick(r, [`netns ${pick(r, ["ns0", "nosuch"])}`, `mtu ${pick(r, MTUS)}`, "type veth"]))) : "";
      return join("ip", word("link", "l", "li"), word("add", "a"), maybe(r, 0.3, pick(r, ["dev", "name"])), pick(r, NAMES), ...attrs, "type", "veth", peer);
    }
    case 2:
      return join("ip", "link", "add", pick(r, NAMES), ...Array.from({ length: Math.floor(r() * 2) }, () => pick(r, ["up", `mtu ${pick(r, MTUS)}`])), "type", pick(r, ["bridge", "bridge", "vlan", "nosuchtype"]));
    case 3:
      return join("ip", word("link", "l"), word("set", "s"), maybe(r, 0.6, "dev"), pick(r, ["v0", "br0", "lo", "nosuch"]), ...Array.from({ length: 1 + Math.floor(r() * 2) }, () => linkAttr(r, true)));
    case 4:
      return join("ip", "link", word("delete", "del", "d"), maybe(r, 0.5, "dev"), pick(r, ["v0", "br0", "lo", "nosuch"]));
    case 5:
      return join("ip", word("address", "addr", "a"), word("add", "a"), pick(r, ADDRS), "dev", pick(r, ["v0", "v0:1", "lo", "lo:x", "nosuch"]), maybe(r, 0.3, `label ${pick(r, ["v0:1", "lo:2", "foo", "abcdefghijklmnop"])}`), maybe(r, 0.2, `scope ${pick(r, ["link", "host", "global", "253", "nowhere"])}`), maybe(r, 0.2, "brd +"));
    case 6:
      return join("ip", word("address", "a"), word("delete", "del", "d"), pick(r, ADDRS), "dev", pick(r, ["v0", "lo"]));
    case 7:
      return join("ip", word("route", "r", "ro"), word("add", "a", "replace", "del"), pick(r, ["10.9.0.0/16", "default", "10.9.9.9", "10.9.0.0/33"]), maybe(r, 0.6, `via ${pick(r, ["10.1.0.254", "10.2.0.254", "10.3.0.1"])}`), maybe(r, 0.5, `dev ${pick(r, ["v0", "lo", "nosuch"])}`), maybe(r, 0.3, `${word("metric", "m", "pri")} ${pick(r, ["10", "x"])}`), maybe(r, 0.2, "onlink"));
    default:
      return join("ip", word("route", "r"), word("get", "g"), pick(r, ["10.1.0.2", "10.2.3.4", "127.0.0.1", "8.8.8.8", "bad"]));
  }
}

function ipCase(r: R): Case {
  return {
    setup: ["ip link set lo up", "ip netns add ns0", "ip link add br0 type bridge", "ip link add v0 type veth peer name v0p", "ip link set v0 up", "ip addr add 10.1.0.1/24 dev v0"],
    cmds: Array.from({ length: 1 + Math.floor(r() * 3) }, () => ipCommand(r)),
    listing: ["ip link", "ip -n ns0 link", "ip addr", "ip route show table all"],
  };
}

// ---- iptables -----------------------------------------------------------------------
const CHAINS = ["INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING", "KUBE-X", "nosuch"];
function iptMatch(r: R): string {
  return pick(r, [
    join("-p", pick(r, ["tcp", "udp"]), pick(r, ["--dport", "--dp", "--d", "--sport", "--destination-port"]), pick(r, ["22", "ssh", "http", "10:5", "5:10", "nosuchsvc", "70000"])),
    join("-p tcp -m multiport", pick(r, ["--dports", "--dport", "--ports"]), pick(r, ["http,https", "22,80", "1:3,8"])),
    join(pick(r, ["-s", "--so", "--src", "-d", "--dst", "--de"]), pick(r, ["10.0.0.1", "10.0.0.1,10.0.0.2", "10.0.0.0/8", "10.0.0.1,", "1.2.3.4/33", "1.2.3"])),
    join("!", pick(r, ["-s", "-d"]), pick(r, ["10.0.0.1", "10.0.0.1,10.0.0.2"])),
    join(pick(r, ["-i", "-o"]), pick(r, ["eth0", "veth+", "abcdefghijklmnop"])),
    join("-m comment", pick(r, ["--comment", "--comm", "--c"]), pick(r, ["hi", '"hello world"', "a".repeat(257)])),
    join("-m conntrack", pick(r, ["--ctstate", "--cts", "--ctstat"]), pick(r, ["NEW", "ESTABLISHED,RELATED", "BOGUS"])),
    join("-m mark", maybe(r, 0.8, `--mark ${pick(r, ["0x1", "1/0xff", "x"])}`)),
    join("-m limit", pick(r, ["--limit", "--li"]), pick(r, ["1/s", "0/s", "5/minute", "x"])),
    "-m conntrack",
  ]);
}
function iptTarget(r: R): string {
  return pick(r, [
    "-j ACCEPT",
    "-j DROP",
    "-j RETURN",
    "-j KUBE-X",
    join("-j DNAT", pick(r, ["--to-destination", "--to", "--to-d"]), pick(r, ["10.0.0.2", "10.0.0.2:80", "10.0.0.2:http", "10.0.0.2:1-5"])),
    join("-j SNAT", pick(r, ["--to-source", "--to"]), pick(r, ["10.0.0.3", "10.0.0.3:1024-2000"])),
    join("-j MASQUERADE", maybe(r, 0.5, pick(r, ["--to-ports 1024-2000", "--to 1024", "--random"]))),
    join("-j REDIRECT", pick(r, ["--to-ports", "--to-port", "--to"]), pick(r, ["3128", "3128-3130"])),
    join("-j MARK", pick(r, ["--set-mark 0x1", "--set-xmark 1/1"])),
    join("-j REJECT", maybe(r, 0.5, "--reject-with tcp-reset")),
  ]);
}
function iptCommand(r: R): string {
  const table = pick(r, ["", "", "-t nat", "-t mangle", "-t raw", "--table nat", "-t nosuch"]);
  const chain = pick(r, CHAINS);
  switch (Math.floor(r() * 8)) {
    case 0:
    case 1:
    case 2:
      return join("iptables", table, pick(r, ["-A", "--append", "--app", "--a", "-I"]), chain, ...Array.from({ length: Math.floor(r() * 3) }, () => iptMatch(r)), maybe(r, 0.85, iptTarget(r)));
    case 3:
      return join("iptables", table, pick(r, ["-D", "-R", "-I"]), chain, pick(r, ["1", "2", "99", "0"]), maybe(r, 0.6, join(iptMatch(r), iptTarget(r))));
    case 4:
      return join("iptables", table, pick(r, ["-N", "--new", "-X", "-F", "-Z"]), pick(r, ["KUBE-Y", "KUBE-X", "INPUT", "abcdefghijklmnopqrstuvwxyzab", "abcdefghijklmnopqrstuvwxyzabc", "éééééééééééééé", "ééééééééééééééé"]));
    case 5:
      return join("iptables", table, pick(r, ["-P", "--policy"]), chain, pick(r, ["ACCEPT", "DROP", "RETURN", "bogus"]));
    case 6:
      // Not yet: a new name of 29 bytes or more, which iptables-nft takes (apply.ts refuses it).
      return join("iptables", table, pick(r, ["-E", "--rename-chain"]), "KUBE-X", pick(r, ["KUBE-Z", "INPUT", "abcdefghijklmnopqrstuvwxyzab"]));
    default:
      return join("iptables", table, pick(r, ["-C", "--check", "-S", "-L -n", "--lis", "--list-n"]), pick(r, ["INPUT", "KUBE-X", "nosuch", ""]), maybe(r, 0.4, join(iptMatch(r), iptTarget(r))));
  }
}
function iptablesCase(r: R): Case {
  return {
    setup: ["iptables -N KUBE-X", "iptables -t nat -N KUBE-X", "iptables -A INPUT -s 10.9.9.9 -j ACCEPT"],
    cmds: Array.from({ length: 1 + Math.floor(r() * 3) }, () => iptCommand(r)),
    listing: ["iptables -S", "iptables -t nat -S", "iptables -t mangle -S"],
  };
}

// ---- ipset --------------------------------------------------------------------------
const SETS = ["s", "p", "n", "abcdefghijklmnopqrstuvwxyzabcde", "abcdefghijklmnopqrstuvwxyzabcdef", "éééééééééééééééé", "nosuch"];
function ipsetCommand(r: R): string {
  const set = pick(r, SETS);
  switch (Math.floor(r() * 6)) {
    case 0:
      return join("ipset", pick(r, ["create", "-N", "n"]), set, pick(r, ["hash:ip", "hash:ip,port", "hash:net", "bitmap:port range 1-100", "list:set", "hash:bogus"]), maybe(r, 0.3, pick(r, ["timeout 10", "family inet", "maxelem 10", "-exist", "comment"])));
    case 1:
    case 2:
      return join("ipset", pick(r, ["add", "-A", "del", "-D", "test", "-T"]), set, pick(r, ["10.0.0.1", "10.0.0.1,tcp:80", "10.0.0.1,tcp:http", "10.0.0.1,udp:domain", "10.0.0.0/24", "10.0.0.300", "s", "80"]), maybe(r, 0.2, pick(r, ["-exist", "-q", "nomatch", "timeout 5"])));
    case 3:
      return join("ipset", pick(r, ["flush", "destroy", "-X", "-F"]), maybe(r, 0.8, set));
    case 4:
      return join("ipset", pick(r, ["rename", "-E", "swap", "-W"]), set, pick(r, SETS));
    default:
      return join("ipset", pick(r, ["list", "-L", "list -t", "list -n", "save"]), maybe(r, 0.5, set));
  }
}
function ipsetCase(r: R): Case {
  return {
    setup: ["ipset create s hash:ip", "ipset add s 10.0.0.1", "ipset create p hash:ip,port"],
    cmds: Array.from({ length: 1 + Math.floor(r() * 3) }, () => ipsetCommand(r)),
    listing: ["ipset list -n", "ipset list -t"],
  };
}

// ---- sysctl -------------------------------------------------------------------------
const KEYS = ["net.ipv4.ip_forward", "net/ipv4/ip_forward", "net.ipv4.conf.all.forwarding", "net.ipv4.conf.lo.forwarding", "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter", "net.ipv4.ip_local_port_range", "net.ipv4.conf.lo.arp_ignore", "net.nosuch", "net.ipv4.conf.nosuch.forwarding"];
function sysctlCommand(r: R): string {
  const opts = pick(r, ["", "-w", "-q", "-qw", "-wq", "-n", "-nw", "-e", "-ew", "-N", "-b", "--write", "--wr", "--quiet -w", "--values", "--n", "-z", "--bogus"]);
  const item = () => {
    const k = pick(r, KEYS);
    // Per-device values and ip_forward take any int (proc_dointvec); ip_local_port_range
    // refuses low > high and low < 1024.
    const values = k.endsWith("ip_local_port_range") ? ["'1024 65000'", "abc", "'32768 60999'", "'1000 2000'", "'2000 1024'", "'1024 1024'"] : ["0", "1", "abc", "2", "3", "-1", "2147483648"];
    return r() < 0.6 ? `${k}=${pick(r, values)}` : k;
  };
  return join("sysctl", opts, ...Array.from({ length: Math.floor(r() * 3) }, item));
}
function sysctlCase(r: R): Case {
  return {
    setup: [],
    cmds: Array.from({ length: 1 + Math.floor(r() * 3) }, () => sysctlCommand(r)),
    listing: ["sysctl net.ipv4.ip_forward net.ipv4.conf.all.forwarding net.ipv4.conf.lo.forwarding net.ipv4.conf.default.forwarding net.ipv4.conf.all.rp_filter net.ipv4.ip_local_port_range"],
  };
}

// ---- conntrack (an empty table: the grammar and its errors) -------------------------
function conntrackCommand(r: R): string {
  const filter = () =>
    pick(r, [
      `-p ${pick(r, ["tcp", "udp", "TCP", "6", "foo", "300", "icmp"])}`,
      `${pick(r, ["--dport", "--dp", "--sport", "--orig-port-dst", "--reply-port-src", "--state", "--tuple-port-src"])} ${pick(r, ["80", "abc", "ESTABLISHED", "established"])}`,
      `${pick(r, ["-s", "-d", "--src", "--orig-src", "--reply-src", "-r", "-q", "--or"])} ${pick(r, ["10.0.0.1", "1.2.3", "abc", "10.0.0.0/24"])}`,
      pick(r, ["--dst-nat", "--src-nat", "-g 10.0.0.1", "-n", "-j", "--any-nat=10.0.0.1"]),
      `${pick(r, ["-u", "--status"])} ${pick(r, ["ASSURED", "SEEN_REPLY,ASSURED", "FOO"])}`,
      `${pick(r, ["-m", "--mark"])} ${pick(r, ["1", "0x10/0xff"])}`,
      `-f ${pick(r, ["ipv4", "ipv5"])}`,
      pick(r, ["--bogus", "-x", "-p"]),
    ]);
  return join("conntrack", pick(r, ["-L", "--dump", "--du", "-D", "-C", "-F", "-L -L", "--dum", ""]), ...Array.from({ length: Math.floor(r() * 3) }, filter));
}
function conntrackCase(r: R): Case {
  return { setup: [], cmds: Array.from({ length: 1 + Math.floor(r() * 2) }, () => conntrackCommand(r)), listing: [] };
}

const GENERATORS: [string, (r: R) => Case][] = [
  ["ip", ipCase],
  ["iptables", iptablesCase],
  ["ipset", ipsetCase],
  ["sysctl", sysctlCase],
  ["conntrack", conntrackCase],
];

function linesOf(c: Case): string[] {
  return [...c.setup.map((l) => "@" + l), ...c.cmds, ...c.listing];
}

/** The listings' link state lags behind on the kernel (linkwatch): compare names, flags set by the user, MTU, master. */
function steady(text: string): string {
  return normalise(text)
    .split("\n")
    .map((l) =>
      l
        .replace(/<([^>]*)>/, (_m, f: string) => `<${f.split(",").filter((x) => !["NO-CARRIER", "LOWER_UP", "M-DOWN"].includes(x)).join(",")}>`)
        .replace(/ state [A-Z]+ /, " state - ")
        .replace(/ linkdown ?/, " ")
        .replace(/ +$/, ""),
    )
    .join("\n");
}

/** Real transcripts of many cases from one bash, each case in its own namespace. */
function realBatch(cases: Case[]): string[] {
  const script = cases
    .map((c, k) => {
      const body = linesOf(c)
        .map((l) => {
          if (l.startsWith("@")) return `${l.slice(1)} >/dev/null 2>&1 </dev/null`;
          const q = `'${l.replace(/'/g, `'\\''`)}'`;
          return `printf '$ %s\\n' ${q}; ( timeout 5 ${l} ) </dev/null 2>&1; echo rc=$?`;
        })
        .join("\n");
      const inner = `mount -t tmpfs none /run && mkdir -p /run/netns && ${body}`;
      return `echo '=====CASE ${k}'; unshare --net --mount bash -c '${inner.replace(/'/g, `'\\''`)}'`;
    })
    .join("\n");
  const r = spawnSync("bash", ["-c", script], { encoding: "utf8", timeout: 170_000, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  const parts = r.stdout.split(/^=====CASE \d+\n/m).slice(1);
  return parts;
}

function asScenario(tool: string, c: Case): string {
  const lines = [...c.setup, ...c.cmds, ...c.listing];
  return `name: command-grammar counterexample (${tool})\nsteps:\n  - run: |\n${lines.map((l) => `      ${l}`).join("\n")}\n`;
}

/** Drops commands while the case still disagrees: the fewest lines that show the difference. */
function shrink(c: Case, disagrees: (c: Case) => boolean): Case {
  let cur = c;
  for (const key of ["cmds", "setup", "listing"] as const) {
    for (let i = cur[key].length - 1; i >= 0; i--) {
      if (key === "cmds" && cur.cmds.length === 1) break;
      const next = { ...cur, [key]: cur[key].filter((_, j) => j !== i) };
      if (disagrees(next)) cur = next;
    }
  }
  return cur;
}

describe.skipIf(!real)("command-grammar", () => {
  it(
    `${COUNT} generated command lines agree with the real tools (seed ${SEED})`,
    () => {
      const r = rng(SEED);
      const cases: [string, Case][] = [];
      for (let k = 0; k < COUNT; k++) {
        const [tool, gen] = GENERATORS[k % GENERATORS.length]!;
        cases.push([tool, gen(r)]);
      }
      const reals = realBatch(cases.map(([, c]) => c));
      const bad: string[] = [];
      let failures = 0;
      cases.forEach(([tool, c], k) => {
        const ours = steady(emulatorTranscript(linesOf(c)));
        if (ours === steady(reals[k] ?? "")) return;
        // Shrinking reruns the real tools: only the first few are shrunk, the rest printed whole.
        if (++failures > 5) {
          const o = ours.split("\n");
          const t = steady(reals[k] ?? "").split("\n");
          const at = o.findIndex((l, i) => l !== t[i]);
          bad.push(`${asScenario(tool, c)}# first difference, line ${at + 1}:\n#   pktpath: ${o[at]}\n#   kernel:  ${t[at]}\n`);
          return;
        }
        const small = shrink(c, (x) => steady(emulatorTranscript(linesOf(x))) !== steady(realBatch([x])[0] ?? ""));
        const o = steady(emulatorTranscript(linesOf(small))).split("\n");
        const t = steady(realBatch([small])[0] ?? "").split("\n");
        const at = o.findIndex((l, i) => l !== t[i]);
        bad.push(`${asScenario(tool, small)}# first difference, line ${at + 1}:\n#   pktpath: ${o[at]}\n#   kernel:  ${t[at]}\n`);
      });
      if (bad.length) console.log(`command-grammar: ${bad.length} of ${COUNT} cases disagree\n\n${bad.join("\n")}`);
      expect(bad).toEqual([]);
    },
    timeoutMs(170_000),
  );
});
