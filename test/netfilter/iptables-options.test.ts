// iptables' option table against the real iptables: abbreviations getopt_long accepts,
// "--name=value", "!" placement, options given twice, "--", and extension options that
// cannot be inverted. Each row is what iptables v1.8.9 (nf_tables) printed and exited
// with on this machine, run in a fresh network namespace (`unshare --net`) holding a
// user chain X, one command per namespace state (filter/nat/mangle/raw flushed between).
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import { defaultLayers } from "../../src/layers.ts";
import { ToolError } from "../../src/tool/tool.ts";

const HINT = "\nTry `iptables -h' or 'iptables --help' for more information.";
type Outcome = { status: number; stderr: string };
const ok: Outcome = { status: 0, stderr: "" };
/** A parameter problem: iptables' prefix, the message, the usage hint. */
const err = (msg: string, status = 2): Outcome => ({ status, stderr: `iptables v1.8.9 (nf_tables): ${msg}${HINT}` });
const raw = (status: number, stderr: string): Outcome => ({ status, stderr });

const CASES: [string, Outcome][] = [
  ["! -L", err("unexpected '!' flag")],
  ["--", err("no command specified")],
  ["-- x", err("unknown arguments found on commandline")],
  ["--a INPUT -j ACCEPT", ok],
  ["--app INPUT -j ACCEPT", ok],
  ["--append=INPUT", ok],
  ["--de INPUT 1", err("unknown option \"--de\"")],
  ["--delete-c X", ok],
  ["--dst=1.2.3.4 -A INPUT", err("host/network `--dst=1.2.3.4' not found")],
  ["--li", err("unknown option \"--li\"")],
  ["--list-r", ok],
  ["--ne X", raw(1, "iptables: Chain already exists.")],
  ["--new X", raw(1, "iptables: Chain already exists.")],
  ["--s 1.2.3.4 -A INPUT", err("unknown option \"--s\"")],
  ["--so 1.2.3.4 -A INPUT", ok],
  ["--src 1.2.3.4 -A INPUT", ok],
  ["--table=nat -A PREROUTING", ok],
  ["-A INPUT !", err("nothing appropriate following !")],
  ["-A INPUT ! ! -s 1.1.1.1", err("multiple consecutive ! not allowed")],
  ["-A INPUT ! --jump X", err("cannot have ! before -j")],
  ["-A INPUT ! -A OUTPUT", err("unexpected '!' flag")],
  ["-A INPUT ! -c 1 2", err("cannot have ! before -c")],
  ["-A INPUT ! -g X", err("cannot have ! before -j")],
  ["-A INPUT ! -j ACCEPT", err("cannot have ! before -j")],
  ["-A INPUT ! -m tcp", err("unexpected ! flag before --match")],
  ["-A INPUT ! -s 1.1.1.1 ! -d 2.2.2.2", ok],
  ["-A INPUT --", ok],
  ["-A INPUT -- x", err("unknown arguments found on commandline")],
  ["-A INPUT --bogus", err("unknown option \"--bogus\"")],
  ["-A INPUT --go X", ok],
  ["-A INPUT --goto=X", ok],
  ["-A INPUT --in eth0", err("unknown option \"--in\"")],
  ["-A INPUT --in-interface=eth0 --out eth1", err("interface name `--in-interface=eth0' must be shorter than IFNAMSIZ (15)")],
  ["-A INPUT --j ACCEPT", ok],
  ["-A INPUT --jump ACCEPT", ok],
  ["-A INPUT --jump=ACCEPT", err("Chain '--jump=ACCEPT' does not exist")],
  ["-A INPUT --out-interface=x", err("interface name `--out-interface=x' must be shorter than IFNAMSIZ (15)")],
  ["-A INPUT --prot tcp", ok],
  ["-A INPUT --protocol=tcp", err("unknown protocol \"--protocol=tcp\" specified")],
  ["-A INPUT --source=1.1.1.1", err("host/network `--source=1.1.1.1' not found")],
  ["-A INPUT -A OUTPUT", err("Cannot use -A with -A")],
  ["-A INPUT -c 1", err("-c requires packet and byte counter")],
  ["-A INPUT -c 1 -j ACCEPT", err("-c requires packet and byte counter")],
  ["-A INPUT -c 1 2 -c 3 4", err("multiple -c flags not allowed")],
  ["-A INPUT -c 1 x", err("-c byte counter not numeric")],
  ["-A INPUT -c x 1", err("-c packet counter not numeric")],
  ["-A INPUT -g X -j X", err("multiple -j flags not allowed")],
  ["-A INPUT -i a -i b", err("multiple -i flags not allowed")],
  ["-A INPUT -i aaaaaaaaaaaaaaaaaaa", err("interface name `aaaaaaaaaaaaaaaaaaa' must be shorter than IFNAMSIZ (15)")],
  ["-A INPUT -i eth0 ! -i eth1", err("multiple -i flags not allowed")],
  ["-A INPUT -j A -j B", err("multiple -j flags not allowed")],
  ["-A INPUT -j ACCEPT !", err("nothing appropriate following !")],
  ["-A INPUT -j ACCEPT -- -s 1.1.1.1", err("unknown arguments found on commandline")],
  ["-A INPUT -j LOG ! --log-ip-options", err("LOG: option \"--log-ip-options\" cannot be inverted.\n")],
  ["-A INPUT -j LOG ! --log-level 1", err("LOG: option \"--log-level\" cannot be inverted.\n")],
  ["-A INPUT -j LOG ! --log-prefix 1", err("LOG: option \"--log-prefix\" cannot be inverted.\n")],
  ["-A INPUT -j LOG ! --log-tcp-options", err("LOG: option \"--log-tcp-options\" cannot be inverted.\n")],
  ["-A INPUT -j LOG ! --log-tcp-sequence", err("LOG: option \"--log-tcp-sequence\" cannot be inverted.\n")],
  ["-A INPUT -j LOG ! --log-uid", err("LOG: option \"--log-uid\" cannot be inverted.\n")],
  ["-A INPUT -j REJECT ! --reject-with 1", err("REJECT: option \"--reject-with\" cannot be inverted.\n")],
  ["-A INPUT -j X -g X", err("multiple -j flags not allowed")],
  ["-A INPUT -j X -j", err("option \"-j\" requires an argument")],
  ["-A INPUT -m addrtype ! --limit-iface-in", err("addrtype: option \"--limit-iface-in\" cannot be inverted.\n")],
  ["-A INPUT -m addrtype ! --limit-iface-out", err("addrtype: option \"--limit-iface-out\" cannot be inverted.\n")],
  ["-A INPUT -m addrtype ! --src-type LOCAL", ok],
  ["-A INPUT -m comment ! --comment 1", err("comment: option \"--comment\" cannot be inverted.\n")],
  ["-A INPUT -m comment ! --comment x", err("comment: option \"--comment\" cannot be inverted.\n")],
  ["-A INPUT -m comment --comment x !", err("nothing appropriate following !")],
  ["-A INPUT -m conntrack ! --ctdir 1", err("conntrack: option \"--ctdir\" cannot be inverted.\n")],
  ["-A INPUT -m conntrack ! --ctstate NEW", ok],
  ["-A INPUT -m limit ! --limit 1", err("limit: option \"--limit\" cannot be inverted.\n")],
  ["-A INPUT -m limit ! --limit-burst 1", err("limit: option \"--limit-burst\" cannot be inverted.\n")],
  ["-A INPUT -m mark ! --mark 1", ok],
  ["-A INPUT -m nosuch", err("Couldn't load match `nosuch':No such file or directory\n")],
  ["-A INPUT -m set ! --match-set s src", err("Set s doesn't exist.\n")],
  ["-A INPUT -m set ! --return-nomatch", err("--return-nomatch flag cannot be inverted")],
  ["-A INPUT -m statistic ! --mode 1", err("statistic: option \"--mode\" cannot be inverted.\n")],
  ["-A INPUT -m statistic ! --mode random --probability 0.5", err("statistic: option \"--mode\" cannot be inverted.\n")],
  ["-A INPUT -m statistic ! --packet 1", err("statistic: option \"--packet\" cannot be inverted.\n")],
  ["-A INPUT -m tcp -p tcp --sp 1", ok],
  ["-A INPUT -o eth0 -A x", err("Cannot use -A with -A")],
  ["-A INPUT -p bogus", err("unknown protocol \"bogus\" specified")],
  ["-A INPUT -p tcp ! --dp 80", ok],
  ["-A INPUT -p tcp ! -c 1 2", err("cannot have ! before -c")],
  ["-A INPUT -p tcp ! -m tcp", err("unexpected ! flag before --match")],
  ["-A INPUT -p tcp --d 80", err("unknown option \"--d\"")],
  ["-A INPUT -p tcp --dp 80", ok],
  ["-A INPUT -p tcp --dport=80 -j ACCEPT", ok],
  ["-A INPUT -p tcp -m tcp ! --dport 80 ! --syn", ok],
  ["-A INPUT -p tcp -p udp", err("multiple -p flags not allowed")],
  ["-A INPUT -s", err("option \"-s\" requires an argument")],
  ["-A INPUT -s 1.0.0.0/0.0.0.0", ok],
  ["-A INPUT -s 1.0.0.0/255.255.0.0", ok],
  ["-A INPUT -s 1.1.1.1 -s", err("option \"-s\" requires an argument")],
  ["-A INPUT -s 1.1.1.1 -s 2.2.2.2", err("multiple -s flags not allowed")],
  ["-A INPUT -s 1.1.1.1,2.2.2.2 ! -d 3.3.3.3", err("! not allowed with multiple source or destination IP addresses")],
  ["-A INPUT -s 1.1.1.1/33", err("invalid mask `33' specified")],
  ["-A INPUT x", raw(2, "Bad argument `x'\nTry `iptables -h' or 'iptables --help' for more information.")],
  ["-A OUTPUT -i eth0", err("Can't use -i with OUTPUT\n")],
  ["-A PREROUTING -o eth0", err("Can't use -o with PREROUTING\n")],
  ["-D INPUT 0", err("Invalid rule number `0'")],
  ["-L !", err("nothing appropriate following !")],
  ["-L ! --line-numbers", err("cannot have ! before -0")],
  ["-L ! -4", ok],
  ["-L ! -n", err("cannot have ! before -n")],
  ["-L ! -t nat", err("unexpected ! flag before --table")],
  ["-L ! -v", err("cannot have ! before -v")],
  ["-L ! -w", ok],
  ["-L ! -x", err("cannot have ! before -x")],
  ["-L --line-numbers --line-numbers", err("multiple -0 flags not allowed")],
  ["-L -A INPUT", err("Cannot use -A with -L")],
  ["-L -n ! -n", err("multiple -n flags not allowed")],
  ["-L -n -n", err("multiple -n flags not allowed")],
  ["-L -v ! -v", ok],
  ["-L -v -v", ok],
  ["-L -x -x", err("multiple -x flags not allowed")],
  ["-N aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", err("chain name `aaaaaaaaaaaaaaaaaaaaaaaaaaaaa' too long (must be under 29 chars)")],
  ["-R INPUT", err("-R requires a rule number")],
  ["-R INPUT 1 -s 1.1.1.1,2.2.2.2", err("Replacement rule does not specify a unique address")],
  ["-X", ok],
  ["-t bogus -L", raw(3, "iptables v1.8.9 (nf_tables): table 'bogus' does not exist\nPerhaps iptables or your kernel needs to be upgraded.")],
  ["-t mangle -A PREROUTING -j MARK ! --and-mark 1", err("MARK: option \"--and-mark\" cannot be inverted.\n")],
  ["-t mangle -A PREROUTING -j MARK ! --or-mark 1", err("MARK: option \"--or-mark\" cannot be inverted.\n")],
  ["-t mangle -A PREROUTING -j MARK ! --set-mark 1", err("MARK: option \"--set-mark\" cannot be inverted.\n")],
  ["-t mangle -A PREROUTING -j MARK ! --set-xmark 1", err("MARK: option \"--set-xmark\" cannot be inverted.\n")],
  ["-t mangle -A PREROUTING -j MARK ! --xor-mark 1", err("MARK: option \"--xor-mark\" cannot be inverted.\n")],
  ["-t nat -A POSTROUTING -j MASQUERADE ! --to-ports 80", err("MASQUERADE: option \"--to-ports\" cannot be inverted.\n")],
  ["-t nat -A POSTROUTING -p tcp -j MASQUERADE ! --random", err("MASQUERADE: option \"--random\" cannot be inverted.\n")],
  ["-t nat -A POSTROUTING -p tcp -j MASQUERADE ! --random-fully", err("MASQUERADE: option \"--random-fully\" cannot be inverted.\n")],
  ["-t nat -A POSTROUTING -p tcp -j MASQUERADE ! --to-ports 1", err("MASQUERADE: option \"--to-ports\" cannot be inverted.\n")],
  ["-t nat -A POSTROUTING -p tcp -j SNAT ! --persistent", err("SNAT: option \"--persistent\" cannot be inverted.\n")],
  ["-t nat -A POSTROUTING -p tcp -j SNAT ! --random", err("SNAT: option \"--random\" cannot be inverted.\n")],
  ["-t nat -A POSTROUTING -p tcp -j SNAT ! --random-fully", err("SNAT: option \"--random-fully\" cannot be inverted.\n")],
  ["-t nat -A POSTROUTING -p tcp -j SNAT ! --to-source 1", err("SNAT: option \"--to-source\" cannot be inverted.\n")],
  ["-t nat -A PREROUTING -j DNAT --to 1.2.3.4:80", err("Need TCP, UDP, SCTP or DCCP with port specification")],
  ["-t nat -A PREROUTING -j DROP", err("\nThe \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n")],
  ["-t nat -A PREROUTING -p tcp -j DNAT ! --persistent", err("DNAT: option \"--persistent\" cannot be inverted.\n")],
  ["-t nat -A PREROUTING -p tcp -j DNAT ! --random", err("DNAT: option \"--random\" cannot be inverted.\n")],
  ["-t nat -A PREROUTING -p tcp -j DNAT ! --to-destination 1", err("DNAT: option \"--to-destination\" cannot be inverted.\n")],
  ["-t nat -A PREROUTING -p tcp -j DNAT ! --to-destination 1.2.3.4", err("DNAT: option \"--to-destination\" cannot be inverted.\n")],
  ["-t nat -A PREROUTING -p tcp -j REDIRECT ! --random", err("REDIRECT: option \"--random\" cannot be inverted.\n")],
  ["-t nat -A PREROUTING -p tcp -j REDIRECT ! --to-ports 1", err("REDIRECT: option \"--to-ports\" cannot be inverted.\n")],
  ["-t nat -P PREROUTING DROP", err("\nThe \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n")],
  ["-t raw -A PREROUTING -j CT ! --helper 1", err("CT: option \"--helper\" cannot be inverted.\n")],
  ["-t raw -A PREROUTING -j CT ! --notrack", err("CT: option \"--notrack\" cannot be inverted.\n")],
  ["-t raw -A PREROUTING -j CT ! --zone 1", err("CT: option \"--zone\" cannot be inverted.\n")],
];

function runIptables(args: string): Outcome {
  const h = new Host({ layers: defaultLayers() });
  h.exec("iptables -N X");
  try {
    h.exec(`iptables ${args}`);
    return ok;
  } catch (e) {
    if (e instanceof ToolError) return { status: e.status, stderr: e.message };
    throw e;
  }
}

describe("iptables options as the real iptables takes them", () => {
  it.each(CASES)("iptables %s", (args, expected) => {
    expect(runIptables(args)).toEqual(expected);
  });
});
