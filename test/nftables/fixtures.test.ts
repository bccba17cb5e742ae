// nft's listings and errors compared byte for byte with what the real nft 1.0.6 printed
// on kernel 6.18 (test/fixtures/real-nft/capture.sh), and the listing round trip.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Host } from "../../src/host.ts";
import { defaultLayers } from "../../src/layers.ts";
import { ToolError } from "../../src/tool/tool.ts";
import { rebuildNft } from "../../src/nftables/rebuild.ts";
import { parseNft } from "../../src/nftables/parser.ts";

const DIR = join(import.meta.dirname, "..", "fixtures", "real-nft");
const read = (f: string) => readFileSync(join(DIR, f), "utf8");

function nft(host: Host, line: string, stdin: string | null = null): { out: string; rc: number } {
  try {
    return { out: host.exec(line, "host", stdin).map((o) => o.stdout).join(""), rc: 0 };
  } catch (e) {
    if (e instanceof ToolError) return { out: e.message + "\n", rc: 1 };
    throw e;
  }
}

const noExpires = (s: string) => s.replace(/ expires [0-9a-z]+/g, "");

describe("nft listings as the real nft prints them", () => {
  it("nft -a list ruleset after nft -f (handles, anonymous-set handles, wrapping, dependency removal)", () => {
    const host = new Host({ layers: defaultLayers() });
    expect(nft(host, "nft -f -", read("ruleset.nft")).rc).toBe(0);
    expect(noExpires(nft(host, "nft -a list ruleset").out)).toBe(read("ruleset.list"));
  });

  it("nft list ruleset of a second ruleset (nat ranges, vmap concatenations, reject, limit, log)", () => {
    const host = new Host({ layers: defaultLayers() });
    const r = nft(host, "nft -f -", read("ruleset2.nft"));
    expect(r.out).toBe("");
    expect(nft(host, "nft list ruleset").out).toBe(read("ruleset2.list"));
  });

  it("round trip: nft -f of a listing restores the same ruleset", () => {
    for (const f of ["ruleset.nft", "ruleset2.nft"]) {
      const a = new Host({ layers: defaultLayers() });
      nft(a, "nft -f -", read(f));
      const listing = nft(a, "nft list ruleset").out;
      const b = new Host({ layers: defaultLayers() });
      expect(nft(b, "nft -f -", noExpires(listing)).rc).toBe(0);
      expect(noExpires(nft(b, "nft list ruleset").out)).toBe(noExpires(listing));
    }
  });
});

describe("rebuilt input (what real-kernel mode gives nft -f -)", () => {
  it("parses back to the same ruleset as the original", () => {
    for (const f of ["ruleset.nft", "ruleset2.nft"]) {
      const a = new Host({ layers: defaultLayers() });
      nft(a, "nft -f -", read(f));
      const b = new Host({ layers: defaultLayers() });
      expect(nft(b, "nft -f -", rebuildNft(parseNft(read(f)))).rc).toBe(0);
      expect(noExpires(nft(b, "nft -a list ruleset").out)).toBe(noExpires(nft(a, "nft -a list ruleset").out));
    }
  });
});

describe("nft errors as the real nft words them, caret under the token", () => {
  it("matches errors.out line for line", () => {
    const host = new Host({ layers: defaultLayers() });
    nft(host, "nft add table ip t");
    let got = "";
    for (const line of read("errors.txt").split("\n").filter(Boolean)) {
      got += `$ nft ${line}\n`;
      // As capture.sh runs it: the shell splits the line on spaces, no other quoting.
      let r: { out: string; rc: number };
      try {
        r = { out: host.execArgv(["nft", ...line.split(" ")], "host").stdout, rc: 0 };
      } catch (e) {
        if (!(e instanceof ToolError)) throw e;
        r = { out: e.message + "\n", rc: 1 };
      }
      got += r.out + `rc=${r.rc}\n`;
    }
    expect(got).toBe(read("errors.out"));
  });

  it("a failing file changes nothing (one transaction)", () => {
    const host = new Host({ layers: defaultLayers() });
    const r = nft(host, "nft -f -", "add table ip a\nadd chain ip a c\nadd rule ip a nope accept\n");
    expect(r.rc).toBe(1);
    expect(r.out).toBe("/dev/stdin:3:15-18: Error: Could not process rule: No such file or directory\nadd rule ip a nope accept\n              ^^^^\n");
    expect(nft(host, "nft list ruleset").out).toBe("");
  });

  it("-c checks and changes nothing; -f with a real file is refused", () => {
    const host = new Host({ layers: defaultLayers() });
    expect(nft(host, "nft -c add table ip zz").rc).toBe(0);
    expect(nft(host, "nft list tables").out).toBe("");
    expect(nft(host, "nft -f /etc/nftables.conf").out).toMatch(/not modelled by pktpath/);
    expect(nft(host, "nft add rule ip t c queue").out).toMatch(/not modelled by pktpath/);
  });
});

describe("iptables is iptables-nft", () => {
  it("nft list ruleset shows iptables' tables as the real nft translates them; delete table and flush ruleset remove them", () => {
    const host = new Host({ layers: defaultLayers() });
    for (const l of read("iptables.txt").split("\n").filter(Boolean)) host.exec(l);
    expect(nft(host, "nft list ruleset").out).toBe(read("iptables.list"));
    expect(nft(host, "nft delete table ip nat").rc).toBe(0);
    expect(nft(host, "nft list tables").out).toBe(read("iptables-after-delete.list"));
    expect(nft(host, "nft flush ruleset").rc).toBe(0);
    expect(nft(host, "nft list ruleset").out).toBe(read("iptables-after-flush.list"));
    expect(nft(host, "iptables -S").out).toBe(read("iptables-after-flush.S"));
  });
});
