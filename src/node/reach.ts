// `pktpath reach FILE`: every source to every destination, with the outcome and the set
// of endpoints reachable. Random choices are enumerated, not sampled: each probe runs
// once per branch of the choices it meets (depth-first over a choice hook), so every
// endpoint some branch reaches is listed, and only those.
//
// The choice points and why forcing them is sound:
// - xt_statistic --mode random (statistic_mt): the match draws get_random_u32() and
//   compares it with the probability; forcing the draw to 0 or to 2^31-1 gives "matches"
//   or "does not match", each possible exactly when 0 < p or p < 1. The same draw in NAT
//   port selection (--random, --random-fully) only picks another free port.
// - IPVS schedulers whose choice depends on the connection counts or their own cursor
//   (rr, wrr, lc, wlc, sed, nq, lblc, lblcr, ovf): in some state of the table each real
//   server with a weight above 0 and not overloaded is the one picked, so each is a
//   branch. sh, dh and mh hash the packet's addresses and fo takes the heaviest server:
//   for a given source they pick one server, and run as the kernel runs them.
// Every branch starts from the state the scenario left: the connections a branch made
// (conntrack, IPVS) are removed after it, so branches do not see each other.
import { readFileSync, existsSync } from "node:fs";
import Table from "cli-table3";
import type { Host } from "../host.ts";
import type { Layers } from "../layers.ts";
import { saveRule } from "../netfilter/save.ts";
import { IP_VS_DEST_F_OVERLOAD, type IpvsDest, type IpvsService, type Scheduler } from "../ipvs/types.ts";
import type { IpvsConn } from "../ipvs/conn.ts";
import { formatIPv4, parseIPv4 } from "../wire/ipv4.ts";
import { ScenarioError } from "../scenario/types.ts";
import { loadNode, parseProto, parseTarget, probeSpec, resolveSource, type LoadedNode, type Proto } from "./load.ts";

export interface ReachOptions {
  file: string;
  from: string[];
  to: string[];
  proto: string | null;
  json: boolean;
  expect: string | null;
  /** Branches per source and destination before giving up on enumerating. */
  maxBranches: number;
}

export interface Destination {
  addr: number;
  port: number;
  proto: Proto;
  /** What it is: "ClusterIP (nat KUBE-SERVICES)", "NodePort", "IPVS", "given". */
  what: string;
}

export interface ReachCell {
  from: string;
  to: string;
  proto: Proto;
  what: string;
  /** Outcomes over all branches, sorted ("netns_a", "timeout", ...). */
  outcomes: string[];
  /** Endpoints (ADDR:PORT) that answered in some branch. */
  endpoints: string[];
  /** Endpoints chosen in some branch that did not answer, with the outcome. */
  failing: string[];
  branches: number;
  /** True when --max-branches stopped the enumeration. */
  truncated: boolean;
}

/** Depth-first enumeration of the choices one probe meets. */
export class Chooser {
  private path: number[] = [];
  private taken: number[] = [];
  private arity: number[] = [];
  /** Choice i of n at the next point (0 beyond the forced prefix). */
  choose(n: number): number {
    const i = this.taken.length;
    const c = i < this.path.length && this.path[i]! < n ? this.path[i]! : 0;
    this.taken.push(c);
    this.arity.push(n);
    return c;
  }
  /** Moves to the next branch; false when every branch was run. */
  next(): boolean {
    for (let j = this.taken.length - 1; j >= 0; j--) {
      if (this.taken[j]! + 1 < this.arity[j]!) {
        this.path = [...this.taken.slice(0, j), this.taken[j]! + 1];
        this.taken = [];
        this.arity = [];
        return true;
      }
    }
    return false;
  }
  reset(): void {
    this.path = [];
    this.taken = [];
    this.arity = [];
  }
}

/** Schedulers that pick by the packet's hash or by weight alone: not branch points. */
const DETERMINISTIC_SCHEDULERS = new Set(["sh", "dh", "mh", "fo"]);

