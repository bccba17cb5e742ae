// ipvsadm's syntax, listings and errors, and IPVS end to end on the two-pod bridge.
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import { defaultLayers } from "../../src/layers.ts";
import { ToolError } from "../../src/tool/tool.ts";
import { curl, run, TWO_POD_BRIDGE } from "../helpers.ts";

function world(): Host {
  const h = new Host({ layers: defaultLayers() });
  run(h, TWO_POD_BRIDGE);
  run(h, "ip link set lo up\nip link add dev kube-ipvs0 type dummy\nip addr add 10.100.100.100/32 dev kube-ipvs0");
  return h;
}
function out(h: Host, line: string): string {
  return h.exec(line)[0]!.stdout;
}
function err(h: Host, line: string, stdin: string | null = null): string {
  try {
    h.exec(line, "host", stdin);
  } catch (e) {
    if (e instanceof ToolError) return e.message;
    throw e;
  }
  return "(no error)";
}

describe("ipvsadm", () => {
  it("lists services and real servers in ipvsadm 1.31's format, sorted", () => {
    const h = world();
    h.exec("ipvsadm -A -t 10.100.100.100:8080 -s rr");
    h.exec("ipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.21:8080 -m");
    h.exec("ipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.11:8080 -m -w 3");
    expect(out(h, "ipvsadm -Ln")).toBe(
      [
        "IP Virtual Server version 1.2.1 (size=4096)",
        "Prot LocalAddress:Port Scheduler Flags",
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
        "TCP  10.100.100.100:8080 rr",
        "  -> 10.0.0.11:8080               Masq    3      0          0         ",
        "  -> 10.0.0.21:8080               Masq    1      0          0         ",
        "",
      ].join("\n"),
    );
    expect(out(h, "ipvsadm -L")).toContain("TCP  10.100.100.100:http-alt rr");
  });
  it("defaults to wlc and direct routing, weight 1, persistence 300 s", () => {
    const h = world();
    h.exec("ipvsadm -A -t 10.100.100.100:80 -p");
    h.exec("ipvsadm -a -t 10.100.100.100:80 -r 10.0.0.11");
    expect(out(h, "ipvsadm -Sn")).toBe("-A -t 10.100.100.100:80 -s wlc -p 300\n-a -t 10.100.100.100:80 -r 10.0.0.11:80 -g -w 1\n");
  });
  it("words its errors as ipvs_strerror() does, and a failed command changes nothing", () => {
    const h = world();
    h.exec("ipvsadm -A -t 10.100.100.100:8080 -s rr");
    h.exec("ipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.11:8080 -m");
    const before = h.config;
    expect(err(h, "ipvsadm -A -t 10.100.100.100:8080 -s rr")).toBe("Service already exists");
    expect(err(h, "ipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.11:8080 -m")).toBe("Destination already exists");
    expect(err(h, "ipvsadm -a -t 10.1.1.1:80 -r 10.0.0.11:8080 -m")).toBe("Service not defined");
    expect(err(h, "ipvsadm -d -t 10.100.100.100:8080 -r 10.0.0.99:8080")).toBe("No such destination");
    expect(err(h, "ipvsadm -D -t 10.1.1.1:80")).toBe("No such service");
    expect(err(h, "ipvsadm -A -t 10.1.1.1:80 -s nosuch")).toBe("Scheduler or persistence engine not found");
    expect(err(h, "ipvsadm -A -t 10.1.1.300:80")).toBe("illegal virtual server address[:port] specified");
    expect(err(h, "ipvsadm -A -u 10.1.1.1:53 -s rr -o")).toBe("pktpath does not model one-packet scheduling (-o, --ops) yet");
    expect(h.config).toBe(before);
  });
  it("-S then -R gives the same rules back", () => {
    const h = world();
    h.exec("ipvsadm -A -t 10.100.100.100:8080 -s wrr");
    h.exec("ipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.11:8080 -m -w 3");
    h.exec("ipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.21:8080 -m -w 1 -x 100 -y 10");
    h.exec("ipvsadm -A -u 10.100.100.100:53 -s sh -b sh-fallback,sh-port");
    h.exec("ipvsadm -A -f 7 -s rr -p 60 -M 255.255.255.0");
    const saved = out(h, "ipvsadm -S -n");
    const g = world();
    g.exec("ipvsadm -R", "host", saved);
    expect(out(g, "ipvsadm -S -n")).toBe(saved);
  });
  it("-R that fails on a line names the line and changes nothing", () => {
    const h = world();
    h.exec("ipvsadm -Ln"); // loads ip_vs, which stays loaded whatever -R does
    const before = h.config;
    const msg = err(h, "ipvsadm -R", "-A -t 10.1.1.1:80 -s rr\n-a -t 10.1.1.1:80 -r 10.0.0.11:80 -m\n-a -t 10.9.9.9:80 -r 10.0.0.11:80 -m\n");
    expect(msg).toContain("Service not defined");
    expect(msg).toContain("line 3: -a -t 10.9.9.9:80");
    expect(h.config).toBe(before);
    expect(out(h, "ipvsadm -Ln")).not.toContain("10.1.1.1");
  });
  it("--set changes the timeouts --timeout lists", () => {
    const h = world();
    expect(out(h, "ipvsadm -L --timeout")).toBe("Timeout (tcp tcpfin udp): 900 120 300\n");
    h.exec("ipvsadm --set 3600 60 30");
    expect(out(h, "ipvsadm -L --timeout")).toBe("Timeout (tcp tcpfin udp): 3600 60 30\n");
  });
});

