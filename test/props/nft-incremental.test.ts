// nft-incremental: nftables' control plane keeps, from one committed table to the next,
// a reference graph (chain->use, set->use), a chain index, a compiled form (chains and set
// indexes) and its hook registrations, each updated from what a transaction changed; the
// commit validates only what the transaction added. After any sequence of nft commands
// (single ones and `nft -f` batches, many of them failing), each must equal what is built
// from scratch: the compiled form one compiled from the snapshot, the graph one counted
// from it; and every command must end (accepted or refused, with the same words) as it
// does on a host that validates every changed table whole.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { hostWithLayers } from "../../src/layers.ts";
import type { Host } from "../../src/host.ts";
import { ToolError } from "../../src/tool/tool.ts";
import { buildGraph, committedGraph, graphText } from "../../src/nftables/graph.ts";
import { validateWhole } from "../../src/nftables/validate.ts";
import { keptIndex } from "../../src/nftables/apply.ts";
import type { NftRuntime } from "../../src/nftables/runtime.ts";
import { setListChunkSize } from "../../src/config/plist.ts";
import { params, timeoutMs } from "./config.ts";

const CHAINS = ["c0", "c1", "c2", "c3", "b_in", "b_pre", "n_post"];

/** One nft command (the text after `nft`), on the table ip t. */
const one: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...CHAINS), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 12 }), fc.nat())
  .map(([C, j, k, which]) => {
    const lines = [
      "add table ip t",
      `add chain ip t c${j}`,
      `add chain ip t c${j}`,
      "add chain ip t b_in { type filter hook input priority 0; }",
      "add chain ip t b_pre { type filter hook prerouting priority 0; }",
      "add chain ip t n_post { type nat hook postrouting priority 100; }",
      `add rule ip t ${C} jump c${j}`,
      `add rule ip t ${C} jump c${j}`,
      `add rule ip t ${C} goto c${j}`,
      `add rule ip t ${C} ip daddr vmap @vm`,
      `add rule ip t ${C} ip daddr vmap { 10.0.0.${k} : jump c${j}, 10.0.0.99 : accept }`,
      `add rule ip t ${C} masquerade`,
      `add rule ip t ${C} reject`,
      `add rule ip t ${C} ip saddr @s accept`,
      `add rule ip t ${C} iifname @ifs drop`,
      `insert rule ip t ${C} counter accept`,
      `replace rule ip t ${C} handle ${k} jump c${j}`,
      `delete rule ip t ${C} handle ${k}`,
      "add map ip t vm { type ipv4_addr : verdict; }",
      "add set ip t s { type ipv4_addr; }",
      "add set ip t ifs { type ifname; }",
      `add element ip t vm { 10.0.0.${k} : jump c${j} }`,
      `add element ip t vm { 10.0.0.${k} : goto c${j} }`,
      `add element ip t vm { 10.0.0.${k} : drop }`,
      `delete element ip t vm { 10.0.0.${k} }`,
      `add element ip t s { 10.0.1.${k} }`,
      `delete element ip t s { 10.0.1.${k} }`,
      // More than apply.ts's BULK elements in one command: the list is made again whole.
      `add element ip t s { ${Array.from({ length: 70 }, (_, i) => `10.0.2.${k + i}`).join(", ")} }`,
      `delete element ip t s { ${Array.from({ length: 70 }, (_, i) => `10.0.2.${k + i}`).join(", ")} }`,
      `add element ip t ifs { "eth${k % 3}" }`,
      `delete element ip t ifs { "eth${k % 3}" }`,
      `delete chain ip t c${j}`,
      `delete chain ip t ${C}`,
      `flush chain ip t ${C}`,
      "flush set ip t s",
      "flush map ip t vm",
      "delete set ip t s",
      "delete map ip t vm",
      `rename chain ip t c${j} c${(j + 1) % 4}`,
      "flush table ip t",
      "delete table ip t",
      "flush ruleset",
    ];
    return lines[which % lines.length]!;
  });

