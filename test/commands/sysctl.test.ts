// sysctl and modprobe: per-namespace values, module-made keys, procps' wording.
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import { defaultLayers } from "../../src/layers.ts";
import { ToolError } from "../../src/tool/tool.ts";

function err(h: Host, line: string): string {
  try {
    h.exec(line);
  } catch (e) {
    if (e instanceof ToolError) return e.message;
    throw e;
  }
  return "(no error)";
}

describe("sysctl", () => {
  it("reads and writes per namespace, in procps' format", () => {
    const h = new Host();
    h.exec("ip netns add a");
    expect(h.exec("sysctl --write net.ipv4.ip_forward=1")[0]!.stdout).toBe("net.ipv4.ip_forward = 1\n");
    expect(h.exec("sysctl net.ipv4.ip_forward")[0]!.stdout).toBe("net.ipv4.ip_forward = 1\n");
    expect(h.exec("ip netns exec a sysctl -n net.ipv4.ip_forward")[0]!.stdout).toBe("0\n");
    expect(h.exec("sysctl net.ipv4.conf.all.forwarding net.ipv4.ip_local_port_range")[0]!.stdout).toBe(
      "net.ipv4.conf.all.forwarding = 1\nnet.ipv4.ip_local_port_range = 32768\t60999\n",
    );
  });
  it("has net.bridge.* only once br_netfilter is loaded, and net.ipv4.vs.* once ip_vs is", () => {
    const h = new Host({ layers: defaultLayers() });
    expect(err(h, "sysctl net.bridge.bridge-nf-call-iptables")).toBe("sysctl: cannot stat /proc/sys/net/bridge/bridge-nf-call-iptables: No such file or directory");
    h.exec("modprobe br_netfilter");
    expect(h.exec("sysctl net.bridge.bridge-nf-call-iptables")[0]!.stdout).toBe("net.bridge.bridge-nf-call-iptables = 1\n");
    expect(err(h, "sysctl net.ipv4.vs.conntrack")).toBe("sysctl: cannot stat /proc/sys/net/ipv4/vs/conntrack: No such file or directory");
    h.exec("modprobe ip_vs");
    expect(h.exec("sysctl net.ipv4.vs.conntrack")[0]!.stdout).toBe("net.ipv4.vs.conntrack = 0\n");
  });
  it("words bad input as procps does and changes nothing", () => {
    const h = new Host();
    const before = h.config;
    expect(err(h, "sysctl -w net.ipv4.ip_forward=abc")).toBe('sysctl: setting key "net.ipv4.ip_forward": Invalid argument');
    expect(err(h, "sysctl -w net.ipv4.nosuch=1")).toBe("sysctl: cannot stat /proc/sys/net/ipv4/nosuch: No such file or directory");
    expect(err(h, "sysctl -w net.ipv4.ip_forward")).toBe("sysctl: command line(0): invalid syntax, continuing...");
    expect(h.config).toBe(before);
  });
  it("per-device keys exist for the namespace's devices only", () => {
    const h = new Host();
    h.exec("ip link add br0 type bridge");
    expect(h.exec("sysctl net.ipv4.conf.br0.rp_filter")[0]!.stdout).toBe("net.ipv4.conf.br0.rp_filter = 0\n");
    expect(err(h, "sysctl net.ipv4.conf.nosuch.rp_filter")).toBe("sysctl: cannot stat /proc/sys/net/ipv4/conf/nosuch/rp_filter: No such file or directory");
  });
});

describe("modprobe", () => {
  it("knows the modules that matter and fails for others as kmod does", () => {
    const h = new Host();
    expect(err(h, "modprobe nosuchmodule")).toMatch(/^modprobe: FATAL: Module nosuchmodule not found in directory \/lib\/modules\//);
    h.exec("modprobe ip_vs_rr");
    expect(h.config.modules["ip_vs"]).toBe(true);
  });
});
