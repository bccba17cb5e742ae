// The iptables control plane kept incrementally (a table's chains in a persistent map, its
// jump graph and reference counts kept rule by rule, compiled chains recompiled only when
// they change) gives what a table rebuilt from scratch gives: the same errors, reference
// counts, listings, counters and verdicts.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Host } from "../../src/host.ts";
import { hostWithLayers, type Layers } from "../../src/layers.ts";
import { ToolError } from "../../src/tool/tool.ts";
import { indexOf } from "../../src/netfilter/tables.ts";
import { TableIndex, type ChainMap } from "../../src/netfilter/chains.ts";

/** Each test host's netfilter runtime (installLayers hands it back). */
const nfOf = new Map<Host, Layers["netfilter"]>();
function host(): Host {
  const { host: h, layers } = hostWithLayers();
  nfOf.set(h, layers.netfilter);
  return h;
}
function out(h: Host, line: string, stdin: string | null = null): { ok: boolean; text: string } {
  try {
    return { ok: true, text: h.exec(line, "host", stdin).map((o) => o.stdout).join("") };
  } catch (e) {
    if (e instanceof ToolError) return { ok: false, text: e.message };
    throw e;
  }
}

describe("chain references", () => {
  it("-X of a referenced chain fails in iptables-nft's words (as the kernel said here) and changes nothing", () => {
    const h = host();
    for (const l of ["iptables -N A", "iptables -N B", "iptables -A INPUT -j A", "iptables -A B -j A"]) h.exec(l);
    const before = h.config;
    const r = out(h, "iptables -X A");
    expect(r).toEqual({ ok: false, text: "iptables v1.8.9 (nf_tables):  CHAIN_DEL failed (Device or resource busy): chain A" });
    expect(h.config).toBe(before);
    expect(out(h, "iptables -L -n").text).toContain("Chain A (2 references)");
    h.exec("iptables -D B -j A");
    h.exec("iptables -X B");
    expect(out(h, "iptables -L A -n").text).toBe("Chain A (1 references)\ntarget     prot opt source               destination         \n");
    h.exec("iptables -D INPUT -j A");
    h.exec("iptables -X A");
    expect(out(h, "iptables -S").text).toBe("-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n");
  });

  it("a restore that fails after changing chains and jumps leaves the table, its counts and its index as they were", () => {
    const h = host();
    h.exec("iptables -N A");
    h.exec("iptables -A INPUT -j A");
    const save = out(h, "iptables-save").text;
    const r = out(h, "iptables-restore --noflush", "*filter\n:B - [0:0]\n-A B -j A\n-A A -j B\n-A INPUT -j NOPE\nCOMMIT\n");
    expect(r.ok).toBe(false);
    expect(out(h, "iptables-save").text).toBe(save);
    const t = h.config.netns["host"]!.ext.netfilter!.tables.filter!;
    expect(indexOf(t).graph.refs("A")).toBe(1);
    expect(indexOf(t).graph.refs("B")).toBe(0);
    expect(out(h, "iptables -X A").text).toContain("CHAIN_DEL failed (Device or resource busy): chain A");
  });
});

// Commands over a few chains; most succeed, some fail (missing chains, busy chains, loops).
const CHAINS = ["A", "B", "C", "D"];
const cmd = fc.oneof(
  fc.constantFrom(...CHAINS).map((c) => `iptables -N ${c}`),
  fc.constantFrom(...CHAINS).map((c) => `iptables -X ${c}`),
  fc.constantFrom(...CHAINS).map((c) => `iptables -F ${c}`),
  fc.tuple(fc.constantFrom("INPUT", "FORWARD", ...CHAINS), fc.constantFrom("ACCEPT", "DROP", "RETURN", ...CHAINS), fc.integer({ min: 1, max: 3 })).map(([c, t, n]) => `iptables -A ${c} -s 10.0.0.${n} -j ${t}`),
  fc.tuple(fc.constantFrom("INPUT", ...CHAINS), fc.constantFrom("ACCEPT", ...CHAINS), fc.integer({ min: 1, max: 3 })).map(([c, t, n]) => `iptables -I ${c} ${n} -p tcp --dport 8${n} -j ${t}`),
  fc.tuple(fc.constantFrom("INPUT", "FORWARD", ...CHAINS), fc.constantFrom("ACCEPT", "DROP", "RETURN", ...CHAINS), fc.integer({ min: 1, max: 3 })).map(([c, t, n]) => `iptables -D ${c} -s 10.0.0.${n} -j ${t}`),
  fc.tuple(fc.constantFrom("INPUT", ...CHAINS), fc.integer({ min: 1, max: 3 })).map(([c, n]) => `iptables -D ${c} ${n}`),
  fc.tuple(fc.constantFrom(...CHAINS), fc.constantFrom(...CHAINS)).map(([a, b]) => `iptables -E ${a} ${b}`),
  fc.constantFrom("iptables -X", "iptables -F"),
  fc.tuple(fc.constantFrom(...CHAINS), fc.constantFrom(...CHAINS)).map(([a, b]) => `restore:*filter\n:${a} - [0:0]\n-A ${a} -j ${b}\n-A INPUT -j ${a}\nCOMMIT\n`),
);

describe("incremental equals rebuilt", () => {
  it("after any -N/-A/-I/-D/-F/-X/-E/restore sequence: listings, reference counts and the compiled table equal a table restored from its own save", () => {
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 1, maxLength: 25 }), (cmds) => {
        const h = host();
        for (const c of cmds) {
          const before = h.config;
          const r = c.startsWith("restore:") ? out(h, "iptables-restore --noflush", c.slice(8)) : out(h, c);
          // A failed command changes nothing.
          if (!r.ok) expect(h.config).toBe(before);
          // Compile after every command: the compiled table follows change by change.
          nfOf.get(h)!.compiled("host", "filter");
        }
        const t = h.config.netns["host"]!.ext.netfilter?.tables.filter;
        if (!t) return;
        // The index kept rule by rule equals one built from the chains.
        const kept = indexOf(t);
        const fresh = TableIndex.build(t.chains as ChainMap, "filter");
        for (const name of t.chains.names()) {
          expect(kept.graph.refs(name)).toBe(fresh.graph.refs(name));
          expect(kept.graph.levelOf(name)).toBe(fresh.graph.levelOf(name));
        }
        // Listings equal those of a host given the same table in one restore.
        const save = out(h, "iptables-save").text.replace(/^#.*\n/gm, "");
        const g = host();
        expect(out(g, "iptables-restore", save).ok).toBe(true);
        for (const l of ["iptables -L -n -v", "iptables -S", "iptables-save -c"]) expect(out(h, l).text.replace(/^#.*\n/gm, "")).toBe(out(g, l).text.replace(/^#.*\n/gm, ""));
        // The compiled table: the same chains, rules and links.
        const shape = (hh: Host) => {
          const ct = nfOf.get(hh)!.compiled("host", "filter")!;
          return [...ct.chains.values()]
            .map((c) => `${c.name}:${c.policy}:${c.rules.map((r) => `${r.cfg.src?.addr ?? "-"}/${r.kind}/${r.jump?.name ?? ""}/${r.jump ? r.jump === ct.chains.get(r.jump.name) : ""}`).join(",")}`)
            .sort();
        };
        expect(shape(h)).toEqual(shape(g));
        // Every jump links the live chain of its name.
        const ct = nfOf.get(h)!.compiled("host", "filter")!;
        for (const c of ct.chains.values()) for (const r of c.rules) if (r.jumpName) expect(r.jump).toBe(ct.chains.get(r.jumpName));
      }),
      { numRuns: 80 },
    );
  }, 120_000);
});
