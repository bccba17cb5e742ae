// Applying one parsed iptables command to a table draft (the kernel's side of
// IPT_SO_SET_REPLACE / nf_tables, with iptables' own error wording).
import type { RuleConfig, TableConfig, TableName } from "../types.ts";
import {
  chainOf,
  deleteAllUserChains,
  deleteChain,
  deleteRule,
  findRule,
  flushChain,
  indexOf,
  insertRule,
  IptError,
  newChain,
  renameChain,
  replaceRule,
  setPolicy,
  TABLES,
} from "../tables.ts";
import { MATCHES } from "../matches/index.ts";
import { TARGETS } from "../targets/index.ts";
import { type CheckCtx, ParseError } from "../ext.ts";
import { jumpTarget } from "../loops.ts";
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
function checkJump(t: TableConfig, chain: string, rule: RuleConfig, op: string): void {
  const to = jumpTarget(rule);
  if (to !== null && indexOf(t).graph.tooManyLinks(chain, to)) throw ruleFailed(op, chain, "Too many links");
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
  if (ext && !t.chains.has(target.name)) {
    if (target.goto) throw iptError(`goto '${target.name}' is not a chain`);
    ext.check?.(target, rule, ctx);
    const builtin = t.chains.get(chain)?.policy !== null;
    if ((ext.tables && !ext.tables.includes(t.name)) || (builtin && ext.chains && !ext.chains.includes(chain))) throw ruleFailed(op, chain);
    return;
  }
  const c = t.chains.get(target.name);
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
 * changing anything. The table's index (jump graph, reference counts) is checked for
 * loops and depth (unless checkJumps is false: the caller checks the whole table once,
 * see JumpGraph.validAll) and kept in step with the change (tables.ts).
 */
export function applyCommand(t: TableConfig, c: IptCommand, lookupSet: (name: string) => boolean, checkJumps = true): void {
  const rule = c.rule;
  switch (c.cmd) {
    case "A": {
      const chain = chainOf(t, c.chain!);
      checkRule(t, c.chain!, rule, lookupSet);
      if (checkJumps) checkJump(t, c.chain!, rule, "RULE_APPEND");
      insertRule(t, c.chain!, chain.rules.length, rule);
      return;
    }
    case "I": {
      const chain = chainOf(t, c.chain!);
      const at = c.rulenum ?? 1;
      if (at > chain.rules.length + 1) throw new IptError("iptables: Index of insertion too big.");
      checkRule(t, c.chain!, rule, lookupSet, "RULE_INSERT");
      if (checkJumps) checkJump(t, c.chain!, rule, "RULE_INSERT");
      insertRule(t, c.chain!, at - 1, rule);
      return;
    }
    case "R": {
      const chain = chainOf(t, c.chain!);
      if (c.rulenum! > chain.rules.length) throw new IptError("iptables: Index of replacement too big.");
      checkRule(t, c.chain!, rule, lookupSet, "RULE_REPLACE");
      // The replaced rule's own jump cannot matter: a path out of this chain that comes back
      // to it rounds a loop with the new jump anyway.
      checkJump(t, c.chain!, rule, "RULE_REPLACE");
      replaceRule(t, c.chain!, c.rulenum! - 1, rule);
      return;
    }
    case "D": {
      const chain = chainOf(t, c.chain!);
      if (c.rulenum !== null && !c.hasRule) {
        if (c.rulenum > chain.rules.length) throw new IptError("iptables: Index of deletion too big.");
        deleteRule(t, c.chain!, c.rulenum - 1);
        return;
      }
      const idx = findRule(chain, rule);
      if (idx < 0) throw new IptError("iptables: Bad rule (does a matching rule exist in that chain?).");
      deleteRule(t, c.chain!, idx);
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
        for (const name of [...t.chains.names()]) flushChain(t, name);
      } else flushChain(t, chainOf(t, c.chain).name);
      return;
    case "P": {
      const chain = chainOf(t, c.chain!);
      if (chain.policy === null) throw new IptError("iptables: Bad built-in chain name.");
      if (c.arg2 !== "ACCEPT" && c.arg2 !== "DROP") throw new IptError("iptables: Bad policy name. Run `dmesg' for more information.");
      setPolicy(t, c.chain!, c.arg2);
      return;
    }
    case "E": {
      const chain = chainOf(t, c.chain!);
      if (chain.policy !== null) throw new IptError("iptables: Invalid argument. Run `dmesg' for more information.");
      const to = c.arg2!;
      validChainName(to);
      if (t.chains.has(to)) throw new IptError("iptables: File exists.");
      renameChain(t, c.chain!, to);
      return;
    }
    default:
      throw new ParseError(`not a write command: -${c.cmd}`);
  }
}

/**
 * iptables-restore's chain line `:NAME POLICY [pkts:bytes]`: a built-in chain takes the
 * policy (unless "-"), an existing user chain is flushed (kube-proxy relies on this with
 * --noflush), a new one is made. Returns whether NAME is a built-in chain; throws
 * IptError with the message for "line N failed" / the restore's own wording.
 */
export function restoreChainLine(t: TableConfig, chain: string, policy: string): { builtin: boolean } {
  const existing = t.chains.get(chain);
  if (existing && existing.policy !== null) {
    if (policy !== "-") {
      if (policy !== "ACCEPT" && policy !== "DROP") throw new RestoreLineFailed("Bad policy name.");
      setPolicy(t, chain, policy);
    }
    return { builtin: true };
  }
  if (existing) flushChain(t, chain);
  else {
    if (policy !== "-") throw new IptError(`Can't set policy \`${policy}' on \`${chain}'`);
    newChain(t, chain);
  }
  return { builtin: false };
}

/** iptables-restore: "line N failed: ..." (a different wording from the parse errors). */
export class RestoreLineFailed extends IptError {}

export function tableNameOk(name: string): name is TableName {
  return name in TABLES;
}
