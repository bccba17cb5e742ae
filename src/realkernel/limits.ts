// The bounds real-kernel mode puts on every process it starts, shared by the planner
// (which sums them into the run's budget) and the inner runner (which enforces them).
import type { KernelProbeSpec } from "./types.ts";

export { HOST_NS } from "../commands/vocabulary.ts";

/** One tool run (ip, iptables ...), killed with its process group after this. */
export const EXEC_TIMEOUT_MS = 10_000;
/**
 * A server's start, up to its "listening". Node's start-up in the VM under TCG on a
 * loaded machine (load 14-18 on 2 cores) took more than 5 s, and a probe's more than 8.
 * Only bounds: a run that goes well never waits for them.
 */
export const SERVER_START_MS = 20_000;
/** Node's start-up inside `ip netns exec`, on top of a probe's own limit (slow in the VM under TCG, as above). */
export const PROBE_SLACK_MS = 20_000;
/** Longest `advance:` / `sleep` real-kernel mode will sleep through. */
export const MAX_SLEEP_MS = 15 * 60_000;
/** After a child exits, how long its output pipe may stay open (a grandchild holding it). */
export const PIPE_GRACE_MS = 500;

/** ping's own interval (-i, 1 s by default) for the run's bound. */
export function pingIntervalMs(p: KernelProbeSpec): number {
  const i = p.pingArgv.indexOf("-i");
  return i >= 0 ? Math.round(Number(p.pingArgv[i + 1]) * 1000) : 1000;
}

/** A probe's bound: its own limit, ping's interval per extra packet, node's start-up. */
export function probeBoundMs(p: KernelProbeSpec): number {
  return p.kind === "ping" ? (p.count - 1) * pingIntervalMs(p) + p.timeoutMs + PROBE_SLACK_MS : p.timeoutMs + PROBE_SLACK_MS;
}

/** The snapshot script (pktpath snapshot) on a built node: slow under the VM's TCG. */
export const SNAPSHOT_TIMEOUT_MS = 240_000;
