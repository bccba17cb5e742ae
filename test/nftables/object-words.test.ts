// Words that name Object's own properties (constructor, toString, __proto__) are words
// like any other to nft: a lookup table of ours must not find them through the prototype.
import { describe, expect, it } from "vitest";
import { hostWithLayers } from "../../src/layers.ts";

function refusal(line: string): string {
  const { host } = hostWithLayers();
  host.exec("nft add table ip t");
  host.exec("nft add chain ip t c");
  const before = host.config;
  try {
    host.exec(line);
  } catch (e) {
    expect(host.config).toBe(before);
    return (e as Error).message.split("\n")[0]!;
  }
  return "accepted";
}

describe("nft and Object's property names", () => {
  it("refuses them where a keyword table is read, as it refuses any unknown word", () => {
    expect(refusal("nft add rule ip t c ip saddr toString 1.2.3.4 accept")).toBe(refusal("nft add rule ip t c ip saddr nosuchhost 1.2.3.4 accept"));
    expect(refusal("nft add rule ip t c reject with icmp constructor")).toBe("Error: Could not parse ICMP reject code");
    expect(refusal("nft add chain ip t c2 { type filter hook input priority constructor ; }")).toBe("Error: 'constructor' is invalid priority in this context.");
    expect(refusal("nft add rule ip t c tcp dport constructor accept")).toBe(refusal("nft add rule ip t c tcp dport nosuchservice accept"));
    expect(refusal("nft add rule ip t c meta __proto__ 1 accept")).toBe("Error: syntax error, unexpected __proto__");
  });
});
