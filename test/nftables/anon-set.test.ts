// An anonymous set of one element on a single key is that element (nft's
// expr_evaluate_set); a concatenation or a verdict map keeps its braces. The expected
// listing is what nft v1.0.6 printed for this input on this machine's kernel.
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import { defaultLayers } from "../../src/layers.ts";

const input = `table ip t {
 chain c {
  tcp dport { 80-90 } accept
  ip daddr { 10.0.0.1 } accept
  ip daddr . tcp dport { 10.0.0.1 . 80 } accept
  ip daddr != { 10.0.0.0/8 } accept
  ct state { new } accept
  tcp dport vmap { 80 : accept }
 }
}
`;
const kernel = `table ip t {
	chain c {
		tcp dport 80-90 accept
		ip daddr 10.0.0.1 accept
		ip daddr . tcp dport { 10.0.0.1 . 80 } accept
		ip daddr != 10.0.0.0/8 accept
		ct state new accept
		tcp dport vmap { 80 : accept }
	}
}
`;

describe("nft: single-element anonymous sets", () => {
  it("list as the plain element, as nft 1.0.6 lists them", () => {
    const host = new Host({ layers: defaultLayers() });
    host.exec("nft -f -", "host", input);
    expect(host.exec("nft list ruleset", "host")[0]!.stdout).toBe(kernel);
  });
});
