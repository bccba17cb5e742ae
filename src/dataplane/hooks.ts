// The netfilter hook framework (nf_hook_ops, nf_hook_slow): hook points per namespace,
// operations at priorities, verdicts. The walker knows nothing of iptables or IPVS.
import type { Packet } from "../wire/packet.ts";
import type { Config } from "../config/types.ts";
import type { LinkView } from "./view.ts";

export enum Hook {
  PreRouting = 0,
  LocalIn = 1,
  Forward = 2,
  LocalOut = 3,
  PostRouting = 4,
  // NFPROTO_BRIDGE hooks (br_netfilter), numbered after the IPv4 ones.
  BrPreRouting = 5,
  BrLocalIn = 6,
  BrForward = 7,
  BrLocalOut = 8,
  BrPostRouting = 9,
}
export const HOOK_COUNT = 10;
export const HOOK_NAMES = [
  "PREROUTING",
  "INPUT",
  "FORWARD",
  "OUTPUT",
  "POSTROUTING",
  "BR_PREROUTING",
  "BR_INPUT",
  "BR_FORWARD",
  "BR_OUTPUT",
  "BR_POSTROUTING",
];

export const NF_DROP = 0;
export const NF_ACCEPT = 1;
/** The operation took the packet (queued it, or sent it on itself). */
export const NF_STOLEN = 2;
export type Verdict = typeof NF_DROP | typeof NF_ACCEPT | typeof NF_STOLEN;

// enum nf_ip_hook_priorities
export const NF_IP_PRI_RAW = -300;
export const NF_IP_PRI_CONNTRACK_DEFRAG = -400;
export const NF_IP_PRI_CONNTRACK = -200;
export const NF_IP_PRI_MANGLE = -150;
export const NF_IP_PRI_NAT_DST = -100;
export const NF_IP_PRI_FILTER = 0;
export const NF_IP_PRI_SECURITY = 50;
export const NF_IP_PRI_NAT_SRC = 100;
export const NF_IP_PRI_CONNTRACK_HELPER = 300;
export const NF_IP_PRI_CONNTRACK_CONFIRM = 2147483647;
// enum nf_br_hook_priorities
export const NF_BR_PRI_BRNF = 0;

/** What an operation sees besides the packet (struct nf_hook_state). */
export interface HookState {
  hook: Hook;
  /** Namespace name. */
  ns: string;
  /** Input and output devices (null when none). */
  inDev: LinkView | null;
  outDev: LinkView | null;
  /** Set by an operation that drops, for the trace and the drop reason. */
  reason: string;
}

export interface NfHookOps {
  hook: Hook;
  priority: number;
  /** For the trace: "nat", "filter", "ipvs", "conntrack"... */
  name: string;
  fn: (pkt: Packet, state: HookState) => Verdict;
  /** Registration order (nextHookSeq); among equal priorities the later one runs first. */
  seq?: number;
}

let hookSeq = 0;
/** nf_register_net_hook order, for nf_hook_entries_grow's placing of equal priorities. */
export function nextHookSeq(): number {
  return ++hookSeq;
}

/** Hook operations sorted by priority, one array per hook point (nf_hook_entries). */
export type HookTable = NfHookOps[][];

export function buildHookTable(ops: readonly NfHookOps[]): HookTable {
  const table: HookTable = Array.from({ length: HOOK_COUNT }, () => []);
  for (const op of ops) table[op.hook]!.push(op);
  // nf_hook_entries_grow(): a new entry goes before the first of equal or higher priority.
  for (const entries of table) entries.sort((a, b) => a.priority - b.priority || (b.seq ?? 0) - (a.seq ?? 0));
  return table;
}

/** No operations: a provider with nothing registered in a namespace returns this one array. */
export const NO_OPS: readonly NfHookOps[] = Object.freeze([]);

/**
 * A layer above the core that registers operations in a namespace (nf_register_net_hooks).
 * Registration is state the layer changes when a command changes the snapshot (commit);
 * reading it (hookOps) changes nothing, so the dataplane can compute its view at any time.
 */
export interface HookProvider {
  name: string;
  /**
   * An accepted change made `config` the snapshot: bring the layer's state (services,
   * registrations, registration order) in line with it. Called once per accepted change
   * (once per Host.batch), never for a change that failed, and before the view follows.
   * Providers are committed last-registered first, so a layer reads the new state of the
   * layers that feed it (netfilter reads nftables' nat chains). It must cost what the
   * change changed: compare the snapshot's pieces by identity with the last ones seen.
   */
  commit?(config: Config): void;
  /**
   * The operations this layer has registered in namespace ns: a pure read. It returns the
   * identical array for as long as they are unchanged (NO_OPS for none): the view rebuilds
   * a namespace's hook table only when one of its providers' arrays is a new one.
   */
  hookOps(ns: string, config: Config): readonly NfHookOps[];
}
