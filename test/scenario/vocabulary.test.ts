// The one shell vocabulary the host, the scenario runner and real-kernel mode read.
import { describe, expect, it } from "vitest";
import { commandKind, isProbe, unwrap } from "../../src/commands/vocabulary.ts";

const words = (s: string) => s.split(" ");
const tool = (n: string) => ["ip", "iptables"].includes(n);

describe("scenario vocabulary", () => {
  it("takes off sudo and ip netns exec NS, outermost first", () => {
    expect(unwrap(words("sudo ip netns exec a sudo ip netns exec b curl 1.2.3.4"))).toEqual({
      ns: "b",
      inner: ["curl", "1.2.3.4"],
      wrappers: [words("ip netns exec a"), words("ip netns exec b")],
    });
    expect(unwrap(words("ip -n a link")).inner).toEqual(words("ip -n a link"));
    expect(unwrap(words("ip netns exec a")).inner[0]).toBe("ip");
  });

  it.each([
    ["curl 10.0.0.1", "probe"],
    ["ip netns exec a nc -z 10.0.0.1 80", "probe"],
    ["nc -lu 53", "server"],
    ["netcat -l -p 80", "server"],
    ["python3 -m http.server", "server"],
    ["sleep 1", "sleep"],
    ["modprobe br_netfilter", "modprobe"],
    ["mkdir -p /etc/netns/a", "file-only"],
    ["sudo iptables -L", "tool"],
    ["bash -c id", null],
  ])("%s is a %s", (line, kind) => {
    expect(commandKind(words(line), tool)).toBe(kind);
  });

  it("only probes may carry expect:", () => {
    expect(isProbe(words("ip netns exec a curl 10.0.0.1"))).toBe(true);
    expect(isProbe(words("nc -l 80"))).toBe(false);
    expect(isProbe(words("ip link"))).toBe(false);
  });
});
