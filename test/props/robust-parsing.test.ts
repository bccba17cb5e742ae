// robust-parsing: any command line, valid or mangled, over ip, bridge, sysctl, iptables,
// ipset, ipvsadm, curl, nc and ping, ends in a result or a ToolError (the tool's own
// words), never another exception; and a command that fails leaves the configuration
// snapshot as it was (the very same object).
import { describe, it } from "vitest";
import fc from "fast-check";
import { ToolError } from "../../src/commands/tool.ts";
import { params, timeoutMs } from "./config.ts";
import { newHost, play, ROUTED, toYaml } from "./world.ts";

/** Words each tool understands, so that generated lines get past the first check often. */
const WORDS: Record<string, string[]> = {
  ip: ["link", "addr", "address", "route", "neigh", "netns", "add", "del", "set", "show", "dev", "up", "down", "type", "veth", "bridge", "dummy", "peer", "name", "master", "nomaster", "via", "default", "exec", "lo", "ra", "r1", "proto", "scope", "table", "local", "-4", "-br", "-j", "-d", "-n", "r", "a", "flush", "lladdr", "nud", "permanent", "mtu", "netns"],
  bridge: ["fdb", "link", "vlan", "show", "add", "del", "dev", "br", "master", "self", "-d", "00:11:22:33:44:55"],
  sysctl: ["-w", "--write", "-n", "-a", "net.ipv4.ip_forward=1", "net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter=2", "net.ipv4.vs.conntrack=1", "net.ipv4.ip_local_port_range=1 2", "net.nothing=1", "net.ipv4.conf.ra.forwarding=0"],
  iptables: ["-t", "nat", "filter", "mangle", "raw", "-A", "-I", "-D", "-R", "-N", "-X", "-F", "-Z", "-P", "-L", "-S", "-n", "-v", "INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING", "X", "-s", "-d", "-p", "tcp", "udp", "icmp", "--dport", "--sport", "-i", "-o", "-m", "comment", "--comment", "conntrack", "--ctstate", "NEW,ESTABLISHED", "multiport", "--dports", "set", "--match-set", "s", "src,dst", "-j", "ACCEPT", "DROP", "REJECT", "DNAT", "--to-destination", "SNAT", "--to-source", "MASQUERADE", "--to-ports", "MARK", "--set-xmark", "!", "1", "2"],
  ipset: ["create", "add", "del", "test", "list", "save", "flush", "destroy", "swap", "rename", "-exist", "-n", "-t", "s", "t", "hash:ip", "hash:net", "hash:ip,port", "bitmap:port", "list:set", "range", "timeout", "counters", "comment", "maxelem", "family", "inet", "nomatch", "packets", "bytes", "tcp:80", "10.0.0.1,tcp:80"],
  ipvsadm: ["-A", "-E", "-D", "-a", "-e", "-d", "-C", "-L", "-l", "-n", "-c", "-S", "-Z", "-t", "-u", "-f", "-s", "rr", "wrr", "sh", "mh", "nosuch", "-r", "-m", "-g", "-i", "-w", "-x", "-y", "-p", "-M", "-b", "sh-port", "--set", "--stats", "--rate", "--timeout", "--persistent-conn", "10.8.8.8:80", "10.8.8.8", "192.168.1.2:80"],
  curl: ["-m", "-s", "-o", "/dev/null", "http://10.0.1.1:80", "192.168.1.2:80", "https://x", "--max-time", "0.5"],
  nc: ["-z", "-w", "-u", "-l", "-v", "-p", "192.168.1.2", "80", "53", "0", "65536"],
  ping: ["-c", "-W", "-w", "-b", "-i", "192.168.1.2", "10.0.1.255", "1", "2"],
};

