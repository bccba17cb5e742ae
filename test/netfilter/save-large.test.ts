// iptables-save of a table larger than the call stack's argument limit (a kube-proxy node
// at a few thousand services has 100k+ lines): printed whole, not a RangeError.
import { describe, expect, it } from "vitest";
import { hostWithLayers } from "../../src/layers.ts";

describe("iptables-save of a large table", () => {
  it("prints 150k rules", { timeout: 120_000 }, () => {
    const { host } = hostWithLayers();
    const lines = ["*nat"];
    for (let i = 0; i < 30_000; i++) lines.push(`:C${i} - [0:0]`);
    for (let i = 0; i < 150_000; i++) lines.push(`-A C${i % 30_000} -j RETURN`);
    lines.push("COMMIT", "");
    host.exec("iptables-restore", "host", lines.join("\n"));
    const out = host.exec("iptables-save -t nat")[0]!.stdout.split("\n");
    expect(out.filter((l) => l.startsWith("-A ")).length).toBe(150_000);
    expect(out.filter((l) => l.startsWith(":C")).length).toBe(30_000);
    expect(out.at(-2)).toMatch(/^# Completed on /);
  });
});
