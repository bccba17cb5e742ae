// User routes (ip route add/replace/del) with the checks of fib_create_info(),
// fib_check_nh_v4_gw() and fib_check_nh_nongw(). Expectations measured with iproute2 in a
// fresh namespace on Linux 6.18; errors are the kernel's extack messages.
import { describe, expect, it } from "vitest";
import { linkUp } from "../../src/config/addrs.ts";
import { KernelError } from "../../src/config/errors.ts";
import { addRoute, delRoute, type RouteSpec } from "../../src/config/routes.ts";
import type { Config, LinkConfig } from "../../src/config/types.ts";
import { addr, ip, NS, routes, vethWorld } from "./world.ts";

function spec(dst: string, more: Partial<RouteSpec> = {}): RouteSpec {
  const [a, len] = dst.split("/");
  return { table: 254, type: "unicast", dst: ip(a!), plen: Number(len ?? 32), dev: null, via: null, src: null, scope: null, proto: "boot", metric: 0, ...more };
}

function refused(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof KernelError) return `${e.errno}: ${e.message}`;
    throw e;
  }
  return "accepted";
}

/** va up with 10.0.0.1/24 and 10.0.2.1/24; vb up, no address. */
function world(): { c: Config; va: LinkConfig; vb: LinkConfig } {
  const w = vethWorld();
  linkUp(w.c, w.va);
  linkUp(w.c, w.vb);
  addr(w.c, w.va, "10.0.0.1/24");
  addr(w.c, w.va, "10.0.2.1/24");
  return w;
}

describe("ip route add", () => {
  it("a route with only a device has scope link; one with a gateway scope global, through the gateway's device", () => {
    const { c, va, vb } = world();
    addRoute(c, NS, spec("20.0.0.0/8", { dev: vb }), false);
    addRoute(c, NS, spec("30.0.0.0/8", { via: ip("10.0.2.7") }), false);
    expect(routes(c).filter((r) => /^[23]0\./.test(r))).toEqual(["20.0.0.0/8 dev vb scope link", "30.0.0.0/8 via 10.0.2.7 dev va"]);
    expect(va.up).toBe(true);
  });

  it("refuses a prefix with host bits set", () => {
    const { c, vb } = world();
    expect(refused(() => addRoute(c, NS, spec("172.16.0.1/16", { dev: vb }), false))).toBe("EINVAL: Invalid prefix for given prefix length.");
  });

  it("refuses a gateway no connected route reaches, or one reached through another device than the one named", () => {
    const { c, vb } = world();
    expect(refused(() => addRoute(c, NS, spec("8.8.0.0/16", { via: ip("10.9.9.9") }), false))).toBe("ENETUNREACH: Nexthop has invalid gateway.");
    expect(refused(() => addRoute(c, NS, spec("31.0.0.0/8", { via: ip("10.0.2.7"), dev: vb }), false))).toBe("ENETUNREACH: Nexthop has invalid gateway.");
  });

  it("words a down device as the kernel does: without a gateway, and with an onlink one", () => {
    const { c, vb } = vethWorld();
    expect(refused(() => addRoute(c, NS, spec("5.5.0.0/16", { dev: vb }), false))).toBe("ENETDOWN: Device for nexthop is not up.");
    expect(refused(() => addRoute(c, NS, spec("5.6.0.0/16", { dev: vb, via: ip("1.2.3.4"), onlink: true }), false))).toBe("ENETDOWN: Nexthop device is not up.");
    expect(refused(() => addRoute(c, NS, spec("5.5.5.6", { dev: vb, type: "broadcast" }), false))).toBe("ENETDOWN: Device for nexthop is not up.");
  });

  it("takes a host-scope route (and a local one) on a down device, but never with a gateway", () => {
    const { c, vb } = vethWorld();
    addRoute(c, NS, spec("7.7.0.0/16", { dev: vb, scope: "host" }), false);
    addRoute(c, NS, spec("7.7.7.7", { dev: vb, type: "local", table: 255 }), false);
    expect(routes(c, "vb")).toEqual(["7.7.0.0/16 dev vb scope host", "local 7.7.7.7 dev vb table local scope host"]);
    expect(refused(() => addRoute(c, NS, spec("6.6.0.0/16", { via: ip("10.0.0.9"), scope: "host" }), false))).toBe("EINVAL: Route with host scope can not have a gateway.");
  });

  it("refuses a preferred source that is not a local address", () => {
    const { c, va } = world();
    expect(refused(() => addRoute(c, NS, spec("20.0.0.0/8", { dev: va, src: ip("9.9.9.9") }), false))).toBe("EINVAL: Invalid prefsrc address.");
    addRoute(c, NS, spec("20.0.0.0/8", { dev: va, src: ip("10.0.2.1") }), false);
    expect(routes(c).filter((r) => r.startsWith("20."))).toEqual(["20.0.0.0/8 dev va scope link src 10.0.2.1"]);
  });

  it("an existing table/prefix/metric is EEXIST unless replaced; another metric is another route", () => {
    const { c, va, vb } = world();
    addRoute(c, NS, spec("9.9.0.0/16", { dev: vb, metric: 5 }), false);
    expect(refused(() => addRoute(c, NS, spec("9.9.0.0/16", { dev: va, metric: 5 }), false))).toBe("EEXIST: File exists");
    addRoute(c, NS, spec("9.9.0.0/16", { dev: va, metric: 6 }), false);
    addRoute(c, NS, spec("9.9.0.0/16", { dev: va, metric: 5 }), true);
    expect(routes(c).filter((r) => r.startsWith("9.9."))).toEqual(["9.9.0.0/16 dev va scope link metric 5", "9.9.0.0/16 dev va scope link metric 6"]);
  });
});

describe("ip route del", () => {
  it("deletes the first route matching the keys given; none is ESRCH", () => {
    const { c, va, vb } = world();
    addRoute(c, NS, spec("9.9.0.0/16", { dev: vb, metric: 5 }), false);
    addRoute(c, NS, spec("9.9.0.0/16", { dev: va, metric: 6 }), false);
    const m = { table: 254, dst: ip("9.9.0.0"), plen: 16, via: null, metric: null };
    delRoute(c, NS, { ...m, dev: va });
    expect(routes(c).filter((r) => r.startsWith("9.9."))).toEqual(["9.9.0.0/16 dev vb scope link metric 5"]);
    expect(refused(() => delRoute(c, NS, { ...m, dst: ip("7.7.0.0"), dev: null }))).toBe("ESRCH: No such process");
  });
});
