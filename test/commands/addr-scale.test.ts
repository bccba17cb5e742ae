// Many addresses on one device: the indexed insertion (config/addrs.ts) keeps the order
// __inet_insert_ifa() gives and the routes fib_add_ifaddr() adds, one command at a time
// (each its own snapshot) and in one batch (one draft, where the indexes are used).
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import { ToolError } from "../../src/tool/tool.ts";

/** Runs each line; a failing command's message goes to the output, as a shell would print it. */
function runAll(host: Host, lines: string[]): string {
  let out = "";
  for (const l of lines) {
    try {
      for (const o of host.exec(l)) out += o.stdout;
    } catch (e) {
      if (!(e instanceof ToolError)) throw e;
      out += e.message + "\n";
    }
  }
  return out;
}

function listing(host: Host, dev: string): string {
  return runAll(host, [`ip address show dev ${dev}`, "ip route show table local", "ip route show"]).replace(/link\/ether \S+/, "link/ether MAC");
}

// Checked on this machine's kernel (6.x) in a fresh namespace, veth v0 (peer v1) up.
const KERNEL_SCRIPT = [
  "ip address add 10.1.0.1/24 dev v0",
  "ip address add 10.1.0.2/24 dev v0",
  "ip address add 10.2.0.1/32 dev v0",
  "ip address add 10.3.0.1/16 scope link dev v0",
  "ip address add 10.4.0.1/32 scope host dev v0",
  "ip address add 10.1.0.3/24 dev v0",
  "ip address add 10.2.0.2/32 dev v0",
  "ip address add 10.5.0.1/24 scope host dev v0",
  "ip address add 10.3.0.2/16 scope link dev v0",
  "ip address add 10.1.0.9/24 scope link dev v0",
  "ip address add 10.2.0.1/32 dev v0",
  "ip address add 10.6.0.1/8 brd + dev v0",
  "ip address add 10.6.0.2/8 brd 10.255.255.255 dev v0",
  "ip address del 10.2.0.1/32 dev v0",
  "ip address add 10.2.0.1/32 dev v0",
];
const KERNEL_OUTPUT = `Error: ipv4: Invalid scope value.
Error: ipv4: Address already assigned.
3: v0@v1: <NO-CARRIER,BROADCAST,MULTICAST,UP,M-DOWN> mtu 1500 qdisc noqueue state LOWERLAYERDOWN group default qlen 1000
    link/ether MAC brd ff:ff:ff:ff:ff:ff
    inet 10.4.0.1/32 scope host v0
       valid_lft forever preferred_lft forever
    inet 10.5.0.1/24 scope host v0
       valid_lft forever preferred_lft forever
    inet 10.3.0.1/16 scope link v0
       valid_lft forever preferred_lft forever
    inet 10.1.0.1/24 scope global v0
       valid_lft forever preferred_lft forever
    inet 10.2.0.2/32 scope global v0
       valid_lft forever preferred_lft forever
    inet 10.6.0.1/8 brd 10.255.255.255 scope global v0
       valid_lft forever preferred_lft forever
    inet 10.2.0.1/32 scope global v0
       valid_lft forever preferred_lft forever
    inet 10.1.0.2/24 scope global secondary v0
       valid_lft forever preferred_lft forever
    inet 10.1.0.3/24 scope global secondary v0
       valid_lft forever preferred_lft forever
    inet 10.3.0.2/16 scope link secondary v0
       valid_lft forever preferred_lft forever
    inet 10.6.0.2/8 brd 10.255.255.255 scope global secondary v0
       valid_lft forever preferred_lft forever
local 10.1.0.1 dev v0 proto kernel scope host src 10.1.0.1 
local 10.1.0.2 dev v0 proto kernel scope host src 10.1.0.1 
local 10.1.0.3 dev v0 proto kernel scope host src 10.1.0.1 
broadcast 10.1.0.255 dev v0 proto kernel scope link src 10.1.0.1 linkdown 
local 10.2.0.1 dev v0 proto kernel scope host src 10.2.0.1 
local 10.2.0.2 dev v0 proto kernel scope host src 10.2.0.2 
local 10.3.0.1 dev v0 proto kernel scope host src 10.3.0.1 
local 10.3.0.2 dev v0 proto kernel scope host src 10.3.0.1 
broadcast 10.3.255.255 dev v0 proto kernel scope link src 10.3.0.1 linkdown 
local 10.4.0.1 dev v0 proto kernel scope host src 10.4.0.1 
local 10.5.0.1 dev v0 proto kernel scope host src 10.5.0.1 
broadcast 10.5.0.255 dev v0 proto kernel scope link src 10.5.0.1 linkdown 
local 10.6.0.1 dev v0 proto kernel scope host src 10.6.0.1 
local 10.6.0.2 dev v0 proto kernel scope host src 10.6.0.1 
broadcast 10.255.255.255 dev v0 proto kernel scope link src 10.6.0.1 linkdown 
10.0.0.0/8 dev v0 proto kernel scope link src 10.6.0.1 linkdown 
10.1.0.0/24 dev v0 proto kernel scope link src 10.1.0.1 linkdown 
10.3.0.0/16 dev v0 proto kernel scope link src 10.3.0.1 linkdown 
10.5.0.0/24 dev v0 proto kernel scope link src 10.5.0.1 linkdown 
`;

