// What a probe may ask for: ping's own limits in iputils' words, requests scheduled one
// at a time (no allocation up front), -i and -w as iputils uses them, and the bounds past
// which the emulator refuses rather than run away.
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import { defaultLayers } from "../../src/layers.ts";
import { ToolError } from "../../src/tool/tool.ts";
import { MAX_PING_REQUESTS, parseCurl, parseNc, parsePing } from "../../src/commands/probes.ts";
import { run, TWO_POD_BRIDGE } from "../helpers.ts";

function err(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ToolError) return e.message;
    throw e;
  }
  return "(no error)";
}

const ping = (args: string) => () => parsePing(["ping", ...args.split(" "), "10.0.0.11"]);

describe("ping's own limits, as iputils 20221126 words them", () => {
  it("-c, -w, -W and -i out of range", () => {
    expect(err(ping("-c 0"))).toBe("ping: invalid argument: '0': out of range: 1 <= value <= 9223372036854775807");
    expect(err(ping("-c -1"))).toBe("ping: invalid argument: '-1': out of range: 1 <= value <= 9223372036854775807");
    expect(err(ping("-c 9223372036854775808"))).toBe("ping: invalid argument: '9223372036854775808': Numerical result out of range");
    expect(err(ping("-c abc"))).toBe("ping: invalid argument: 'abc'");
    expect(err(ping("-c 1.5"))).toBe("ping: invalid argument: '1.5'");
    expect(err(ping("-c 1 -w 0.5"))).toBe("ping: invalid argument: '0.5'");
    expect(err(ping("-c 1 -w -1"))).toBe("ping: invalid argument: '-1': out of range: 0 <= value <= 2147483647");
    expect(err(ping("-c 1 -w 2147483648"))).toBe("ping: invalid argument: '2147483648': out of range: 0 <= value <= 2147483647");
    expect(err(ping("-c 1 -W -1"))).toBe("ping: bad linger time: -1");
    expect(err(ping("-c 1 -W 2147484"))).toBe("ping: bad linger time: 2147484");
    expect(err(ping("-c 1 -i 2147484"))).toBe("ping: bad timing interval: 2147484");
  });
  it("a count iputils accepts but that no probe can run is refused as not modelled, whatever its size", () => {
    for (const c of ["10000000", "1000000000", "9223372036854775807"]) {
      const m = err(ping(`-c ${c}`));
      expect(m).toMatch(/echo requests in one probe are not modelled by pktpath/);
      expect(m.length).toBeLessThan(200);
    }
    expect(err(ping(`-c ${MAX_PING_REQUESTS + 1} -i 0`))).toMatch(/not modelled/);
    expect(err(ping("-c 100000"))).toMatch(/not modelled by pktpath \(a probe runs for at most 86400 s/);
    expect(err(ping("-c 1 -w 100000"))).toMatch(/not modelled/);
  });
  it("-w bounds the count: a huge -c with a deadline is only what fits in it", () => {
    const a = parsePing(["ping", "-c", "10000000", "-w", "5", "10.0.0.11"]);
    expect([a.count, a.deadlineMs, a.intervalMs]).toEqual([10000000, 5000, 1000]);
  });
  it("curl -m, nc -w: a time limit past a day of virtual time is refused, not echoed whole", () => {
    expect(err(() => parseCurl(["curl", "-m", "1" + "0".repeat(400), "10.0.0.1"]))).toMatch(/^curl: option -m: a time limit of 1000.*\(401 bytes\) s is not modelled/);
    expect(err(() => parseNc(["nc", "-w", "86401", "10.0.0.1", "80"]))).toMatch(/not modelled by pktpath/);
    expect(parseCurl(["curl", "-m", "86400", "10.0.0.1"]).timeoutMs).toBe(86_400_000);
  });
});

describe("ping sends one request at a time", () => {
  const h = new Host({ layers: defaultLayers() });
  run(h, TWO_POD_BRIDGE);
  it("100,000 requests at -i 0 cost about a second and little memory", () => {
    const heap = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const out = h.exec(`ip netns exec netns_leah ping -c ${MAX_PING_REQUESTS} -i 0 10.0.0.11`)[0]!;
    expect(out.probe!.result.outcome).toBe("reply");
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(200 * 2 ** 20);
  }, 30_000);
  it("-i spaces the requests; -w ends the probe at its deadline", () => {
    let t = h.now;
    h.exec("ip netns exec netns_leah ping -c 5 -i 0.2 10.0.0.11");
    expect(h.now - t).toBe(800);
    t = h.now;
    h.exec("ip netns exec netns_leah ping -c 10000000 -w 5 10.0.0.11");
    expect(h.now - t).toBe(5000);
  });
  it("an ended ping sends nothing more: the clock moving on fires no leftover request", () => {
    h.exec("ip netns exec netns_leah iptables -A OUTPUT -p icmp --icmp-type echo-request");
    h.exec("ip netns exec netns_leah ping -c 3 -w 1 10.0.0.11");
    h.exec("sleep 10");
    const saved = h.exec("ip netns exec netns_leah iptables-save -c")[0]!.stdout;
    expect(saved).toMatch(/^\[1:84\] -A OUTPUT -p icmp -m icmp --icmp-type 8$/m);
  });
});

describe("sleep keeps the virtual clock exact", () => {
  it("an interval past ten years is refused, shortened, and moves nothing", () => {
    const h = new Host({ layers: defaultLayers() });
    expect(err(() => h.exec("sleep 9999999999999"))).toBe("sleep: an interval of 9999999999999 is not modelled by pktpath (the virtual clock moves at most 3650 days at once)");
    expect(err(() => h.exec("sleep " + "9".repeat(400))).length).toBeLessThan(200);
    expect(h.now).toBe(0);
    h.exec("sleep 3650d");
    expect(h.now).toBe(3650 * 86_400_000);
  });
});