describe("IPVS in the packet path", () => {
  it("NAT mode: rr over the real servers, the reply comes from the VIP, counters show it", () => {
    const h = world();
    run(h, "modprobe br_netfilter\nipvsadm -A -t 10.100.100.100:8080 -s rr\nipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.11:8080 -m\nipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.21:8080 -m");
    const servers = [1, 2, 3, 4].map(() => curl(h, "host", "10.100.100.100:8080").server);
    // The newest destination heads the list, so rr starts with it.
    expect(servers).toEqual(["netns_leah", "netns_dustin", "netns_leah", "netns_dustin"]);
    expect(out(h, "ipvsadm -Ln")).toMatch(/10\.0\.0\.11:8080 +Masq +1 +0 +2 /);
    expect(out(h, "ipvsadm -Lcn")).toMatch(/TCP 0[12]:\d\d  TIME_WAIT   10\.100\.100\.100:\d+ +10\.100\.100\.100:8080 10\.0\.0\.(11|21):8080/);
  });
  it("wrr 3:1 gives each real server its weight over a cycle", () => {
    const h = world();
    run(h, "ipvsadm -A -t 10.100.100.100:8080 -s wrr\nipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.11:8080 -m -w 3\nipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.21:8080 -m -w 1");
    const servers = [1, 2, 3, 4, 5, 6, 7, 8].map(() => curl(h, "host", "10.100.100.100:8080").server);
    expect(servers.filter((s) => s === "netns_dustin").length).toBe(6);
    expect(servers.filter((s) => s === "netns_leah").length).toBe(2);
  });
  it("a service without available real servers answers with ICMP port unreachable: refused", () => {
    const h = world();
    run(h, "ipvsadm -A -t 10.100.100.100:8080 -s rr\nipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.11:8080 -m -w 0");
    expect(curl(h, "host", "10.100.100.100:8080").outcome).toBe("refused");
  });
  it("persistence keeps a client on its real server until the template expires", () => {
    const h = world();
    run(h, "ipvsadm -A -t 10.100.100.100:8080 -s rr -p 60\nipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.11:8080 -m\nipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.21:8080 -m");
    const first = curl(h, "netns_dustin", "10.100.100.100:8080").server;
    for (let i = 0; i < 3; i++) expect(curl(h, "netns_dustin", "10.100.100.100:8080").server).toBe(first);
    h.advance(61_000);
    expect(out(h, "ipvsadm -Ln --persistent-conn")).toMatch(/ 0 +0 +0/);
  });
  it("-L -t SVC prints no banner (list_service); --persistent-conn keeps the scheduler line", () => {
    const h = world();
    run(h, "ipvsadm -A -t 10.100.100.100:8080 -s rr -p 60\nipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.11:8080 -m");
    expect(out(h, "ipvsadm -Ln -t 10.100.100.100:8080").split("\n")[0]).toBe("Prot LocalAddress:Port Scheduler Flags");
    expect(out(h, "ipvsadm -Ln --persistent-conn").split("\n")[3]).toBe("TCP  10.100.100.100:8080 rr persistent 60");
  });
  it("expire_quiescent_template: the template is re-keyed to port 65535 and stays until its timer ends", () => {
    const h = world();
    run(h, "ipvsadm -A -t 10.100.100.100:8080 -s rr -p 60\nipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.11:8080 -m\nipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.21:8080 -m");
    const first = curl(h, "host", "10.100.100.100:8080").server;
    const firstAddr = first === "netns_dustin" ? "10.0.0.11" : "10.0.0.21";
    run(h, `sysctl -w net.ipv4.vs.expire_quiescent_template=1\nipvsadm -e -t 10.100.100.100:8080 -r ${firstAddr}:8080 -m -w 0`);
    expect(curl(h, "host", "10.100.100.100:8080").server).not.toBe(first);
    const conns = out(h, "ipvsadm -Lcn");
    expect(conns).toMatch(new RegExp(`:0\\s+10\\.100\\.100\\.100:65535 ${firstAddr.replace(/\./g, "\\.")}:65535`));
    h.advance(121_000);
    expect(out(h, "ipvsadm -Lcn")).not.toMatch(/65535/);
  });
  it("DR mode: the real server holds the VIP on lo and answers the client directly", () => {
    const h = world();
    run(
      h,
      `ipvsadm -A -t 10.100.100.100:8080 -s rr
ipvsadm -a -t 10.100.100.100:8080 -r 10.0.0.21:8080 -g
ip netns exec netns_leah ip addr add 10.100.100.100/32 dev lo
ip netns exec netns_leah sysctl -w net.ipv4.conf.all.arp_ignore=1
ip netns exec netns_leah sysctl -w net.ipv4.conf.all.arp_announce=2`,
    );
    const r = curl(h, "netns_dustin", "10.100.100.100:8080");
    expect(r.outcome).toBe("answered");
    expect(r.server).toBe("netns_leah");
    expect(r.clientIp).toBe(0x0a00000b);
    expect(out(h, "ipvsadm -Ln")).toContain("Route");
  });
});