/** Installs the choice hooks on a host's layers: statistic draws and IPVS schedulers. */
export function installChoiceHooks(layers: Layers, chooser: Chooser): void {
  // statistic_mt(): get_random_u32() & 0x7fffffff < probability * 2^31
  layers.netfilter.random = () => (chooser.choose(2) === 0 ? 0 : 0x7fffffff);
  for (const st of layers.ipvs.ns.values()) {
    for (const svc of st.services.values()) {
      const orig = svc.scheduler;
      if (!orig || DETERMINISTIC_SCHEDULERS.has(orig.name)) continue;
      const forced: Scheduler = {
        ...orig,
        schedule(s: IpvsService): IpvsDest | null {
          const avail = s.dests.filter((d) => d.weight > 0 && !(d.flags & IP_VS_DEST_F_OVERLOAD));
          if (!avail.length) return null;
          return avail[avail.length === 1 ? 0 : chooser.choose(avail.length)]!;
        },
      };
      svc.scheduler = forced;
    }
  }
}

/** Destinations found in the rules: ClusterIPs and external IPs (-d A/32 --dport N in the
 * nat table), NodePorts (KUBE-NODEPORTS) on every address of the namespace, IPVS services. */
export function discoverDestinations(host: Host, layers: Layers): Destination[] {
  const out = new Map<string, Destination>();
  const add = (d: Destination) => {
    const k = `${d.proto} ${d.addr} ${d.port}`;
    if (!out.has(k)) out.set(k, d);
  };
  for (const [ns, nsv] of host.dp.view.netns) {
    // The nat table's rules in iptables-save's words, read from the snapshot.
    const nat = host.config.netns[ns]?.ext.netfilter?.tables.nat;
    const nodePorts: { port: number; proto: Proto }[] = [];
    for (const chain of nat ? nat.chains.names() : []) for (const rule of nat!.chains.get(chain)!.rules) {
      const line = saveRule(chain, rule);
      const proto = (/ -p (tcp|udp)\b/.exec(line)?.[1] ?? "tcp") as Proto;
      const dport = /--dport (\d+)(?: |$)/.exec(line);
      if (!dport) continue;
      const d = / -d (\d+\.\d+\.\d+\.\d+)\/32\b/.exec(line);
      if (d && !/ -j (KUBE-MARK-MASQ|MASQUERADE|RETURN|ACCEPT)\b/.test(line)) {
        add({ addr: parseIPv4(d[1]!)!, port: Number(dport[1]), proto, what: ns === "host" ? "service" : `service (${ns})` });
      } else if (!d && chain === "KUBE-NODEPORTS" && !/ -j (KUBE-MARK-MASQ|RETURN)\b/.test(line)) {
        nodePorts.push({ port: Number(dport[1]), proto });
      }
    }
    if (nodePorts.length) {
      for (const [addr] of nsv.local) {
        if (addr >>> 24 === 127) continue;
        for (const np of nodePorts) add({ addr, port: np.port, proto: np.proto, what: "NodePort" });
      }
    }
    const ipvs = layers.ipvs.ns.get(ns);
    for (const svc of ipvs?.services.values() ?? []) {
      if (svc.fwmark) continue;
      add({ addr: svc.addr, port: svc.port, proto: svc.proto === 17 ? "udp" : "tcp", what: `IPVS ${svc.schedName}` });
    }
  }
  return [...out.values()];
}

interface Before {
  ct: Map<string, number>;
  ipvs: Map<string, number>;
}

/** What the connection tables hold before a branch (to remove what it adds). */
function mark(layers: Layers): Before {
  const ct = new Map<string, number>();
  for (const [ns, st] of layers.netfilter.ns) ct.set(ns, st.ct.count);
  const ipvs = new Map<string, number>();
  for (const [ns, st] of layers.ipvs.ns) ipvs.set(ns, st.conns.size);
  return { ct, ipvs };
}

