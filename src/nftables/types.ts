// The nf_tables configuration of one namespace as plain immutable data: tables, chains,
// rules (expressions and statements as an AST), sets and maps (nf_tables_api.c objects).
import type { PList } from "../config/plist.ts";

/** A value an expression yields: numbers for everything but interface names. */
export type NftValue = number | string;

/** A right-hand side element: a value, a range [lo, hi], or a prefix (kept for listing). */
export interface NftElemKey {
  /** One part per concatenated field. */
  parts: NftAtom[];
}
export type NftAtom =
  | { k: "val"; v: NftValue }
  | { k: "range"; lo: number; hi: number }
  | { k: "prefix"; v: number; len: number };

export interface NftVerdict {
  code: "accept" | "drop" | "continue" | "return" | "jump" | "goto";
  chain?: string;
}

/** Map data: a verdict, or a value (NAT address[:port]). */
export type NftData = { k: "verdict"; v: NftVerdict } | { k: "value"; parts: NftAtom[] };

export interface NftElem {
  key: NftElemKey;
  data?: NftData;
  /** Element timeout in ms (0: none). */
  timeout?: number;
  /** Absolute virtual time the element expires at. */
  expires?: number;
  comment?: string;
}

/** A selector: what an expression reads from the packet (payload, meta, ct, fib, numgen, jhash). */
export interface NftSel {
  /** Canonical name: "ip saddr", "meta mark", "ct state", "numgen", "jhash", "fib daddr type", ... */
  name: string;
  /** numgen / jhash: mode, modulus, offset, seed, hashed fields. */
  mode?: "random" | "inc";
  mod?: number;
  offset?: number;
  seed?: number;
  of?: NftSel[];
}

export interface NftExpr {
  /** Concatenated selectors (one for a plain expression). */
  sels: NftSel[];
  /** Bitwise `& mask` (single selector only). */
  mask?: number;
  /** Bitwise `| bits` (used by `meta mark set meta mark | 0x4000`). */
  or?: number;
  /** Bitwise `^ bits` (kube-proxy's `meta mark set meta mark xor 0x4000`). */
  xor?: number;
  /** Written as `VALUE / MASK` (tcp flags syn / syn,ack). */
  slash?: boolean;
}

export type NftRelOp = "implicit" | "==" | "!=" | "<" | ">" | "<=" | ">=";

export type NftRhs =
  | { k: "atoms"; atoms: NftAtom[]; list?: boolean }
  | { k: "set"; elems: NftElem[] }
  | { k: "ref"; name: string };

export type NftStmt =
  | { k: "match"; left: NftExpr; op: NftRelOp; right: NftRhs }
  | { k: "verdict"; v: NftVerdict }
  | { k: "vmap"; left: NftExpr; map: NftRhs }
  | { k: "counter"; packets: number; bytes: number }
  | { k: "log"; prefix?: string; level?: string }
  | { k: "reject"; with: "tcp reset" | "icmp"; code?: number }
  | { k: "mark"; ct: boolean; value: NftExpr | number }
  | { k: "nat"; type: "dnat" | "snat"; addr?: NftAtom; port?: NftAtom; map?: { left: NftExpr; map: NftRhs }; flags: string[] }
  | { k: "masquerade"; ports?: [number, number]; flags: string[] }
  | { k: "redirect"; ports?: [number, number]; flags: string[] }
  | { k: "notrack" }
  | { k: "limit"; rate: number; unit: string; over: boolean; burst?: number }
  | { k: "setupd"; op: "add" | "update"; set: string; key: NftExpr; timeout?: number };

export interface NftRule {
  handle: number;
  stmts: NftStmt[];
  comment?: string;
}

export type NftHookName = "prerouting" | "input" | "forward" | "output" | "postrouting";

export interface NftBase {
  type: "filter" | "nat" | "route";
  hook: NftHookName;
  /** Numeric priority. */
  prio: number;
  /** How it was written, for listing ("filter + 5", "-150"). */
  prioText: string;
  policy: "accept" | "drop";
  /** nf_register_net_hook order: among equal priorities the later one runs first. */
  seq: number;
}

export interface NftChain {
  name: string;
  handle: number;
  base: NftBase | null;
  rules: NftRule[];
  comment?: string;
}

export interface NftSetDef {
  name: string;
  handle: number;
  /** Key types, one per concatenated field. */
  keyType: string[];
  /** Map data type: "verdict", "ipv4_addr", "ipv4_addr . inet_service", ...; null for a set. */
  dataType: string | null;
  flags: string[];
  /** Default element timeout (ms), 0 none. */
  timeout: number;
  /** In insertion order, as a persistent chunked list: one command copies the chunks it changes. */
  elems: PList<NftElem>;
  anonymous: boolean;
  comment?: string;
}

export type NftFamily = "ip" | "inet" | "bridge";

export interface NftTable {
  family: NftFamily;
  name: string;
  handle: number;
  /** table->hgenerator: chains, rules and sets share one handle counter. */
  hgen: number;
  /**
   * The chains in creation order, in chunks of at most CHAIN_CHUNK: a change copies the
   * list of chunks and the one chunk it changes, not every chain of the table (a table
   * of 240k chains is one kube-proxy node of 20k services).
   */
  chains: NftChain[][];
  sets: NftSetDef[];
  flags: string[];
  comment?: string;
}

export interface NftRuleset {
  tables: NftTable[];
  /** nft_net->table_handle */
  tableHandle: number;
  /** Hook registration counter. */
  hookSeq: number;
}

declare module "../config/types.ts" {
  interface NetnsExtensions {
    nftables?: NftRuleset;
  }
}

export const CHAIN_CHUNK = 512;

/** A plain table's chains in order (for whole-table work: listing, compiling, walking). */
export function chainList(t: NftTable): NftChain[] {
  return t.chains.flat();
}

/** Chains in order as chunks (a table built whole, e.g. for printing back). */
export function chunked(chains: NftChain[]): NftChain[][] {
  const out: NftChain[][] = [];
  for (let i = 0; i < chains.length; i += CHAIN_CHUNK) out.push(chains.slice(i, i + CHAIN_CHUNK));
  return out;
}

export function emptyRuleset(): NftRuleset {
  return { tables: [], tableHandle: 0, hookSeq: 0 };
}
