// The house's floors: every import in src/ runs down the floors or along one, and no two
// folders import each other (directly or round a loop). A folder is a top-level folder of
// src/; a file at src/'s top level (host.ts, layers.ts, index.ts) is an entry of its own.
// `import type` counts: a type from an upper floor is knowledge of that floor.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { describe, expect, it } from "vitest";

/** The floors, from the ground. An entry may import its own floor's entries and any below. */
const FLOORS: readonly (readonly string[])[] = [
  ["wire"], // addresses, the packet, MACs
  ["config"], // the immutable snapshot and the pure functions that change it
  ["dataplane"], // devices, bridge, neighbours, routing, hooks, sockets, probes, trace
  ["tool"], // the tool contract (ToolHost, ToolContext, ToolError), shell splitter, getopt
  ["commands"], // the core tools (ip, bridge, sysctl, modprobe, probes) and the shell vocabulary
  ["host.ts"], // the emulated machine: snapshot, dataplane, tool registry, layers
  ["netfilter", "scenario"], // iptables/conntrack/NAT and their tools; the scenario runner
  ["ipset", "ipvs", "nftables"], // layers that lean on netfilter
  ["layers.ts"], // every layer, in install order
  ["realkernel", "gen", "node", "report", "pcap", "index.ts"], // real-kernel mode, generator, node tools, reports, library API
  ["cli"], // the pktpath command
];

const SRC = join(import.meta.dirname, "../../src");

interface Arrow {
  from: string;
  to: string;
  /** src/-relative file and line of the import. */
  where: string;
}

/** The entry of src/ a path belongs to: its top-level folder, or its own name at the top. */
function entryOf(path: string): string {
  return relative(SRC, path).split(sep)[0]!;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.m?ts$/.test(name) && !/\.d\.m?ts$/.test(name)) out.push(p);
  }
  return out;
}

// import/export ... from "./x"; import "./x"; import("./x") (a type position or a dynamic import).
const IMPORT = /^[ \t]*(?:import|export)\b[^;]*?\bfrom\s*["'](\.[^"']*)["']|^[ \t]*import\s*["'](\.[^"']*)["']|\bimport\(\s*["'](\.[^"']*)["']\s*\)/gms;

/** Every import in src/ that crosses from one entry to another. */
function arrows(): Arrow[] {
  const out: Arrow[] = [];
  for (const file of sources(SRC)) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      const from = entryOf(file);
      const to = entryOf(normalize(join(dirname(file), spec)));
      if (from === to) continue;
      const line = text.slice(0, m.index).split("\n").length;
      out.push({ from, to, where: `${relative(SRC, file)}:${line}` });
    }
  }
  return out;
}

function floorOf(entry: string): number {
  return FLOORS.findIndex((f) => f.includes(entry));
}

function show(a: Arrow): string {
  return `${a.from} -> ${a.to} (src/${a.where})`;
}

/** Folders that import each other round a loop: the strongly connected components (Tarjan). */
function cycles(all: Arrow[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const a of all) {
    if (!next.has(a.from)) next.set(a.from, new Set());
    next.get(a.from)!.add(a.to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) found.push(comp.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe("src/ folders", () => {
  const all = arrows();

  it("each entry of src/ has a floor, and each floor entry exists", () => {
    const entries = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory() || /\.m?ts$/.test(n));
    expect(entries.filter((e) => floorOf(e) < 0), "entries of src/ missing from FLOORS").toEqual([]);
    expect(FLOORS.flat().filter((e) => !entries.includes(e)), "FLOORS entries not in src/").toEqual([]);
  });

  it("sees the imports it should (the scanner works)", () => {
    expect(all.some((a) => a.from === "host.ts" && a.to === "dataplane")).toBe(true);
    expect(all.some((a) => a.from === "cli" && a.to === "scenario")).toBe(true);
  });

  it("no arrow runs up the floors", () => {
    const up = all.filter((a) => floorOf(a.to) > floorOf(a.from)).map(show);
    expect(up, `imports up the floors:\n${up.join("\n")}`).toEqual([]);
  });

  it("no import cycle between folders", () => {
    const loops = cycles(all).map((c) => {
      const inside = all.filter((a) => c.includes(a.from) && c.includes(a.to)).map(show);
      return `cycle ${c.join(", ")}:\n  ${inside.join("\n  ")}`;
    });
    expect(loops, loops.join("\n")).toEqual([]);
  });
});
