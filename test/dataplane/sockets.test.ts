// Client sockets as the kernel binds them: ephemeral ports (__inet_hash_connect,
// udp_lib_get_port), and the probe options that fix the source (nc -p/-s, curl
// --local-port/--interface); a promiscuous bridge passing copies up.
import { describe, expect, it } from "vitest";
import { twoPodHost } from "../helpers.ts";
import type { Host } from "../../src/host.ts";
import { formatIPv4 } from "../../src/wire/ipv4.ts";

/** The client ports the server still holds in TIME_WAIT, in the order they came. */
function serverPeers(h: Host, ns: string): string[] {
  const nsv = h.dp.view.netns.get(ns)!;
  return h.dp
    .state(nsv)
    .sockets.tcpSockets()
    .map((s) => `${formatIPv4(s.raddr)}:${s.rport}`);
}

function outcome(h: Host, line: string): string {
  const r = h.exec(line)[0]!.probe!.result;
  return r.outcome === "answered" ? r.server! : `${r.outcome}: ${r.error}`;
}

describe("ephemeral ports (__inet_hash_connect)", () => {
  it("are even, inside ip_local_port_range, distinct, and the same on every run", () => {
    const ports = (): number[] => {
      const h = twoPodHost();
      for (let i = 0; i < 6; i++) expect(outcome(h, "curl 10.0.0.11:8080")).toBe("netns_dustin");
      return serverPeers(h, "netns_dustin").map((p) => Number(p.split(":")[1]));
    };
    const a = ports();
    expect(a.length).toBe(6);
    expect(new Set(a).size).toBe(6);
    for (const p of a) {
      expect(p).toBeGreaterThanOrEqual(32768);
      expect(p).toBeLessThanOrEqual(60999);
      expect(p % 2).toBe(0);
    }
    expect(ports()).toEqual(a);
  });
  it("differ between namespaces: unrelated clients do not start at the same port", () => {
    const h = twoPodHost();
    outcome(h, "curl 10.0.0.11:8080");
    outcome(h, "ip netns exec netns_leah curl 10.0.0.11:8080");
    const [p1, p2] = serverPeers(h, "netns_dustin").map((p) => p.split(":")[1]);
    expect(p1).not.toBe(p2);
  });
  it("follow net.ipv4.ip_local_port_range", () => {
    const h = twoPodHost();
    h.exec("sysctl -w net.ipv4.ip_local_port_range='50000 50003'");
    for (let i = 0; i < 3; i++) outcome(h, "curl 10.0.0.11:8080");
    for (const p of serverPeers(h, "netns_dustin")) expect(Number(p.split(":")[1])).toBeGreaterThanOrEqual(50000);
  });
});

describe("probe options that bind the client", () => {
  it("nc -p and curl --local-port fix the source port; a range skips a port a listener holds", () => {
    const h = twoPodHost();
    expect(outcome(h, "ip netns exec netns_leah nc -z -p 40000 10.0.0.11 8080")).toBe("netns_dustin");
    expect(outcome(h, "ip netns exec netns_dustin curl --local-port 8080-8081 10.0.0.21:8080")).toBe("netns_leah");
    expect(serverPeers(h, "netns_leah")).toEqual(["10.0.0.11:8081"]);
    expect(outcome(h, "ip netns exec netns_dustin curl --local-port 8080 10.0.0.21:8080")).toBe("unreachable: Address already in use");
  });
  it("nc -s and curl --interface fix the source address", () => {
    const h = twoPodHost();
    expect(h.exec("curl --interface bridge_home 10.0.0.11:8080")[0]!.probe!.result.clientIp).toBe(0x0a000001);
    expect(h.exec("ip netns exec netns_leah nc -s 10.0.0.21 -p 40001 10.0.0.11 8080")[0]!.probe!.result.clientIp).toBe(0x0a000015);
    expect(outcome(h, "ip netns exec netns_leah nc -s 10.0.0.99 10.0.0.11 8080")).toBe("unreachable: Cannot assign requested address");
    expect(outcome(h, "curl --interface veth_dustin 10.0.0.11:8080")).toBe("unreachable: Cannot assign requested address");
  });
  it("curl --local-port takes what curl takes", () => {
    const h = twoPodHost();
    expect(() => h.exec("curl --local-port 70000 10.0.0.11:8080")).toThrow("curl: option --local-port: is badly used here");
    expect(() => h.exec("curl --local-port 9-3 10.0.0.11:8080")).toThrow("curl: option --local-port: is badly used here");
    expect(outcome(h, "curl --local-port 41000 - 41010 10.0.0.11:8080".replace(" - ", "-"))).toBe("netns_dustin");
  });
});

describe("a promiscuous bridge (br_handle_frame_finish local_rcv)", () => {
  it("passes a copy of forwarded frames up, which ip_rcv drops as PACKET_OTHERHOST", () => {
    const h = twoPodHost({ trace: true });
    h.exec("ip link set bridge_home promisc on");
    expect(h.exec("ip link show bridge_home")[0]!.stdout).toMatch(/PROMISC/);
    const r = h.exec("ip netns exec netns_leah curl 10.0.0.11:8080")[0]!;
    expect(r.probe!.result.outcome).toBe("answered");
    const steps = h.dp.tracer!.events.map((e) => e.detail).join("\n");
    expect(steps).toMatch(/bridge_home is promiscuous: a copy goes up/);
    expect(steps).toMatch(/PACKET_OTHERHOST/);
  });
});
