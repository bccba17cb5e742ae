// TCP (net/ipv4/tcp_ipv4.c, tcp_input.c), reduced to what a probe exchange needs:
// handshake, one request and one response, FIN both ways, RST for segments no socket
// owns, and ICMP errors reported to a connecting socket.
import type { Packet, Payload } from "../wire/packet.ts";
import { blankPacket, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, IPPROTO_TCP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../wire/packet.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import type { Dataplane } from "./dataplane.ts";
import type { LinkView, NetnsView } from "./view.ts";
import { type ClientCtx, type TcpSock, TcpState } from "./sockets.ts";
import type { LocalBind } from "./probe.ts";
import { ipLocalOut, routeLocal } from "./ip_output.ts";
import { routeOutput } from "./route.ts";
import { neighConfirm } from "./neigh.ts";
import { RTN_LOCAL } from "../wire/packet.ts";

function segment(ns: NetnsView, saddr: number, sport: number, daddr: number, dport: number, flags: number, payload: Payload): Packet {
  const p = blankPacket();
  p.proto = IPPROTO_TCP;
  p.saddr = saddr;
  p.sport = sport;
  p.daddr = daddr;
  p.dport = dport;
  p.tcpFlags = flags;
  p.payload = payload;
  p.ttl = ns.defaultTtl;
  p.len = 52 + (payload ? 100 : 0);
  return p;
}

function send(dp: Dataplane, ns: NetnsView, s: TcpSock, flags: number, payload: Payload): void {
  const p = segment(ns, s.laddr, s.lport, s.raddr, s.rport, flags, payload);
  const err = routeLocal(dp, ns, p);
  if (err) return dp.drop(p, ns, null, `no route back to ${formatIPv4(s.raddr)}: ${err}`);
  ipLocalOut(dp, ns, p);
}

/** connect(): returns the route error, or null with the SYN on its way. */
export function tcpConnect(dp: Dataplane, ns: NetnsView, daddr: number, dport: number, client: ClientCtx, request: boolean, bind: LocalBind): string | null {
  const syn = segment(ns, bind.saddr, 0, daddr, dport, TCP_SYN, null);
  // ip_route_connect(): the source address first, then the port for that 4-tuple.
  const err = routeLocal(dp, ns, syn);
  if (err) return err;
  const socks = dp.state(ns).sockets;
  if (bind.sport) {
    // bind(): the first port of the range no listener holds; connect(): a unique 4-tuple.
    let p = bind.sport;
    while (p <= bind.sportMax && socks.lookupListener(IPPROTO_TCP, syn.saddr, p)) p++;
    if (p > bind.sportMax) return "EADDRINUSE";
    if (socks.lookupTcp(syn.saddr, p, daddr, dport)) return "EADDRNOTAVAIL";
    syn.sport = p;
  } else {
    syn.sport = dp.tcpConnectPort(ns, syn.saddr, daddr, dport);
    if (!syn.sport) return "EADDRNOTAVAIL";
  }
  const s: TcpSock = { state: TcpState.SynSent, laddr: syn.saddr, lport: syn.sport, raddr: daddr, rport: dport, client, request, app: null };
  dp.state(ns).sockets.addTcp(s);
  client.sock = s;
  ipLocalOut(dp, ns, syn);
  scheduleSynRetransmit(dp, ns.name, s, TCP_TIMEOUT_INIT_MS, 1);
  return null;
}

const TCP_TIMEOUT_INIT_MS = 1000;
const TCP_SYN_RETRIES = 6;
const TCP_TIMEWAIT_LEN_MS = 60_000;

// tcp_retransmit_timer(): the SYN again after 1 s, 2 s, 4 s... (exponential backoff).
function scheduleSynRetransmit(dp: Dataplane, nsName: string, s: TcpSock, rto: number, attempt: number): void {
  if (attempt > TCP_SYN_RETRIES) return;
  dp.sim.after(rto, () => {
    if (s.state !== TcpState.SynSent || !s.client || s.client.outcome !== "pending") return;
    const ns = dp.view.netns.get(nsName);
    if (!ns) return;
    if (dp.tracer) dp.trace(null, ns, null, "socket", `SYN to ${formatIPv4(s.raddr)}:${s.rport} retransmitted (attempt ${attempt})`);
    send(dp, ns, s, TCP_SYN, null);
    scheduleSynRetransmit(dp, nsName, s, rto * 2, attempt + 1);
  });
}

function close(dp: Dataplane, ns: NetnsView, s: TcpSock): void {
  s.state = TcpState.Closed;
  dp.state(ns).sockets.removeTcp(s);
}

// tcp_v4_send_reset(): answer a segment nobody owns, never a RST.
function sendReset(dp: Dataplane, ns: NetnsView, pkt: Packet): void {
  tcpSendReset(dp, ns, pkt);
}

/**
 * A RST for pkt from its destination (tcp_v4_send_reset, and nf_send_reset for
 * REJECT --reject-with tcp-reset, whose source may be an address that is not ours).
 */
export function tcpSendReset(dp: Dataplane, ns: NetnsView, pkt: Packet): void {
  if (pkt.tcpFlags & TCP_RST) return;
  const flags = pkt.tcpFlags & TCP_ACK ? TCP_RST : TCP_RST | TCP_ACK;
  const p = segment(ns, pkt.daddr, pkt.dport, pkt.saddr, pkt.sport, flags, null);
  const r = routeOutput(ns, p.daddr, 0);
  if (!r.dst) return;
  p.dst = r.dst;
  ipLocalOut(dp, ns, p);
}

// tcp_v4_rcv(): established socket, else listener for a SYN, else RST.
export function tcpRcv(dp: Dataplane, ns: NetnsView, pkt: Packet, inDev: LinkView): void {
  const socks = dp.state(ns).sockets;
  let s = socks.lookupTcp(pkt.daddr, pkt.dport, pkt.saddr, pkt.sport);
  if (s && s.state === TcpState.TimeWait && (pkt.tcpFlags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN) {
    // tcp_timewait_state_process(): TCP_TW_SYN, a new connection on the same 4-tuple ends the TIME_WAIT.
    close(dp, ns, s);
    s = undefined;
  }
  if (s) return tcpStateProcess(dp, ns, s, pkt);
  if ((pkt.tcpFlags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN) {
    const l = socks.lookupListener(IPPROTO_TCP, pkt.daddr, pkt.dport);
    if (l) {
      const child: TcpSock = {
        state: TcpState.SynRecv,
        laddr: pkt.daddr,
        lport: pkt.dport,
        raddr: pkt.saddr,
        rport: pkt.sport,
        client: null,
        request: false,
        app: l.app,
      };
      socks.addTcp(child);
      if (dp.tracer) dp.trace(pkt, ns, inDev, "socket", `listener ${formatIPv4(l.addr)}:${l.port} accepts ${formatIPv4(pkt.saddr)}:${pkt.sport}`);
      // The server's accept is visible to the client as the answer of nc -z.
      send(dp, ns, child, TCP_SYN | TCP_ACK, { kind: "response", server: ns.name, clientIp: pkt.saddr, clientPort: pkt.sport });
      return;
    }
  }
  dp.drop(pkt, ns, inDev, `no socket for TCP port ${pkt.dport}: reset`);
  sendReset(dp, ns, pkt);
}

function finish(client: ClientCtx, outcome: ClientCtx["outcome"], error: string): void {
  if (client.outcome !== "pending") return;
  client.outcome = outcome;
  client.error = error;
}

function tcpStateProcess(dp: Dataplane, ns: NetnsView, s: TcpSock, pkt: Packet): void {
  const f = pkt.tcpFlags;
  if (f & TCP_ACK && !(f & TCP_RST)) confirmPeer(dp, ns, s);
  if (f & TCP_RST) {
    if (s.client) finish(s.client, "refused", s.state === TcpState.SynSent ? "Connection refused" : "Connection reset by peer");
    return close(dp, ns, s);
  }
  switch (s.state) {
    case TcpState.SynSent:
      if ((f & (TCP_SYN | TCP_ACK)) !== (TCP_SYN | TCP_ACK)) return;
      s.state = TcpState.Established;
      send(dp, ns, s, TCP_ACK, null);
      if (s.request) {
        send(dp, ns, s, TCP_PSH | TCP_ACK, { kind: "request", path: "/" });
      } else {
        const c = s.client!;
        if (pkt.payload && pkt.payload.kind === "response") {
          c.server = pkt.payload.server;
          c.clientIp = pkt.payload.clientIp;
        }
        finish(c, "answered", "");
        send(dp, ns, s, TCP_FIN | TCP_ACK, null);
        s.state = TcpState.FinWait1;
      }
      return;
    case TcpState.SynRecv:
      if (f & TCP_SYN && !(f & TCP_ACK)) {
        // tcp_check_req(): a retransmitted SYN gets the SYN-ACK again (inet_rtx_syn_ack).
        return send(dp, ns, s, TCP_SYN | TCP_ACK, { kind: "response", server: ns.name, clientIp: s.raddr, clientPort: s.rport });
      }
      if (!(f & TCP_ACK)) return;
      s.state = TcpState.Established;
      if (pkt.payload || f & TCP_FIN) tcpStateProcess(dp, ns, s, pkt);
      return;
    case TcpState.Established:
      if (pkt.payload && pkt.payload.kind === "request" && s.app) {
        // The request is acknowledged at once (quickack mode: the connection is young),
        // then the server answers with its namespace and the client address it saw, and closes.
        send(dp, ns, s, TCP_ACK, null);
        send(dp, ns, s, TCP_PSH | TCP_ACK, { kind: "response", server: ns.name, clientIp: s.raddr, clientPort: s.rport });
        send(dp, ns, s, TCP_FIN | TCP_ACK, null);
        s.state = TcpState.FinWait1;
        return;
      }
      if (pkt.payload && pkt.payload.kind === "response" && s.client) {
        s.client.server = pkt.payload.server;
        s.client.clientIp = pkt.payload.clientIp;
        finish(s.client, "answered", "");
        // __tcp_ack_snd_check(): data in quickack mode is acknowledged at once.
        if (!(f & TCP_FIN)) send(dp, ns, s, TCP_ACK, null);
      }
      if (f & TCP_FIN) {
        // Peer closed: acknowledge and close our side at once (CLOSE_WAIT -> LAST_ACK).
        send(dp, ns, s, TCP_FIN | TCP_ACK, null);
        s.state = TcpState.LastAck;
        if (s.client) finish(s.client, "refused", "Empty reply from server");
      }
      return;
    case TcpState.FinWait1:
    case TcpState.FinWait2:
      if (f & TCP_FIN) {
        send(dp, ns, s, TCP_ACK, null);
        if (s.client) return close(dp, ns, s);
        // tcp_time_wait(): the server closed first and keeps the 4-tuple for TCP_TIMEWAIT_LEN.
        s.state = TcpState.TimeWait;
        dp.sim.after(TCP_TIMEWAIT_LEN_MS, () => {
          const now = dp.view.netns.get(ns.name);
          if (now && s.state === TcpState.TimeWait) close(dp, now, s);
        });
        return;
      }
      if (f & TCP_ACK) s.state = TcpState.FinWait2;
      return;
    case TcpState.TimeWait:
      // tcp_timewait_state_process(): a retransmitted FIN is acknowledged again.
      if (f & TCP_FIN) send(dp, ns, s, TCP_ACK, null);
      return;
    case TcpState.LastAck:
      if (!(f & TCP_ACK)) return;
      // tcp_done(): segments that found the socket in the same instant (its backlog) are
      // discarded in TCP_CLOSE, not answered with a RST; then it goes.
      s.state = TcpState.Closed;
      dp.sim.after(0, () => {
        const now = dp.view.netns.get(ns.name);
        if (now) dp.state(now).sockets.removeTcp(s);
      });
      return;
    default:
      return;
  }
}

function confirmPeer(dp: Dataplane, ns: NetnsView, s: TcpSock): void {
  const r = routeOutput(ns, s.raddr, s.laddr);
  if (r.dst && r.dst.type !== RTN_LOCAL) neighConfirm(dp, ns, r.dst.dev, r.dst.gw);
}

// tcp_v4_err(): an ICMP error aborts a connection in SYN-SENT (hard errors only).
export function tcpErr(dp: Dataplane, ns: NetnsView, icmp: Packet): void {
  const q = icmp.quoted!;
  const s = dp.state(ns).sockets.lookupTcp(q.saddr, q.sport, q.daddr, q.dport);
  if (!s || !s.client || s.state !== TcpState.SynSent) return;
  if (icmp.icmpType !== ICMP_DEST_UNREACH) return;
  if (icmp.icmpCode === ICMP_PORT_UNREACH) finish(s.client, "refused", "Connection refused");
  else finish(s.client, "unreachable", icmp.icmpCode === 0 ? "Network is unreachable" : "No route to host");
  close(dp, ns, s);
}
