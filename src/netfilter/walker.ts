// ipt_do_table(): walk a hook's built-in chain rule by rule, with jumps, gotos, RETURN
// and the policy at the end. The only per-packet loop over rules, as in the kernel.
import type { Packet } from "../wire/packet.ts";
import type { HookState } from "../dataplane/hooks.ts";
import { TV } from "./ext.ts";
import { type CompiledChain, type CompiledRule, RuleKind } from "./compile.ts";
import { NFT_JUMP_STACK_SIZE } from "./loops.ts";

export interface WalkTrace {
  (rule: CompiledRule | null, chain: CompiledChain, index: number, verdict: string): void;
}

function baseMatch(r: CompiledRule, pkt: Packet, st: HookState): boolean {
  if (r.srcMask !== 0 && (((pkt.saddr & r.srcMask) >>> 0) === r.srcAddr) === r.srcInv) return false;
  if (r.srcMask === 0 && r.srcInv) return false;
  if (r.dstMask !== 0 && (((pkt.daddr & r.dstMask) >>> 0) === r.dstAddr) === r.dstInv) return false;
  if (r.dstMask === 0 && r.dstInv) return false;
  if (r.proto !== 0 && (pkt.proto === r.proto) === r.protoInv) return false;
  if (r.inName !== null) {
    const name = st.inDev ? st.inDev.name : "";
    const hit = r.inWild ? name.startsWith(r.inName) : name === r.inName;
    if (hit === r.inInv) return false;
  }
  if (r.outName !== null) {
    const name = st.outDev ? st.outDev.name : "";
    const hit = r.outWild ? name.startsWith(r.outName) : name === r.outName;
    if (hit === r.outInv) return false;
  }
  const ms = r.matches;
  for (let i = 0; i < ms.length; i++) if (!ms[i]!(pkt, st)) return false;
  return true;
}

// The jump stack: slots below sp are in use; the arrays never shrink (truncating one
// frees its backing store, and the next push allocated it again, per packet).
const stackChain: CompiledChain[] = [];
const stackIndex: number[] = [];
const stackLevel: number[] = [];
let sp = 0;

/**
 * The walk goes at most NFT_JUMP_STACK_SIZE - 1 jumps or gotos deep, as the rules the
 * commands accept allow (loops.ts); deeper, as nft_do_chain() when its jump stack is
 * full, the packet is dropped, so no table can make the walk run away.
 */
export function doTable(start: CompiledChain, pkt: Packet, st: HookState, trace: WalkTrace | null): TV {
  const base = sp;
  let chain = start;
  let i = 0;
  let level = 0;
  for (;;) {
    if (i >= chain.rules.length) {
      if (sp === base) {
        // The underflow: the built-in chain's policy, even at the end of a chain reached by -g.
        start.policyCounters.pkts++;
        start.policyCounters.bytes += pkt.len;
        const v = start.policy === RuleKind.Drop ? TV.Drop : TV.Accept;
        if (trace) trace(null, chain, i, v === TV.Drop ? "policy DROP" : "policy ACCEPT");
        return v;
      }
      chain = stackChain[--sp]!;
      i = stackIndex[sp]!;
      level = stackLevel[sp]!;
      continue;
    }
    const r = chain.rules[i++]!;
    if (!baseMatch(r, pkt, st)) continue;
    r.counters.pkts++;
    r.counters.bytes += pkt.len;
    switch (r.kind) {
      case RuleKind.Accept:
        if (trace) trace(r, chain, i, "ACCEPT");
        sp = base;
        return TV.Accept;
      case RuleKind.Drop:
        if (trace) trace(r, chain, i, "DROP");
        sp = base;
        return TV.Drop;
      case RuleKind.Return:
        if (trace) trace(r, chain, i, "RETURN");
        if (sp === base) {
          chain = start;
          i = start.rules.length;
          continue;
        }
        chain = stackChain[--sp]!;
        i = stackIndex[sp]!;
        level = stackLevel[sp]!;
        continue;
      case RuleKind.Jump:
      case RuleKind.Goto:
        if (!r.jump) continue;
        if (level + 1 >= NFT_JUMP_STACK_SIZE) {
          if (trace) trace(r, chain, i, "DROP (jump stack full)");
          sp = base;
          return TV.Drop;
        }
        if (trace) trace(r, chain, i, `${r.kind === RuleKind.Goto ? "goto" : "jump"} ${r.jump.name}`);
        if (r.kind === RuleKind.Jump) {
          stackChain[sp] = chain;
          stackIndex[sp] = i;
          stackLevel[sp++] = level;
        }
        level++;
        chain = r.jump;
        i = 0;
        continue;
      case RuleKind.Ext: {
        const v = r.target!(pkt, st);
        if (trace) trace(r, chain, i, r.cfg.target!.name);
        if (v === TV.Continue) continue;
        if (v === TV.Return) {
          if (sp === base) {
            chain = start;
            i = start.rules.length;
            continue;
          }
          chain = stackChain[--sp]!;
          i = stackIndex[sp]!;
          level = stackLevel[sp]!;
          continue;
        }
        sp = base;
        return v;
      }
      default:
        if (trace) trace(r, chain, i, "(no target)");
        continue;
    }
  }
}
