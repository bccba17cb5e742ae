// Which sysctls exist where, how a device's value is read (its own, else default's, with
// forwarding following ip_forward), what a write does, and what values are taken
// (devinet_conf_proc, devinet_sysctl_forward, ipv4_local_port_range, IN_DEV_MAXCONF).
// The values and refusals were measured with procps sysctl in a fresh namespace (Linux 6.18).
import { describe, expect, it } from "vitest";
import { KernelError } from "../../src/config/errors.ts";
import { deviceConf, normaliseSysctl, readSysctl, resolveSysctl, sysctlNumber, writeSysctl } from "../../src/config/sysctl.ts";
import type { Config } from "../../src/config/types.ts";
import { NS, vethWorld } from "./world.ts";

function read(c: Config, key: string): string {
  const r = resolveSysctl(c, NS, key);
  if (!r) throw new Error(`${key} does not exist`);
  return readSysctl(c.netns[NS]!, key, r.dev, r.def);
}

/** sysctl -w KEY=VALUE: resolve, validate, write; "EINVAL" or null when the key is missing. */
function write(c: Config, key: string, value: string): string | null {
  const r = resolveSysctl(c, NS, key);
  if (!r) return null;
  try {
    writeSysctl(c.netns[NS]!, key, normaliseSysctl(r.def, value));
    return read(c, key);
  } catch (e) {
    if (e instanceof KernelError) return e.errno;
    throw e;
  }
}

describe("which sysctls exist", () => {
  it("per-device keys for existing links, all and default; none for a missing link", () => {
    const { c } = vethWorld();
    for (const dev of ["va", "lo", "all", "default"]) expect(resolveSysctl(c, NS, `net.ipv4.conf.${dev}.rp_filter`)?.dev).toBe(dev);
    expect(resolveSysctl(c, NS, "net.ipv4.conf.nosuch.rp_filter")).toBeNull();
    expect(resolveSysctl(c, NS, "net.ipv4.conf.va.nosuch")).toBeNull();
    expect(resolveSysctl(c, NS, "net.nothing")).toBeNull();
  });

  it("net.bridge.* only once br_netfilter is loaded", () => {
    const { c } = vethWorld();
    expect(resolveSysctl(c, NS, "net.bridge.bridge-nf-call-iptables")).toBeNull();
    c.modules["br_netfilter"] = true;
    expect(read(c, "net.bridge.bridge-nf-call-iptables")).toBe("1");
  });
});

describe("reading a device's value", () => {
  it("follows default while the device has none of its own; its own value wins", () => {
    const { c } = vethWorld();
    expect(write(c, "net.ipv4.conf.default.rp_filter", "2")).toBe("2");
    expect(read(c, "net.ipv4.conf.va.rp_filter")).toBe("2");
    write(c, "net.ipv4.conf.vb.rp_filter", "1");
    write(c, "net.ipv4.conf.default.rp_filter", "0");
    expect([read(c, "net.ipv4.conf.vb.rp_filter"), read(c, "net.ipv4.conf.va.rp_filter")]).toEqual(["1", "0"]);
  });

  it("ip_forward sets forwarding everywhere, over a device's own value; all.forwarding is ip_forward", () => {
    const { c } = vethWorld();
    write(c, "net.ipv4.conf.vb.forwarding", "0");
    expect(write(c, "net.ipv4.ip_forward", "1")).toBe("1");
    expect(["vb", "va", "all", "default"].map((d) => read(c, `net.ipv4.conf.${d}.forwarding`))).toEqual(["1", "1", "1", "1"]);
    write(c, "net.ipv4.conf.vb.forwarding", "0");
    expect([read(c, "net.ipv4.ip_forward"), read(c, "net.ipv4.conf.vb.forwarding")]).toEqual(["1", "0"]);
    expect(write(c, "net.ipv4.ip_forward", "7")).toBe("7");
    expect(read(c, "net.ipv4.conf.va.forwarding")).toBe("7");
  });

  it("rp_filter and arp_ignore combine all and the device by maximum, accept_local by or (IN_DEV_MAXCONF, IN_DEV_ORCONF)", () => {
    const { c } = vethWorld();
    const nsc = c.netns[NS]!;
    write(c, "net.ipv4.conf.all.rp_filter", "1");
    write(c, "net.ipv4.conf.va.rp_filter", "2");
    write(c, "net.ipv4.conf.all.arp_ignore", "2");
    write(c, "net.ipv4.conf.va.arp_ignore", "1");
    write(c, "net.ipv4.conf.all.accept_local", "1");
    expect([deviceConf(nsc, "va", "rp_filter"), deviceConf(nsc, "vb", "rp_filter"), deviceConf(nsc, "va", "arp_ignore"), deviceConf(nsc, "vb", "accept_local")]).toEqual([2, 1, 2, 1]);
  });
});

describe("values a write takes", () => {
  it("a per-device value is any int (proc_dointvec), an int out of 32 bits is EINVAL", () => {
    const { c } = vethWorld();
    expect(write(c, "net.ipv4.conf.va.rp_filter", "3")).toBe("3");
    expect(write(c, "net.ipv4.conf.va.arp_ignore", "9")).toBe("9");
    expect(write(c, "net.ipv4.conf.va.arp_announce", "-4")).toBe("-4");
    expect(write(c, "net.ipv4.conf.va.forwarding", "2")).toBe("2");
    expect(write(c, "net.ipv4.conf.va.rp_filter", "2147483648")).toBe("EINVAL");
    expect(write(c, "net.ipv4.conf.va.rp_filter", "abc")).toBe("EINVAL");
  });

  it("bounded ones keep their bounds", () => {
    const { c } = vethWorld();
    expect(write(c, "net.ipv4.icmp_echo_ignore_all", "2")).toBe("EINVAL");
    expect(write(c, "net.ipv4.ip_default_ttl", "0")).toBe("EINVAL");
    expect(write(c, "net.ipv4.ip_default_ttl", "256")).toBe("EINVAL");
    expect(write(c, "net.ipv4.ip_default_ttl", "255")).toBe("255");
  });

  it("ip_local_port_range: two numbers up to 65535, low not above high nor below 1024, read back tab-separated", () => {
    const { c } = vethWorld();
    const key = "net.ipv4.ip_local_port_range";
    expect(read(c, key)).toBe("32768\t60999");
    expect(write(c, key, "1023 3000")).toBe("EINVAL");
    expect(write(c, key, "1024 65536")).toBe("EINVAL");
    expect(write(c, key, "2000 1024")).toBe("EINVAL");
    expect(write(c, key, "1000")).toBe("EINVAL");
    expect(write(c, key, "3000 3000")).toBe("3000\t3000");
    expect(write(c, key, "1024   65535")).toBe("1024\t65535");
    expect(sysctlNumber(c.netns[NS]!, key)).toBe(1024);
  });
});
