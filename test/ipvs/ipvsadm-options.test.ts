// ipvsadm's option table (ipvsadm.c options_table[], read by popt): each long name is
// its letter, letters bundle, popt takes long names whole, and each option's errors are
// ipvsadm's words.
import { describe, expect, it } from "vitest";
import { parse } from "../../src/ipvs/ipvsadm/parse.ts";
import { ToolError } from "../../src/tool/tool.ts";

function parsed(line: string): ReturnType<typeof parse> | string {
  try {
    return parse(line.split(" "));
  } catch (e) {
    if (e instanceof ToolError) return e.message;
    throw e;
  }
}

describe("ipvsadm options", () => {
  it.each([
    ["--add-service --tcp-service 10.0.0.1:80 --scheduler rr", "-A -t 10.0.0.1:80 -s rr"],
    ["--edit-service --udp-service 10.0.0.1:53 --persistent 60 --netmask 255.255.255.0", "-E -u 10.0.0.1:53 -p 60 -M 255.255.255.0"],
    ["--delete-service --fwmark-service 7", "-D -f 7"],
    ["--add-server -t 10.0.0.1:80 --real-server 10.0.1.1:8080 --masquerading --weight 3", "-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 3"],
    ["--edit-server -t 10.0.0.1:80 -r 10.0.1.1 --gatewaying --u-threshold 5 --l-threshold 1", "-e -t 10.0.0.1:80 -r 10.0.1.1 -g -x 5 -y 1"],
    ["--delete-server -t 10.0.0.1:80 -r 10.0.1.1 --ipip", "-d -t 10.0.0.1:80 -r 10.0.1.1 -i"],
    ["--list --numeric --connection", "-L -n -c"],
    ["-l -n", "-L -n"],
    ["-Lnc", "-L -n -c"],
    ["--zero", "-Z"],
    ["--clear", "-C"],
    ["--save -n", "-S -n"],
    ["--restore", "-R"],
    ["-A -t 10.0.0.1:80 --sched-flags sh-port --ops", "-A -t 10.0.0.1:80 -b sh-port -o"],
  ])("%s is %s", (long, short) => {
    expect(parsed(long)).toEqual(parsed(short));
  });

  it("reads a persistence timeout only when a number follows -p", () => {
    expect(parsed("-A -t 10.0.0.1:80 -p")).toMatchObject({ persistent: 300 });
    expect(parsed("-A -t 10.0.0.1:80 -p 60 -s rr")).toMatchObject({ persistent: 60, sched: "rr" });
    expect(parsed("-A -t 10.0.0.1:80 -p -s rr")).toMatchObject({ persistent: 300, sched: "rr" });
  });

  it.each([
    ["--add", "ipvsadm: invalid option -- 'add'"],
    ["--tcp 10.0.0.1:80", "ipvsadm: invalid option -- 'tcp'"],
    ["-A -Q", "ipvsadm: invalid option -- 'Q'"],
    ["constructor", "ipvsadm: invalid option -- 'constructor'"],
    ["-A toString", "ipvsadm: invalid option -- 'toString'"],
    ["-A -E", "You may specify only one command"],
    ["-A -t", "-t: missing argument"],
    ["-A --tcp-service", "-t: missing argument"],
    ["-A --sctp-service", "--sctp-service: missing argument"],
    ["-A -t 10.0.0.1:99999", "illegal virtual server address[:port] specified"],
    ["-a -t 10.0.0.1:80 -r nohost", "illegal server address[:port] specified"],
    ["-A -f 0", "illegal virtual server fwmark specified"],
    ["-A -t 10.0.0.1:80 -p 0", "illegal timeout for persistent service specified"],
    ["-A -t 10.0.0.1:80 -M 33", "illegal virtual server persistent mask specified"],
    ["-A -t 10.0.0.1:80 -b bogus", "invalid scheduling flag: bogus"],
    ["-a -t 10.0.0.1:80 -r 10.0.1.1 -w 65536", "illegal weight specified"],
    ["-a -t 10.0.0.1:80 -r 10.0.1.1 -x a", "illegal u_threshold specified"],
    ["-a -t 10.0.0.1:80 -r 10.0.1.1 -y a", "illegal l_threshold specified"],
    ["--set 1 2 x", "illegal timeout specified"],
    ["--set 1 2", "--set: missing argument"],
    ["-6", "pktpath does not model IPv6 services yet"],
    ["-A --ipv6", "pktpath does not model IPv6 services yet"],
    ["--start-daemon master", "pktpath does not model the IPVS sync daemon"],
  ])("%s: %s", (line, message) => {
    expect(parsed(line)).toBe(message);
  });

  it("names a service port by the service's protocol", () => {
    expect(parsed("-A -u 10.0.0.1:domain")).toMatchObject({ proto: 17, vport: 53 });
    expect(parsed("-A -t 10.0.0.1:http")).toMatchObject({ proto: 6, vport: 80 });
    expect(parsed("--set 900 120 300")).toMatchObject({ cmd: "set", set: [900, 120, 300] });
  });
});
