// How a host gets its tools: every tool comes from a layer; the core tools are a layer of
// their own, first in defaultLayers() and a bare Host's default.
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import { defaultLayers } from "../../src/layers.ts";
import { coreLayer } from "../../src/commands/layer.ts";
import { ToolError } from "../../src/tool/tool.ts";

const CORE = ["ip", "bridge", "sysctl", "modprobe", "curl", "wget", "nc", "netcat", "ping", "python3", "python", "sleep"];

describe("layers", () => {
  it("a bare Host has the core tools and no layer's tool", () => {
    const h = new Host();
    for (const t of CORE) expect(h.tool(t), t).toBeDefined();
    for (const t of ["iptables", "conntrack", "ipset", "ipvsadm", "nft"]) expect(h.tool(t), t).toBeUndefined();
    expect(() => h.exec("iptables -L")).toThrow(new ToolError("iptables: command not found"));
  });

  it("defaultLayers() starts with the core and brings every layer's tools", () => {
    expect(defaultLayers()[0]).toBe(coreLayer);
    expect(defaultLayers().map((l) => l.name)).toEqual(["core", "default layers"]);
    const h = new Host({ layers: defaultLayers() });
    for (const t of [...CORE, "iptables", "iptables-save", "iptables-restore", "conntrack", "ipset", "ipvsadm", "nft"]) expect(h.tool(t), t).toBeDefined();
  });

  it("a list of layers replaces the default: without the core layer there is no ip", () => {
    const h = new Host({ layers: [] });
    expect(h.tool("ip")).toBeUndefined();
    expect(() => h.exec("ip link")).toThrow(new ToolError("ip: command not found"));
  });
});
