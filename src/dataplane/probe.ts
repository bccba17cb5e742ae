// Probe clients (curl, nc, ping) as the emulated sockets see them: send, run the event
// loop until the client has its answer or its time limit passes, then let the
// connection close.
import type { Dataplane } from "./dataplane.ts";
import type { NetnsView } from "./view.ts";
import { type ClientCtx, TcpState } from "./sockets.ts";
import { tcpConnect } from "./tcp.ts";
import { udpSend } from "./udp.ts";
import { pingSend } from "./ping.ts";

export type ProbeKind = "http" | "tcp" | "udp" | "ping";

export interface ProbeSpec {
  kind: ProbeKind;
  daddr: number;
  dport: number;
  /** Time limit in ms (curl -m, nc -w, ping -W). */
  timeoutMs: number;
  /** ping -c */
  count: number;
  /** ping -i in ms (1000 when not given). */
  intervalMs?: number;
  /** ping -w in ms: the whole probe ends then, however many requests were sent. */
  deadlineMs?: number;
  /** nc -s ADDR, curl --interface ADDR: the source address the socket binds (0 or absent: any). */
  saddr?: number;
  /** nc -p PORT, curl --local-port N[-M]: the source ports it may bind, first free one wins (0 or absent: ephemeral). */
  sport?: number;
  sportMax?: number;
  /** curl --interface NAME: bind to that interface's first IPv4 address. */
  iface?: string;
}

/** How many echo requests a ping sends, and when it gives up (ms after the first). */
export function pingPlan(spec: ProbeSpec): { requests: number; untilMs: number } {
  const interval = spec.intervalMs ?? 1000;
  if (spec.deadlineMs !== undefined) {
    // iputils ping -w: requests go out while the deadline has not passed.
    const fit = interval === 0 ? spec.count : Math.ceil(spec.deadlineMs / interval);
    return { requests: Math.max(1, Math.min(spec.count, fit)), untilMs: spec.deadlineMs };
  }
  return { requests: spec.count, untilMs: (spec.count - 1) * interval + spec.timeoutMs };
}

/** Where a client socket binds before it connects (bind(2)); zeros for the kernel's choice. */
export interface LocalBind {
  saddr: number;
  sport: number;
  sportMax: number;
}

export type Outcome = "timeout" | "refused" | "unreachable" | "reply" | "answered";

export interface ProbeResult {
  outcome: Outcome;
  server: string | null;
  clientIp: number | null;
  /** The client's own words for a failure (curl's "Connection refused"...). */
  error: string;
}

const ROUTE_ERRORS: Record<string, string> = {
  ENETUNREACH: "Network is unreachable",
  EHOSTUNREACH: "No route to host",
  EACCES: "Permission denied",
  EINVAL: "Invalid argument",
  EPERM: "Operation not permitted",
  EADDRNOTAVAIL: "Cannot assign requested address",
  EADDRINUSE: "Address already in use",
};

let pingIds = 0x1000;

// bind(2) before connect: the address must be local (inet_bind: EADDRNOTAVAIL); an
// interface name stands for its first IPv4 address (curl's Curl_if2ip).
function localBind(ns: NetnsView, spec: ProbeSpec): LocalBind | string {
  let saddr = spec.saddr ?? 0;
  if (spec.iface !== undefined) {
    const addr = ns.byName.get(spec.iface)?.cfg.addrs.at(0);
    if (!addr) return "EADDRNOTAVAIL";
    saddr = addr.addr;
  }
  if (saddr && !ns.local.has(saddr)) return "EADDRNOTAVAIL";
  return { saddr, sport: spec.sport ?? 0, sportMax: spec.sportMax || spec.sport || 0 };
}

export function runProbe(dp: Dataplane, nsName: string, spec: ProbeSpec): ProbeResult {
  const ns = dp.view.netns.get(nsName);
  if (!ns) throw new Error(`no namespace ${nsName}`);
  const client: ClientCtx = { outcome: "pending", server: null, clientIp: null, error: "", replies: 0 };
  // ping: requests to send, sent so far, and whether the probe has ended (no more sends).
  let requests = 1;
  let sent = 1;
  let over = false;
  const start = dp.now;
  let until = start + spec.timeoutMs;
  let err: string | null = null;
  const bind = localBind(ns, spec);
  if (typeof bind === "string") return { outcome: "unreachable", server: null, clientIp: null, error: ROUTE_ERRORS[bind] ?? bind };
  switch (spec.kind) {
    case "http":
    case "tcp":
      err = tcpConnect(dp, ns, spec.daddr, spec.dport, client, spec.kind === "http", bind);
      break;
    case "udp":
      err = udpSend(dp, ns, spec.daddr, spec.dport, client, bind);
      break;
    case "ping": {
      const id = pingIds++;
      const plan = pingPlan(spec);
      const interval = spec.intervalMs ?? 1000;
      requests = plan.requests;
      err = pingSend(dp, ns, spec.daddr, id, 1, client);
      // One timer at a time: each request schedules the next (-i apart) until the last.
      const next = () => {
        if (over) return;
        sent++;
        const cur = dp.view.netns.get(nsName);
        if (cur) pingSend(dp, cur, spec.daddr, id, sent, client);
        if (sent < requests) dp.sim.after(interval, next);
      };
      if (!err && requests > 1) dp.sim.after(interval, next);
      until = start + plan.untilMs;
      break;
    }
  }
  // A ping that -w cut short of its count runs to the deadline, as iputils does.
  const replies = spec.kind === "ping" && requests < spec.count ? Infinity : requests;
  try {
    const r = waitForAnswer(dp, ns, spec, client, err, until, () =>
      spec.kind === "ping" ? client.replies >= replies || (client.outcome === "unreachable" && sent >= requests) : client.outcome !== "pending",
    );
    if (replies === Infinity && !err) dp.sim.now = Math.max(dp.now, until);
    return r;
  } finally {
    over = true;
  }
}

/** Runs the event loop until the client has its answer or gives up at `until`. */
function waitForAnswer(dp: Dataplane, ns: NetnsView, spec: ProbeSpec, client: ClientCtx, err: string | null, until: number, done: () => boolean): ProbeResult {
  if (err) return { outcome: "unreachable", server: null, clientIp: null, error: ROUTE_ERRORS[err] ?? err };
  // The client gives up at its deadline: what would happen at that very instant comes too late.
  dp.run(until - 1, done);
  if (client.outcome === "pending") {
    // The client gives up and closes its socket: no more retransmits, late answers get a RST.
    client.outcome = "timeout";
    if (client.sock) {
      client.sock.state = TcpState.Closed;
      dp.state(ns).sockets.removeTcp(client.sock);
    }
    dp.sim.now = Math.max(dp.now, until);
    return { outcome: "timeout", server: null, clientIp: null, error: `Connection timed out after ${spec.timeoutMs} milliseconds` };
  }
  // Let the exchange finish (FINs, ACKs) without moving the clock.
  dp.run(dp.now, () => false);
  return { outcome: client.outcome as Outcome, server: client.server, clientIp: client.clientIp, error: client.error };
}
