// Element syntax of every set type, as ipset 7.17 parses and lists it: each row was run on
// the real tool (Linux 6.18, fresh netns) and its `ipset -s save` members or its error
// message copied here. Errors are the text after "ipset v7.17: ".
import { describe, expect, it } from "vitest";
import { ToolError } from "../../src/tool/tool.ts";
import { ipsetHost, sh } from "./world.ts";

type Row = [create: string, element: string, expected: string[] | string];

const ROWS: Row[] = [
  ["hash:ip", "10.0.0.1", ["10.0.0.1"]],
  ["hash:ip", "10.1", ["10.0.0.1"]],
  ["hash:ip", "010.0.0.9", ["8.0.0.9"]],
  ["hash:ip", "localhost", ["127.0.0.1"]],
  ["hash:ip", "[10.0.0.3]", ["10.0.0.3"]],
  ["hash:ip", "10.0.0.1/33", "Syntax error: '33' is out of range 0-32"],
  ["hash:ip", "foo", "Syntax error: cannot parse foo: resolving to IPv4 address failed"],
  ["hash:ip", "10.0.0.1,80", "Syntax error: Elem separator in 10.0.0.1,80, but settype hash:ip supports none."],
  ["hash:ip", "0.0.0.0", "Null-valued element, cannot be stored in a hash type of set"],
  ["hash:ip", "10.0.0.1/0", "The value of the CIDR parameter of the IP address is invalid"],
  ["hash:ip", "10.0.0.0/30", ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"]],
  ["hash:ip netmask 24", "10.0.0.77", ["10.0.0.0"]],
  ["hash:ip,port", "10.0.0.1,80", ["10.0.0.1,tcp:80"]],
  ["hash:ip,port", "10.0.0.1,udp:53", ["10.0.0.1,udp:53"]],
  ["hash:ip,port", "10.0.0.1,icmp:echo-request", ["10.0.0.1,icmp:echo-request"]],
  ["hash:ip,port", "10.0.0.1,icmp:8/0", ["10.0.0.1,icmp:echo-request"]],
  ["hash:ip,port", "10.0.0.1,icmp:3/99", ["10.0.0.1,icmp:3/99"]],
  ["hash:ip,port", "10.0.0.1,gre:0", ["10.0.0.1,gre:0"]],
  ["hash:ip,port", "10.0.0.1,47:0", ["10.0.0.1,gre:0"]],
  ["hash:ip,port", "10.0.0.1,http", ["10.0.0.1,tcp:80"]],
  ["hash:ip,port", "10.0.0.1,gre:5", "Syntax error: Protocol gre can be used with pseudo port value 0 only."],
  ["hash:ip,port", "10.0.0.1,foo:80", "Syntax error: cannot parse 'foo' as a protocol"],
  ["hash:ip,port", "10.0.0.1,tcp:abc", "Syntax error: 'abc' is invalid as number\nSyntax error: 'tcp' is invalid as number\ncannot parse 'abc' as a tcp port"],
  ["hash:ip,port", "10.0.0.1", "Syntax error: Second element is missing from 10.0.0.1."],
  ["hash:ip,port", "0.0.0.0,80", "Kernel error received: Invalid argument"],
  ["hash:ip,port", "10.0.0.1,0:0", "Invalid protocol specified"],
  ["hash:ip,port", "10.0.0.1,tcp:80-81", ["10.0.0.1,tcp:80", "10.0.0.1,tcp:81"]],
  ["hash:ip,port", "10.0.0.1,ICMP:ping", ["10.0.0.1,icmp:echo-request"]],
  ["hash:ip,port,ip", "10.0.0.1,tcp:8080,10.0.0.2", ["10.0.0.1,tcp:8080,10.0.0.2"]],
  ["hash:ip,port,ip", "10.0.0.1,8080,10.0.0.0/24", "Syntax error: plain IP address must be supplied: 10.0.0.0/24"],
  ["hash:ip,port,ip", "10.0.0.1,8080", "Syntax error: Third element is missing from 10.0.0.1,8080."],
  ["hash:ip,port,ip", "10.0.0.1,8080,10.0.0.1/32", "There are not allowed options (28) but can't resolve them. It's a bug, please report the problem."],
  ["hash:ip,port,ip", "10.0.0.1,8080,10.0.0.1,x", "Syntax error: Three elem separators in 10.0.0.1,8080,10.0.0.1,x, but settype hash:ip,port,ip supports two."],
  ["hash:ip,port,net", "10.0.0.1,80,10.1.0.0/16", ["10.0.0.1,tcp:80,10.1.0.0/16"]],
  ["hash:ip,port,net", "10.0.0.1,80,10.1.2.3/16", ["10.0.0.1,tcp:80,10.1.0.0/16"]],
  ["hash:ip,port,net", "10.0.0.1,80,10.2.0.1-10.2.0.6", ["10.0.0.1,tcp:80,10.2.0.1", "10.0.0.1,tcp:80,10.2.0.2/31", "10.0.0.1,tcp:80,10.2.0.4/31", "10.0.0.1,tcp:80,10.2.0.6"]],
  ["hash:ip,port,net", "10.0.0.1,80,10.1.0.0/16 nomatch", ["10.0.0.1,tcp:80,10.1.0.0/16 nomatch"]],
  ["hash:ip,port,net", "10.0.0.1,80,10.1.0.0/0", "The value of the CIDR parameter of the IP address is invalid"],
  ["hash:net", "10.0.0.0/24", ["10.0.0.0/24"]],
  ["hash:net", "10.0.0.5", ["10.0.0.5"]],
  ["hash:net", "10.0.0.77/24", ["10.0.0.0/24"]],
  ["hash:net", "10.1.0.0-10.1.0.10", ["10.1.0.0/29", "10.1.0.8/31", "10.1.0.10"]],
  ["hash:net", "0.0.0.0/0", "The value of the CIDR parameter of the IP address is invalid"],
  ["hash:net", "0.0.0.0-255.255.255.255", "Invalid range, covers the whole address space"],
  ["hash:net", "10.0.0.0/8 nomatch", ["10.0.0.0/8 nomatch"]],
  ["hash:net", "10.0.0.0/8,nomatch", "Syntax error: Elem separator in 10.0.0.0/8,nomatch, but settype hash:net supports none."],
  ["hash:net,port", "10.0.0.0/24,tcp:80", ["10.0.0.0/24,tcp:80"]],
  ["hash:net,port", "192.168.0.0/16,udp:53-55", ["192.168.0.0/16,udp:53", "192.168.0.0/16,udp:54", "192.168.0.0/16,udp:55"]],
  ["hash:net,port", "10.3.0.1/24,80-81", ["10.3.0.0/24,tcp:80", "10.3.0.0/24,tcp:81"]],
  ["hash:net,port", "10.2.0.0-10.2.0.5,icmp:ping", ["10.2.0.0/30,icmp:echo-request", "10.2.0.4/31,icmp:echo-request"]],
  ["hash:net,port", "10.0.0.0/24", "Syntax error: Second element is missing from 10.0.0.0/24."],
  ["hash:net,iface", "10.0.0.0/24,eth0", ["10.0.0.0/24,eth0"]],
  ["hash:net,iface", "10.0.0.0/24,physdev:eth1", ["10.0.0.0/24,physdev:eth1"]],
  ["hash:net,iface", "0.0.0.0/0,lo", ["0.0.0.0/0,lo"]],
  ["hash:net,iface", "10.0.0.0/24,averyveryverylongname", "Syntax error: interface name 'averyveryverylongname' is longer than 15 characters"],
  ["hash:net,iface", "10.0.0.0/24,eth0 wildcard", ["10.0.0.0/24,eth0 wildcard"]],
  ["hash:net,iface", "10.5.0.0-10.5.0.3,veth0", ["10.5.0.0/30,veth0"]],
  ["hash:net,iface", "10.0.0.0/24,eth0 nomatch", ["10.0.0.0/24,eth0 nomatch"]],
  ["bitmap:ip range 10.0.0.0/24", "10.0.0.9", ["10.0.0.9"]],
  ["bitmap:ip range 10.0.0.0/24", "10.0.1.1", "Element is out of the range of the set"],
  ["bitmap:ip range 10.0.0.0/24", "10.0.0.0/30", ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"]],
  ["bitmap:ip range 10.0.0.0/24 netmask 30", "10.0.0.0/28", ["10.0.0.0", "10.0.0.4", "10.0.0.8", "10.0.0.12"]],
  ["bitmap:ip range 10.0.0.0/24", "10.0.0.1,80", "Syntax error: Elem separator in 10.0.0.1,80, but settype bitmap:ip supports none."],
  ["bitmap:port range 90-100", "95", ["95"]],
  ["bitmap:port range 90-100", "udp:96", ["96"]],
  ["bitmap:port range 90-100", "50", "Element is out of the range of the set"],
  ["bitmap:port range 90-100", "91-93", ["91", "92", "93"]],
  ["bitmap:port range 90-100", "http", "Element is out of the range of the set"],
  ["list:set", "m1", ["m2", "m1"]],
  ["list:set", "nosuch", "Set to be added/deleted/tested as element does not exist."],
  ["list:set", "m1,after,m2", ["m2", "m1"]],
  ["list:set", "m1,before", "you must specify elements as setname,[before|after],setname"],
  ["list:set", "ls", "Set to be added/deleted/tested as element does not exist."],
  ["list:set", "s", "Sets with list:set type cannot be added to the set."],
];

function membersAfterAdd(create: string, element: string): string[] | string {
  const host = ipsetHost();
  sh(host, `ipset create s ${create}`);
  if (create.startsWith("list:set")) sh(host, "ipset create m1 hash:ip", "ipset create m2 hash:ip", "ipset add s m2");
  try {
    sh(host, `ipset add s ${element}`);
  } catch (e) {
    if (!(e instanceof ToolError)) throw e;
    return e.message.replace(/^ipset v7\.17: /, "");
  }
  return sh(host, "ipset -s save s")
    .split("\n")
    .filter((l) => l.startsWith("add s "))
    .map((l) => l.slice(6));
}

describe("element syntax per type, as ipset 7.17", () => {
  for (const [create, element, expected] of ROWS) {
    it(`${create}: ${element}`, () => {
      expect(membersAfterAdd(create, element)).toEqual(expected);
    });
  }

  it("covers every modelled type", () => {
    const types = new Set(ROWS.map(([c]) => c.split(" ")[0]));
    expect([...types].sort()).toEqual(["bitmap:ip", "bitmap:port", "hash:ip", "hash:ip,port", "hash:ip,port,ip", "hash:ip,port,net", "hash:net", "hash:net,iface", "hash:net,port", "list:set"]);
  });
});
