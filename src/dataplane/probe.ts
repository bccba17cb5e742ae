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
  /** nc -s ADDR, curl --interface ADDR: the source address the socket binds (0 or absent: any). */
  saddr?: number;
  /** nc -p PORT, curl --local-port N[-M]: the source ports it may bind, first free one wins (0 or absent: ephemeral). */
  sport?: number;
  sportMax?: number;
  /** curl --interface NAME: bind to that interface's first IPv4 address. */
  iface?: string;
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
    const addr = ns.byName.get(spec.iface)?.cfg.addrs[0];
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
      err = pingSend(dp, ns, spec.daddr, id, 1, client);
      // ping sends one request a second (-i 1).
      for (let seq = 2; seq <= spec.count && !err; seq++) {
        dp.sim.after((seq - 1) * 1000, () => {
          const cur = dp.view.netns.get(nsName);
          if (cur) pingSend(dp, cur, spec.daddr, id, seq, client);
        });
      }
      until = start + (spec.count - 1) * 1000 + spec.timeoutMs;
      break;
    }
  }
  if (err) return { outcome: "unreachable", server: null, clientIp: null, error: ROUTE_ERRORS[err] ?? err };
  const done =
    spec.kind === "ping"
      ? () => client.replies >= spec.count || (client.outcome === "unreachable" && dp.now >= start + (spec.count - 1) * 1000)
      : () => client.outcome !== "pending";
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