// ipvsadm.c parse_service(): a port that is not a number is a service name of the
// service's protocol (getservbyname with "tcp" or "udp"), as the seed 003 demo types it.
describe("ipvsadm service names", () => {
  it("takes VIP:http and RIP:http-alt and deletes a server by name", () => {
    const h = world();
    h.exec("ipvsadm -A -t 10.100.100.100:http -s rr");
    h.exec("ipvsadm -a -t 10.100.100.100:http -r 10.0.0.11:http-alt -m");
    h.exec("ipvsadm -a -t 10.100.100.100:80 -r 10.0.0.21:8080 -m");
    expect(out(h, "ipvsadm -Ln")).toContain("TCP  10.100.100.100:80 rr\n  -> 10.0.0.11:8080");
    h.exec("ipvsadm -d -t 100.100.100.100:http -r 10.0.0.11:8080".replace("100.100.100.100", "10.100.100.100"));
    expect(out(h, "ipvsadm -Ln")).not.toContain("10.0.0.11:8080");
    expect(out(h, "ipvsadm -Ln")).toContain("10.0.0.21:8080");
  });
  it("looks UDP services up in the udp entries", () => {
    const h = world();
    h.exec("ipvsadm -A -u 10.100.100.100:domain -s rr");
    expect(out(h, "ipvsadm -Ln")).toContain("UDP  10.100.100.100:53 rr");
  });
  it("refuses an unknown service name as ipvsadm does", () => {
    const h = world();
    expect(err(h, "ipvsadm -A -t 10.100.100.100:nosuchservice -s rr")).toMatch(/illegal virtual server address\[:port\] specified/);
  });
});
