// Applying one parsed iptables command to a table draft (the kernel's side of
// IPT_SO_SET_REPLACE / nf_tables, with iptables' own error wording).
import type { RuleConfig, TableConfig, TableName } from "../types.ts";
import { chainOf, deleteAllUserChains, deleteChain, IptError, newChain, ruleEquals, TABLES } from "../tables.ts";
import { MATCHES } from "../matches/index.ts";
import { TARGETS } from "../targets/index.ts";
import { type CheckCtx, ParseError } from "../ext.ts";
import { type JumpGraph, jumpTarget } from "../loops.ts";
import { IPT_VERSION, iptError, type IptCommand } from "./parse.ts";

const VERDICTS = new Set(["ACCEPT", "DROP", "RETURN"]);

/**
 * The kernel refusing a rule at commit: iptables-nft prints the batch message that failed
 * ("RULE_APPEND failed (Invalid argument): rule in chain INPUT"); iptables-restore prints
 * the same detail after "line N: ".
 */
export class CommitError extends IptError {
  constructor(readonly detail: string) {
    super(`iptables ${IPT_VERSION}:  ${detail}`);
  }
}

export function ruleFailed(op: string, chain: string, error = "Invalid argument"): CommitError {
  return new CommitError(`${op} failed (${error}): rule in chain ${chain}`);
}

/** nft_chain_validate(): the new jump would take a chain to NFT_JUMP_STACK_SIZE levels (or round a loop). */
function checkJump(graph: JumpGraph | undefined, chain: string, rule: RuleConfig, op: string): void {
  const to = jumpTarget(rule);
  if (graph && to !== null && graph.tooManyLinks(chain, to)) throw ruleFailed(op, chain, "Too many links");
}

/** Checks a rule against its table: targets resolve, extensions accept their options. */

export function checkRule(t: TableConfig, chain: string, rule: RuleConfig, lookupSet: (name: string) => boolean, op = "RULE_APPEND"): void {
  const ctx: CheckCtx = { table: t.name, chain, lookupSet };
  for (const m of rule.matches) MATCHES.get(m.name)!.check?.(m, rule, ctx);
  const target = rule.target;
  if (!target) return;
  if (VERDICTS.has(target.name)) {
    if (target.goto) throw iptError(`goto '${target.name}' is not a chain`);
    return;
  }
  const ext = TARGETS.get(target.name);
  if (ext && !t.chains[target.name]) {
    if (target.goto) throw iptError(`goto '${target.name}' is not a chain`);
    ext.check?.(target, rule, ctx);
    const builtin = t.chains[chain]?.policy !== null;
    if ((ext.tables && !ext.tables.includes(t.name)) || (builtin && ext.chains && !ext.chains.includes(chain))) throw ruleFailed(op, chain);
    return;
  }
  const c = t.chains[target.name];
  if (!c || c.policy !== null) {
    if (c) throw iptError(`Can't jump to built-in chain ${target.name}`);
    throw iptError(`Chain '${target.name}' does not exist`);
  }
}

function validChainName(name: string): void {
  if (name.length > 28) throw iptError(`chain name \`${name}' too long (must be under 29 chars)`);
  if (name.startsWith("-") || name === "!") throw iptError(`chain name not allowed to start with \`-'`);
  if (VERDICTS.has(name) || TARGETS.has(name)) throw iptError(`chain name may not clash with target name`);
}

/**
 * Runs one write command on the table draft; throws IptError/ParseError on failure, before
 * changing anything. `graph` is the table's jump graph: checked for loops and depth, and
 * kept in step with the change.
 */
export function applyCommand(t: TableConfig, c: IptCommand, lookupSet: (name: string) => boolean, graph?: JumpGraph): void {
  const rule = c.rule;
  switch (c.cmd) {
    case "A": {
      const chain = chainOf(t, c.chain!);
      checkRule(t, c.chain!, rule, lookupSet);
      checkJump(graph, c.chain!, rule, "RULE_APPEND");
      chain.rules.push(rule);
      graph?.addRule(c.chain!, rule);
      return;
    }
    case "I": {
      const chain = chainOf(t, c.chain!);
      const at = c.rulenum ?? 1;
      if (at > chain.rules.length + 1) throw new IptError("iptables: Index of insertion too big.");
      checkRule(t, c.chain!, rule, lookupSet, "RULE_INSERT");
      checkJump(graph, c.chain!, rule, "RULE_INSERT");
      chain.rules.splice(at - 1, 0, rule);
      graph?.addRule(c.chain!, rule);
      return;
    }
    case "R": {
      const chain = chainOf(t, c.chain!);
      if (c.rulenum! > chain.rules.length) throw new IptError("iptables: Index of replacement too big.");
      checkRule(t, c.chain!, rule, lookupSet, "RULE_REPLACE");
      // The replaced rule's own jump cannot matter: a path out of this chain that comes back
      // to it rounds a loop with the new jump anyway.
      checkJump(graph, c.chain!, rule, "RULE_REPLACE");
      graph?.removeRule(c.chain!, chain.rules[c.rulenum! - 1]!);
      chain.rules[c.rulenum! - 1] = rule;
      graph?.addRule(c.chain!, rule);
      return;
    }
    case "D": {
      const chain = chainOf(t, c.chain!);
      if (c.rulenum !== null && !c.hasRule) {
        if (c.rulenum > chain.rules.length) throw new IptError("iptables: Index of deletion too big.");
        graph?.removeRule(c.chain!, chain.rules[c.rulenum - 1]!);
        chain.rules.splice(c.rulenum - 1, 1);
        return;
      }
      const idx = chain.rules.findIndex((r) => ruleEquals(r, rule));
      if (idx < 0) throw new IptError("iptables: Bad rule (does a matching rule exist in that chain?).");
      graph?.removeRule(c.chain!, chain.rules[idx]!);
      chain.rules.splice(idx, 1);
      return;
    }
    case "N":
      validChainName(c.chain!);
      newChain(t, c.chain!);
      return;
    case "X":
      if (c.chain === null) deleteAllUserChains(t);
      else deleteChain(t, c.chain);
      return;
    case "F":
      if (c.chain === null) {
        for (const name of t.order) {
          t.chains[name]!.rules = [];
          graph?.clearChain(name);
        }
      } else {
        chainOf(t, c.chain).rules = [];
        graph?.clearChain(c.chain);
      }
      return;
    case "P": {
      const chain = chainOf(t, c.chain!);
      if (chain.policy === null) throw new IptError("iptables: Bad built-in chain name.");
      if (c.arg2 !== "ACCEPT" && c.arg2 !== "DROP") throw new IptError("iptables: Bad policy name. Run `dmesg' for more information.");
      chain.policy = c.arg2;
      chain.counted = true;
      return;
    }
    case "E": {
      const chain = chainOf(t, c.chain!);
      if (chain.policy !== null) throw new IptError("iptables: Invalid argument. Run `dmesg' for more information.");
      const to = c.arg2!;
      validChainName(to);
      if (t.chains[to]) throw new IptError("iptables: File exists.");
      delete t.chains[chain.name];
      chain.name = to;
      t.chains[to] = chain;
      t.order = t.order.map((n) => (n === c.chain ? to : n));
      for (const n of t.order) for (const r of t.chains[n]!.rules) if (r.target && r.target.name === c.chain) r.target.name = to;
      graph?.rename(c.chain!, to);
      return;
    }
    default:
      throw new ParseError(`not a write command: -${c.cmd}`);
  }
}

export function tableNameOk(name: string): name is TableName {
  return name in TABLES;
}
