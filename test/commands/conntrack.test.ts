// conntrack's filters and errors, in conntrack-tools 1.4.7's words (checked against the
// real tool on entries made with `conntrack -I` in a fresh namespace).
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import { defaultLayers } from "../../src/layers.ts";
import { ToolError } from "../../src/tool/tool.ts";
import { run } from "../helpers.ts";

// A client c and a server s; s publishes port 80 as 8080 with DNAT (the Docker form).
const WORLD = `
ip netns add c
ip netns add s
ip link add cs netns c type veth peer name sc netns s
ip -n c addr add 10.0.0.1/24 dev cs
ip -n s addr add 10.0.0.2/24 dev sc
ip -n c link set cs up
ip -n s link set sc up
ip netns exec s iptables -t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080
ip netns exec s nc -l 8080 &
ip netns exec c curl -m 1 10.0.0.2:80
ip netns exec c ping -c 1 10.0.0.2
`;

function world(): Host {
  const h = new Host({ layers: defaultLayers() });
  run(h, WORLD);
  return h;
}
function lines(h: Host, cmd: string): string[] {
  return h
    .exec(`ip netns exec s ${cmd}`)[0]!
    .stdout.split("\n")
    .filter((l) => l)
    .map((l) => l.split(" ")[0]!);
}
function err(h: Host, cmd: string): [string, number] {
  try {
    h.exec(`ip netns exec s ${cmd}`);
  } catch (e) {
    if (e instanceof ToolError) return [e.message, e.status];
    throw e;
  }
  return ["(no error)", 0];
}
const HINT = "\nTry `conntrack -h' or 'conntrack --help' for more information.";

describe("conntrack -L filters", () => {
  const h = world();
  it("lists both entries without a filter", () => expect(lines(h, "conntrack -L").sort()).toEqual(["icmp", "tcp"]));
  it("selects by the original and reply tuples", () => {
    expect(lines(h, "conntrack -L -p tcp --dport 80")).toEqual(["tcp"]);
    expect(lines(h, "conntrack -L -p tcp --orig-port-dst 80")).toEqual(["tcp"]);
    expect(lines(h, "conntrack -L -p tcp --orig-port-dst 8080")).toEqual([]);
    expect(lines(h, "conntrack -L -p tcp --reply-port-src 8080")).toEqual(["tcp"]);
    expect(lines(h, "conntrack -L -p tcp --reply-port-dst 80")).toEqual([]);
    expect(lines(h, "conntrack -L --reply-src 10.0.0.2").sort()).toEqual(["icmp", "tcp"]);
    expect(lines(h, "conntrack -L --reply-dst 10.0.0.1").sort()).toEqual(["icmp", "tcp"]);
    expect(lines(h, "conntrack -L -s 10.0.0.0/24").sort()).toEqual(["icmp", "tcp"]);
    expect(lines(h, "conntrack -L --orig-src 10.0.0.9")).toEqual([]);
  });
  it("selects NATed entries (--dst-nat, -g ADDR, --src-nat, --any-nat)", () => {
    expect(lines(h, "conntrack -L --dst-nat")).toEqual(["tcp"]);
    expect(lines(h, "conntrack -L -g 10.0.0.2")).toEqual(["tcp"]);
    expect(lines(h, "conntrack -L -g 10.0.0.3")).toEqual([]);
    expect(lines(h, "conntrack -L --src-nat")).toEqual([]);
    expect(lines(h, "conntrack -L -j")).toEqual(["tcp"]);
  });
  it("takes getopt_long's abbreviations and -p's own options only after -p", () => {
    expect(lines(h, "conntrack --du -p tcp --dp 80")).toEqual(["tcp"]);
    expect(err(h, "conntrack -L --dport 80")).toEqual(["conntrack v1.4.7 (conntrack-tools): unknown option `--dport'" + HINT, 2]);
    expect(err(h, "conntrack -L -p udp --state ESTABLISHED")).toEqual(["conntrack v1.4.7 (conntrack-tools): unknown option `--state'" + HINT, 2]);
    expect(err(h, "conntrack -L --or 1")).toEqual(["conntrack v1.4.7 (conntrack-tools): unknown option `--or'" + HINT, 2]);
  });
  it("reads a port as atoi() does (abc is port 0)", () => expect(lines(h, "conntrack -L -p tcp --dport abc")).toEqual([]));
  it("answers bad values in conntrack's words", () => {
    expect(err(h, "conntrack -L -p foo")).toEqual(["conntrack v1.4.7 (conntrack-tools): `foo' unsupported protocol" + HINT, 2]);
    expect(err(h, "conntrack -L -p")).toEqual(["conntrack v1.4.7 (conntrack-tools): option `-p' requires an argument" + HINT, 2]);
    expect(err(h, "conntrack -L -s abc")).toEqual(["conntrack v1.4.7 (conntrack-tools): Invalid IP address `abc'" + HINT, 2]);
    expect(err(h, "conntrack -L -p tcp --state established")).toEqual(["conntrack v1.4.7 (conntrack-tools): unknown TCP state `established'" + HINT, 2]);
    expect(err(h, "conntrack -L -u FOO")).toEqual(["conntrack v1.4.7 (conntrack-tools): Bad parameter `FOO'" + HINT, 2]);
    expect(err(h, "conntrack -L --dum")).toEqual(["conntrack v1.4.7 (conntrack-tools): Invalid commands combination" + HINT, 2]);
    expect(err(h, "conntrack -C -p tcp")).toEqual(["conntrack v1.4.7 (conntrack-tools): Illegal option `--protonum' with this command" + HINT, 2]);
  });
  it("refuses -S and -E as not modelled", () => {
    expect(err(h, "conntrack -S")[0]).toMatch(/pktpath does not model conntrack -S/);
    expect(err(h, "conntrack -E")[0]).toMatch(/pktpath does not model conntrack -E/);
  });
  it("selects by TCP state with -p tcp --state", () => {
    const st = h.exec("ip netns exec s conntrack -L -p tcp")[0]!.stdout.split(" ").filter((w) => w)[3]!;
    expect(lines(h, `conntrack -L -p tcp --state ${st}`)).toEqual(["tcp"]);
    expect(lines(h, `conntrack -L -p tcp --state ${st === "SYN_SENT" ? "ESTABLISHED" : "SYN_SENT"}`)).toEqual([]);
  });
});
