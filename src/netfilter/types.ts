// iptables configuration in the snapshot: tables, chains and parsed rules per namespace.
import type { Chains } from "./chains.ts";

export type TableName = "raw" | "mangle" | "nat" | "filter";

export interface AddrMatch {
  addr: number;
  plen: number;
  inv: boolean;
}

export interface IfaceMatch {
  /** Without the trailing "+" of a wildcard. */
  name: string;
  wildcard: boolean;
  inv: boolean;
}

/** One `-m NAME ...` (or an implicit protocol match): its options, as parsed. */
export interface MatchSpec {
  name: string;
  /** Option values keyed by option name without dashes; "!" prefixed keys hold inversions. */
  opts: Record<string, string | number | boolean | number[] | string[]>;
}

export interface TargetSpec {
  /** ACCEPT, DROP, RETURN, a user chain name, or an extension target (MARK, DNAT...). */
  name: string;
  opts: Record<string, string | number | boolean | number[] | string[]>;
  /** -g: go to the chain without returning. */
  goto: boolean;
}

export interface RuleConfig {
  src: AddrMatch | null;
  dst: AddrMatch | null;
  inIface: IfaceMatch | null;
  outIface: IfaceMatch | null;
  /** -p: protocol number (0 = all) */
  proto: number;
  protoInv: boolean;
  matches: MatchSpec[];
  /** null: a rule without -j only counts. */
  target: TargetSpec | null;
}

export interface ChainConfig {
  name: string;
  /** Built-in chains have a policy; user chains have none. */
  policy: "ACCEPT" | "DROP" | null;
  /**
   * iptables-nft counts policy verdicts only once the policy was set explicitly
   * (-P, -Z, or a chain line of iptables-restore); before that they read 0.
   */
  counted?: boolean;
  rules: RuleConfig[];
  /** Creation number within the table (iptables -X without a chain goes in creation order). */
  seq: number;
}

export interface TableConfig {
  name: TableName;
  /**
   * The chains (built-ins created first), a persistent map: read it with get/values;
   * change it through tables.ts (editChains), never in place.
   */
  chains: Chains;
}

export interface NetfilterConfig {
  tables: Partial<Record<TableName, TableConfig>>;
}

declare module "../config/types.ts" {
  interface NetnsExtensions {
    netfilter?: NetfilterConfig;
  }
}