function vethHost(): Host {
  const host = new Host();
  runAll(host, ["ip link add v0 type veth peer name v1", "ip link set v0 up"]);
  return host;
}

/** Commands one at a time, or all in one batch (one draft: the indexed path). */
function apply(lines: string[], batch: boolean): { out: string; host: Host } {
  const host = vethHost();
  const out = batch ? host.batch(() => runAll(host, lines)) : runAll(host, lines);
  return { out, host };
}

/** 2,000 adds on one device: /32s, /24 subnets with secondaries, host and link scopes, duplicates, scope clashes and deletions. */
function manyAdds(): string[] {
  const l: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const k = i % 10;
    if (k < 6) l.push(`ip address add 10.96.${(i >> 8) & 255}.${i & 255}/32 dev v0`);
    else if (k === 6) l.push(`ip address add 172.16.${i % 7}.${(i % 250) + 1}/24 dev v0`);
    else if (k === 7) l.push(`ip address add 192.168.${(i >> 8) & 255}.${i & 255}/32 scope host dev v0`);
    else if (k === 8) l.push(`ip address add 169.254.${i % 5}.${(i >> 3) & 255}/16 scope link dev v0`);
    else if (i % 20 === 9) l.push(`ip address add 10.96.0.${(i % 6) + 0}/32 dev v0`);
    else l.push(`ip address add 172.16.${i % 7}.200/24 scope link dev v0`);
    if (i % 97 === 96) l.push(`ip address del 10.96.${((i - 40) >> 8) & 255}.${(i - 40) & 255}/32 dev v0`);
    if (i % 401 === 400) l.push(`ip address del 172.16.${i % 7}.${((i - 4) % 250) + 1}/24 dev v0`);
  }
  return l;
}

describe("ip address add, many on one device", () => {
  it("orders addresses and local routes as the kernel does (checked in a namespace)", () => {
    for (const batch of [false, true]) {
      const { out, host } = apply(KERNEL_SCRIPT, batch);
      expect(out + listing(host, "v0")).toBe(KERNEL_OUTPUT);
    }
  });

  it("2,000 adds: the same listing one command at a time, in one batch, and as before the indexes", () => {
    const lines = manyAdds();
    const one = apply(lines, false);
    const all = apply(lines, true);
    const a = one.out + listing(one.host, "v0");
    expect(all.out + listing(all.host, "v0")).toBe(a);
    expect(a.split("\n").filter((x) => x.startsWith("    inet ")).length).toBeGreaterThan(1500);
    // The listing the list-scanning implementation gave (before commit "indexed address insertion").
    expect(createHash("sha256").update(a).digest("hex")).toBe("540b4f5c551afe39e3ba441cd52b7b34cef057f0f77a2670d0b8abcb23c7ba25");
  }, 120_000);
});