/** Removes the connections a branch made; returns the endpoints NAT or IPVS chose for it. */
function sweep(layers: Layers, before: Before, known: Known, dst: Destination): string[] {
  const chosen: string[] = [];
  for (const [ns, st] of layers.netfilter.ns) {
    if (st.ct.count === (before.ct.get(ns) ?? 0)) continue;
    const old = known.ct.get(ns);
    for (const c of st.ct.list(-1e15)) {
      if (old?.has(c.id)) continue;
      const [o, r] = c.tuple;
      if (o.dst === dst.addr && o.dport === dst.port && (r.src !== o.dst || r.sport !== o.dport)) chosen.push(`${formatIPv4(r.src)}:${r.sport}`);
      st.ct.remove(c);
    }
  }
  for (const [ns, st] of layers.ipvs.ns) {
    if (st.conns.size === (before.ipvs.get(ns) ?? 0)) continue;
    const old = known.ipvs.get(ns);
    for (const c of st.conns.entries()) {
      if (old?.has(c)) continue;
      if (c.vaddr === dst.addr && c.vport === dst.port && c.dest) chosen.push(`${formatIPv4(c.daddr)}:${c.dport}`);
      st.conns.remove(c);
    }
  }
  return chosen;
}

/** The connections there before reach started: never removed. */
interface Known {
  ct: Map<string, Set<number>>;
  ipvs: Map<string, Set<IpvsConn>>;
}

function baseline(layers: Layers): Known {
  const k: Known = { ct: new Map(), ipvs: new Map() };
  for (const [ns, st] of layers.netfilter.ns) k.ct.set(ns, new Set(st.ct.list(-1e15).map((c) => c.id)));
  for (const [ns, st] of layers.ipvs.ns) k.ipvs.set(ns, new Set(st.conns.entries()));
  return k;
}

/** One source to one destination, every branch. */
export function reachOne(host: Host, layers: Layers, chooser: Chooser, known: Known, from: string, dst: Destination, maxBranches: number): ReachCell {
  const outcomes = new Set<string>();
  const endpoints = new Set<string>();
  const failing = new Set<string>();
  let branches = 0;
  let truncated = false;
  chooser.reset();
  for (;;) {
    const before = mark(layers);
    // TCP as nc -z: the handshake says which listener accepted, at half the packets of curl.
    const r = host.probe(from, probeSpec(dst.proto, dst.addr, dst.port, true));
    branches++;
    const outcome = r.outcome === "answered" ? (r.server ?? "answered") : r.outcome;
    outcomes.add(outcome);
    const chosen = sweep(layers, before, known, dst);
    const ok = r.outcome === "answered" || r.outcome === "reply";
    const eps = chosen.length ? chosen : [`${formatIPv4(dst.addr)}:${dst.port}`];
    for (const e of eps) (ok ? endpoints : failing).add(ok ? e : `${e} (${outcome})`);
    if (!chooser.next()) break;
    if (branches >= maxBranches) {
      truncated = true;
      break;
    }
  }
  const sortEp = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });
  return {
    from,
    to: `${formatIPv4(dst.addr)}:${dst.port}`,
    proto: dst.proto,
    what: dst.what,
    outcomes: [...outcomes].sort(),
    endpoints: [...endpoints].sort(sortEp),
    failing: [...failing].sort(sortEp),
    branches,
    truncated,
  };
}

export interface ReachRun {
  cells: ReachCell[];
  loadMs: number;
  reachMs: number;
}

/** The whole matrix on a loaded host. */
export function reachMatrix(host: Host, layers: Layers, sources: string[], dests: Destination[], maxBranches: number, progress: ((done: number, total: number) => void) | null): ReachCell[] {
  const chooser = new Chooser();
  installChoiceHooks(layers, chooser);
  const known = baseline(layers);
  const cells: ReachCell[] = [];
  const total = sources.length * dests.length;
  for (const from of sources) {
    for (const d of dests) {
      cells.push(reachOne(host, layers, chooser, known, from, d, maxBranches));
      if (progress) progress(cells.length, total);
    }
  }
  return cells;
}