interface Step {
  cmds: string[];
  /** Look at the compiled form after this step (else it follows several commits at once). */
  look: boolean;
}

const step: fc.Arbitrary<Step> = fc.record({
  cmds: fc.oneof({ arbitrary: fc.array(one, { minLength: 1, maxLength: 1 }), weight: 3 }, { arbitrary: fc.array(one, { minLength: 2, maxLength: 5 }), weight: 1 }),
  look: fc.boolean(),
});

/** A start that gives the commands something to act on (checked like the rest). */
const SETUP: Step = {
  cmds: [
    "add table ip t",
    "add chain ip t c0",
    "add chain ip t c1",
    "add chain ip t c2",
    "add chain ip t b_in { type filter hook input priority 0; }",
    "add chain ip t n_post { type nat hook postrouting priority 100; }",
    "add map ip t vm { type ipv4_addr : verdict; }",
    "add set ip t s { type ipv4_addr; }",
    // Elements to delete from the start (the commands delete and add them back in any order).
    `add element ip t s { ${Array.from({ length: 13 }, (_, k) => `10.0.1.${k}`).join(", ")} }`,
    `add element ip t vm { ${Array.from({ length: 13 }, (_, k) => `10.0.0.${k} : accept`).join(", ")} }`,
  ],
  look: true,
};

/** What a command printed, or the words it was refused with. */
function run(host: Host, s: Step): string {
  try {
    const out = s.cmds.length === 1 ? host.exec(`nft '${s.cmds[0]}'`, "host") : host.exec("nft -f -", "host", s.cmds.join("\n") + "\n");
    return `ok ${JSON.stringify(out)}`;
  } catch (e) {
    if (e instanceof ToolError) return `refused ${e.message}`;
    throw e;
  }
}

function listing(host: Host): string {
  return JSON.stringify(host.exec("nft -a list ruleset", "host"));
}

describe("nft-incremental", () => {
  it(
    "after any nft commands the kept graph, compiled form and validation equal those built from scratch",
    () => {
      let accepted = 0;
      let refused = 0;
      // Tiny chunks, so that a set's element list spans many (PList: split, merge, remove).
      const chunk = setListChunkSize(3);
      try {
        fc.assert(
          fc.property(fc.array(step, { minLength: 1, maxLength: 40, size: "max" }), (steps) => {
            const a = hostWithLayers();
            const b = hostWithLayers();
            const rt: NftRuntime = a.layers.nftables;
            const done: string[] = [];
            for (const s of [SETUP, ...steps]) {
              const got = run(a.host, s);
              validateWhole(true);
              let want: string;
              try {
                want = run(b.host, s);
              } finally {
                validateWhole(false);
              }
              done.push(s.cmds.join(" ; "));
              const why = done.join("\n");
              expect(got, why).toBe(want);
              if (got.startsWith("ok")) accepted++;
              else refused++;
              expect(listing(a.host), why).toBe(listing(b.host));
              for (const t of a.host.config.netns["host"]!.ext.nftables?.tables ?? []) {
                const g = committedGraph(t);
                if (g) expect(graphText(g), why).toBe(graphText(buildGraph(t)));
                for (const set of t.sets) {
                  const kept = keptIndex(set);
                  if (kept) expect(kept[0], `${why}\n(key index of set ${set.name})`).toEqual(kept[1]);
                }
                if (s.look) expect(rt.describeCompiled("host", t, false), why).toBe(rt.describeCompiled("host", t, true));
              }
            }
          }),
          params(100),
        );
      } finally {
        setListChunkSize(chunk);
      }
      // Both outcomes must be common, or the property says little.
      console.log(`nft-incremental: ${accepted} commands accepted, ${refused} refused`);
      expect(accepted).toBeGreaterThan(300);
      expect(refused).toBeGreaterThan(300);
    },
    timeoutMs(120_000),
  );
});