/** Words that break things: bad numbers, addresses and masks, quotes, escapes, huge values. */
const MANGLED = ["", "-", "--", "---x", "999999999999999999999", "-1", "0x", "1e9", "NaN", "10.0.0.256", "10.0.0.1/33", "10.0.0.1/-1", "::1", "10..0.1", "1.2.3", "256.1.1.1:80", "10.0.0.1:", ":80", "10.0.0.1:99999", "a,b,c", ",,", "=", "x=y=z", "'", '"', "\\", "'a b'", '"unterminated', "$HOME", "#comment", "<", ">", "ü", "\u0000", "\t", "r/..", "../x", "%s", "{}", "[]", "0/0", "255.255.255.255", "0.0.0.0"];

const toolArb = fc.constantFrom(...Object.keys(WORDS));
const lineArb = toolArb.chain((tool) =>
  fc
    .record({
      ns: fc.constantFrom("", "", "ip netns exec r ", "ip netns exec a ", "ip netns exec nosuch ", "ip -n r "),
      words: fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...WORDS[tool]!) }, { weight: 1, arbitrary: fc.constantFrom(...MANGLED) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }), { maxLength: 9 }),
      stdin: fc.option(fc.constantFrom("*nat\n-A PREROUTING -j ACCEPT\nCOMMIT\n", "create x hash:ip\nadd x 1.2.3.4\nbogus\n", "-A -t 10.1.1.1:80 -s rr\n", "garbage"), { freq: 4 }),
    })
    .map(({ ns, words, stdin }) => {
      // A word with a space or a quote is passed quoted half the time, raw otherwise.
      const args = words.map((w, i) => (/[\s'"]/.test(w) && i % 2 ? `'${w.replace(/'/g, "")}'` : w));
      const name = stdin !== null && ["iptables", "ipset", "ipvsadm"].includes(tool) ? { iptables: "iptables-restore", ipset: "ipset", ipvsadm: "ipvsadm" }[tool]! : tool;
      return { line: `${ns}${name} ${args.join(" ")}`.trim(), stdin };
    }),
);

/**
 * Tools that, like the real ones, keep what they did before the error: procps sysctl
 * writes its arguments one by one (`sysctl a=1 bad` leaves a=1 written, exit 255), and
 * ipvsadm -R runs its input line by line. A failure of these may change the snapshot.
 */
function partialByDesign(line: string): boolean {
  const argv = line.replace(/^(ip netns exec \S+ |ip -n \S+ )/, "").split(/\s+/);
  if (argv[0] === "sysctl") return argv.slice(1).filter((a) => !a.startsWith("-")).length > 1;
  return argv[0] === "ipvsadm" && argv.some((a) => a === "-R" || a === "--restore");
}

/** Lines without ; & | : one command each, so a failure means nothing of the line ran. */
const oneCommand = lineArb.filter(({ line }) => !/[;&|]/.test(line));

describe("robust-parsing", () => {
  it(
    "a generated command line ends in output or a ToolError, and a failure leaves host.config the same object",
    () => {
      const world = ROUTED.concat(["ip netns exec r iptables -t nat -A POSTROUTING -o r1 -j MASQUERADE", "ipset create s hash:ip", "ip netns exec r ipvsadm -A -t 10.8.8.8:80 -s rr"]);
      fc.assert(
        fc.property(fc.array(oneCommand, { minLength: 1, maxLength: 6 }), (lines) => {
          const host = newHost();
          play(host, { name: "", setup: world, steps: [] });
          for (const { line, stdin } of lines) {
            const before = host.config;
            try {
              host.exec(line, "host", stdin);
            } catch (e) {
              const repro = toYaml({ name: "robust-parsing counterexample", setup: world, steps: lines.map((l) => ({ run: l.line })) });
              if (!(e instanceof ToolError)) throw new Error(`${line}\n  threw ${(e as Error)?.stack ?? e}\n--- scenario ---\n${repro}`);
              if (host.config !== before && !partialByDesign(line)) throw new Error(`${line}\n  failed (${e.message}) yet changed the configuration\n--- scenario ---\n${repro}`);
            }
          }
        }),
        params(200),
      );
    },
    timeoutMs(15_000),
  );
});
