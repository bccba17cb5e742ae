// Rules compiled to one plain shape for the walker (the kernel's struct ipt_entry):
// address/mask/interface fields inline, extension matches as an array of functions.
// Compiled rules are cached by the identity of their (immutable) config, so a change
// to one rule of a 20k-rule chain compiles one rule.
import type { ChainConfig, RuleConfig, TableConfig, TableName } from "./types.ts";
import { ChainMap } from "./chains.ts";
import { type CompileCtx, type MatchFn, type TargetFn } from "./ext.ts";
import { maskOf } from "../wire/ipv4.ts";
import { MATCHES } from "./matches/index.ts";
import { TARGETS } from "./targets/index.ts";

export const enum RuleKind {
  Accept,
  Drop,
  Return,
  Jump,
  Goto,
  Ext,
  None,
}

export interface Counters {
  pkts: number;
  bytes: number;
}

export interface CompiledRule {
  cfg: RuleConfig;
  srcAddr: number;
  srcMask: number;
  srcInv: boolean;
  dstAddr: number;
  dstMask: number;
  dstInv: boolean;
  proto: number;
  protoInv: boolean;
  inName: string | null;
  inWild: boolean;
  inInv: boolean;
  outName: string | null;
  outWild: boolean;
  outInv: boolean;
  matches: MatchFn[];
  kind: RuleKind;
  jumpName: string;
  /** Resolved at link time to the stable chain object. */
  jump: CompiledChain | null;
  target: TargetFn | null;
  counters: Counters;
}

export interface CompiledChain {
  name: string;
  policy: RuleKind.Accept | RuleKind.Drop | null;
  rules: CompiledRule[];
  policyCounters: Counters;
  cfg: ChainConfig | null;
}

export interface CompiledTable {
  name: TableName;
  cfg: TableConfig | null;
  chains: Map<string, CompiledChain>;
}

const NO_MATCHES: MatchFn[] = [];

export function compileRule(cfg: RuleConfig, ctx: CompileCtx, counters: Counters): CompiledRule {
  const t = cfg.target;
  let kind = RuleKind.None;
  let target: TargetFn | null = null;
  if (t) {
    if (t.name === "ACCEPT") kind = RuleKind.Accept;
    else if (t.name === "DROP") kind = RuleKind.Drop;
    else if (t.name === "RETURN") kind = RuleKind.Return;
    else if (TARGETS.has(t.name)) {
      kind = RuleKind.Ext;
      target = TARGETS.get(t.name)!.compile(t, ctx);
    } else kind = t.goto ? RuleKind.Goto : RuleKind.Jump;
  }
  return {
    cfg,
    srcAddr: cfg.src ? cfg.src.addr : 0,
    srcMask: cfg.src ? maskOf(cfg.src.plen) : 0,
    srcInv: cfg.src ? cfg.src.inv : false,
    dstAddr: cfg.dst ? cfg.dst.addr : 0,
    dstMask: cfg.dst ? maskOf(cfg.dst.plen) : 0,
    dstInv: cfg.dst ? cfg.dst.inv : false,
    proto: cfg.proto,
    protoInv: cfg.protoInv,
    inName: cfg.inIface ? cfg.inIface.name : null,
    inWild: cfg.inIface ? cfg.inIface.wildcard : false,
    inInv: cfg.inIface ? cfg.inIface.inv : false,
    outName: cfg.outIface ? cfg.outIface.name : null,
    outWild: cfg.outIface ? cfg.outIface.wildcard : false,
    outInv: cfg.outIface ? cfg.outIface.inv : false,
    matches: cfg.matches.length ? cfg.matches.map((m) => MATCHES.get(m.name)!.compile(m, ctx)) : NO_MATCHES,
    kind,
    jumpName: t && (kind === RuleKind.Jump || kind === RuleKind.Goto) ? t.name : "",
    jump: null,
    target,
    counters,
  };
}

/**
 * Compiles a chain's new version into its stable compiled chain. Returns the range of
 * rules placed anew ([from, to)), whose jumps need linking; null when the rules did not change.
 */
function compileChain(cc: CompiledChain, chainCfg: ChainConfig, ctx: CompileCtx, cache: WeakMap<RuleConfig, CompiledRule>): [number, number] | null {
  cc.policy = chainCfg.policy === "ACCEPT" ? RuleKind.Accept : chainCfg.policy === "DROP" ? RuleKind.Drop : null;
  if (cc.cfg !== null && cc.cfg.rules === chainCfg.rules) {
    cc.cfg = chainCfg;
    return null;
  }
  const prev = cc.cfg?.rules ?? [];
  cc.cfg = chainCfg;
  const rules = chainCfg.rules;
  // The rules both versions share at the front and at the back keep their compiled
  // rules without a lookup: one rule inserted into a 20k-rule chain compiles one rule.
  let head = 0;
  const max = Math.min(prev.length, rules.length);
  while (head < max && prev[head] === rules[head]) head++;
  let tail = 0;
  while (tail < max - head && prev[prev.length - 1 - tail] === rules[rules.length - 1 - tail]) tail++;
  const old = cc.rules;
  const out = new Array<CompiledRule>(rules.length);
  for (let i = 0; i < head; i++) out[i] = old[i]!;
  for (let i = head; i < rules.length - tail; i++) {
    const r = rules[i]!;
    let c = cache.get(r);
    if (!c) {
      c = compileRule(r, ctx, { pkts: 0, bytes: 0 });
      cache.set(r, c);
    }
    out[i] = c;
  }
  for (let i = 0; i < tail; i++) out[rules.length - 1 - i] = old[old.length - 1 - i]!;
  cc.rules = out;
  return [head, rules.length - tail];
}

/**
 * Brings the compiled table in line with a new table config: only the chains that
 * differ from the last one compiled (by identity: the chain map shares what did not
 * change) are compiled again, and each reuses every rule whose config object is the same.
 */
export function syncTable(ct: CompiledTable, cfg: TableConfig, ctx: CompileCtx, cache: WeakMap<RuleConfig, CompiledRule>): void {
  if (ct.cfg === cfg) return;
  const prev = ct.cfg;
  ct.cfg = cfg;
  if (prev && prev.chains === cfg.chains) return;
  const changed: { cc: CompiledChain; range: [number, number] }[] = [];
  const visit = (name: string, before: ChainConfig | undefined, after: ChainConfig | undefined) => {
    if (!after) {
      ct.chains.delete(name);
      return;
    }
    let cc = ct.chains.get(name);
    if (!cc || before === undefined) {
      // A chain made anew (or renamed) starts with fresh policy counters.
      cc = { name, policy: null, rules: [], policyCounters: { pkts: 0, bytes: 0 }, cfg: null };
      ct.chains.set(name, cc);
    }
    const range = compileChain(cc, after, ctx, cache);
    if (range) changed.push({ cc, range });
  };
  if (prev) ChainMap.diff(prev.chains as ChainMap, cfg.chains as ChainMap, visit);
  else {
    ct.chains.clear();
    for (const c of cfg.chains.values()) visit(c.name, undefined, c);
  }
  // Link jumps to the stable chain objects (a chain's identity survives its edits); the
  // rules kept in place keep their links (a chain a rule jumps to cannot be deleted).
  for (const { cc, range } of changed) {
    const rs = cc.rules;
    for (let i = range[0]; i < range[1]; i++) {
      const r = rs[i]!;
      if (r.jumpName) r.jump = ct.chains.get(r.jumpName) ?? null;
    }
  }
}
