// Host.exec in a namespace that does not exist: the words of `ip netns exec`, not a TypeError.
import { describe, expect, it } from "vitest";
import { hostWithLayers } from "../../src/layers.ts";
import { ToolError } from "../../src/tool/tool.ts";

describe("Host.exec", () => {
  it("refuses a namespace that does not exist, and changes nothing", () => {
    const { host } = hostWithLayers();
    const before = host.config;
    expect(() => host.exec("iptables -A INPUT -j ACCEPT", "root")).toThrow(new ToolError('Cannot open network namespace "root": No such file or directory'));
    expect(host.config).toBe(before);
  });
  it("finds a namespace added earlier in the same batch", () => {
    const { host } = hostWithLayers();
    host.batch(() => {
      host.exec("ip netns add a");
      host.exec("ip link add br0 type bridge", "a");
    });
    expect(host.exec("ip -br link show br0", "a")[0]!.stdout).toMatch(/^br0 /);
  });
});