/** The part of a cell a saved matrix is compared on. */
function key(c: ReachCell): string {
  return `${c.from} -> ${c.to}/${c.proto}`;
}
function value(c: Pick<ReachCell, "outcomes" | "endpoints" | "failing">): string {
  return `outcomes ${c.outcomes.join(",")}; endpoints ${c.endpoints.join(",") || "-"}${c.failing.length ? `; failing ${c.failing.join(",")}` : ""}`;
}

/** Differences against a saved matrix (reach --json output), one line each. */
export function compareMatrix(saved: ReachCell[], now: ReachCell[]): string[] {
  const diffs: string[] = [];
  const a = new Map(saved.map((c) => [key(c), c]));
  const b = new Map(now.map((c) => [key(c), c]));
  for (const [k, c] of a) {
    const d = b.get(k);
    if (!d) diffs.push(`- ${k}: ${value(c)} (no longer in the matrix)`);
    else if (value(c) !== value(d)) diffs.push(`~ ${k}: was ${value(c)}; now ${value(d)}`);
  }
  for (const [k, d] of b) if (!a.has(k)) diffs.push(`+ ${k}: ${value(d)} (new)`);
  return diffs;
}

const PLAIN = {
  top: "", "top-mid": "", "top-left": "", "top-right": "",
  bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
  left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  ",
};

/** The table, rendered by cli-table3 in blocks of rows with the same column widths
 * (its layout costs grow faster than the rows: one table of 100k rows would not finish). */
export function formatMatrix(cells: ReachCell[]): string {
  const head = ["from", "to", "what", "outcome", "endpoints reached", "branches"];
  const rows = cells.map((c) => [c.from, `${c.to}/${c.proto}`, c.what, c.outcomes.join(" | "), [...c.endpoints, ...c.failing].join(" ") || "-", `${c.branches}${c.truncated ? " (cut)" : ""}`]);
  const widths = head.map((h, i) => 1 + Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const out: string[] = [];
  const BLOCK = 200;
  for (let i = 0; i === 0 || i < rows.length; i += BLOCK) {
    const t = new Table({ chars: PLAIN, colWidths: widths, wordWrap: false, style: { head: [], border: [], "padding-left": 1, "padding-right": 0 }, ...(i === 0 ? { head } : {}) });
    for (const r of rows.slice(i, i + BLOCK)) t.push(r);
    out.push(t.toString());
  }
  return out.join("\n");
}

function parseSaved(file: string): ReachCell[] {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`--expect ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "No such file or directory" : `not a saved matrix: ${(e as Error).message}`}`);
  }
  const cells = (v as { cells?: unknown })?.cells;
  if (!Array.isArray(cells)) throw new Error(`--expect ${file}: not a saved matrix (pktpath reach --json output): no "cells" list`);
  cells.forEach((c: unknown, i: number) => {
    const o = c as Record<string, unknown>;
    for (const k of ["from", "to", "proto"]) if (typeof o?.[k] !== "string") throw new Error(`--expect ${file}: cells[${i}].${k} must be a string`);
    for (const k of ["outcomes", "endpoints", "failing"]) if (!Array.isArray(o?.[k]) || !(o[k] as unknown[]).every((x) => typeof x === "string")) throw new Error(`--expect ${file}: cells[${i}].${k} must be a list of strings`);
  });
  return cells as ReachCell[];
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export function reachCommand(o: ReachOptions, io: Io): number {
  const given = readGiven(o, io);
  if (given === null) return 2;
  io.err(`pktpath reach: loading ${o.file}\n`);
  const node = loadOrSay(o.file, io);
  if (node === null) return 2;
  const pairs = sourcesAndDestinations(o, node, given.proto, io);
  if (pairs === null) return 2;
  const { sources, dests } = pairs;
  io.err(`pktpath reach: loaded in ${(node.ms / 1000).toFixed(1)} s (CPU ${(node.cpuMs / 1000).toFixed(1)} s); ${sources.length} source${sources.length === 1 ? "" : "s"} x ${dests.length} destination${dests.length === 1 ? "" : "s"}\n`);
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  let lastShown = 0;
  const cells = reachMatrix(node.host, node.layers, sources, dests, o.maxBranches, (done, total) => {
    const now = Date.now();
    if (now - lastShown >= 1000 || done === total) {
      lastShown = now;
      io.err(`pktpath reach: ${done}/${total} pairs, ${((now - t0) / 1000).toFixed(1)} s\n`);
    }
  });
  const reachMs = Date.now() - t0;
  printMatrix(o, cells, io);
  const cpu = process.cpuUsage(cpu0);
  io.err(`pktpath reach: ${cells.length} pairs, ${cells.reduce((n, c) => n + c.branches, 0)} probes in ${(reachMs / 1000).toFixed(1)} s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s)\n`);
  return given.saved ? compareSaved(o, given.saved, cells, io) : 0;
}

/** --proto and --expect read, or null when one is wrong (said on io.err). */
function readGiven(o: ReachOptions, io: Io): { proto: Proto | null; saved: ReachCell[] | null } | null {
  try {
    const proto = o.proto !== null ? parseProto(o.proto) : null;
    if (o.expect === null) return { proto, saved: null };
    if (!existsSync(o.expect)) throw new Error(`--expect ${o.expect}: No such file or directory`);
    return { proto, saved: parseSaved(o.expect) };
  } catch (e) {
    io.err(`pktpath reach: ${(e as Error).message}\n`);
    return null;
  }
}

/** The node the scenario builds, or null when the scenario is wrong (said on io.err). */
function loadOrSay(file: string, io: Io): LoadedNode | null {
  try {
    return loadNode(file);
  } catch (e) {
    if (e instanceof ScenarioError) {
      io.err(`${e.message}\n`);
      return null;
    }
    throw e;
  }
}

/** The sources and destinations given (else every namespace, every service found), or null when none or one is wrong (said). */
function sourcesAndDestinations(o: ReachOptions, node: LoadedNode, proto: Proto | null, io: Io): { sources: string[]; dests: Destination[] } | null {
  const host = node.host;
  let sources: string[];
  let dests: Destination[];
  try {
    sources = o.from.length ? o.from.map((f) => resolveSource(host, f)) : [...host.dp.view.netns.keys()];
    dests = o.to.length
      ? o.to.map((t) => ({ ...parseTarget(t, proto ?? "tcp"), proto: proto ?? "tcp", what: "given" }))
      : discoverDestinations(host, node.layers).filter((d) => proto === null || d.proto === proto);
  } catch (e) {
    io.err(`pktpath reach: ${(e as Error).message}\n`);
    return null;
  }
  if (!dests.length) {
    io.err("pktpath reach: no destination: the rules hold no ClusterIP, NodePort or IPVS service; give some with --to ADDR:PORT\n");
    return null;
  }
  return { sources, dests };
}

/** The matrix (a table, or JSON with --json), and the pairs whose enumeration was cut. */
function printMatrix(o: ReachOptions, cells: ReachCell[], io: Io): void {
  if (o.json) io.out(JSON.stringify({ file: o.file, cells }, null, 2) + "\n");
  else io.out(formatMatrix(cells) + "\n");
  const cut = cells.filter((c) => c.truncated).length;
  if (cut) io.err(`pktpath reach: ${cut} pair${cut === 1 ? "" : "s"} had more than ${o.maxBranches} branches: enumeration cut there (--max-branches)\n`);
}

/** --expect: 1 and the differences when the matrix is not the saved one. */
function compareSaved(o: ReachOptions, saved: ReachCell[], cells: ReachCell[], io: Io): number {
  const diffs = compareMatrix(saved, cells);
  if (diffs.length) {
    io.out(`differences from ${o.expect}:\n${diffs.map((d) => `  ${d}\n`).join("")}`);
    return 1;
  }
  io.out(`same as ${o.expect}\n`);
  return 0;
}
