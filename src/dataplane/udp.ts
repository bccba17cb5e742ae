// UDP (net/ipv4/udp.c): datagrams to listeners, ICMP port unreachable when no socket
// is bound, and ICMP errors reported to the sending client socket.
import type { Packet } from "../wire/packet.ts";
import { blankPacket, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, IPPROTO_UDP, RTN_BROADCAST } from "../wire/packet.ts";
import { Hook } from "./hooks.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import type { Dataplane } from "./dataplane.ts";
import type { LinkView, NetnsView } from "./view.ts";
import type { ClientCtx } from "./sockets.ts";
import type { LocalBind } from "./probe.ts";
import { ipLocalOut, routeLocal } from "./ip_output.ts";
import { icmpSend } from "./icmp.ts";

function datagram(ns: NetnsView, saddr: number, sport: number, daddr: number, dport: number, payload: Packet["payload"]): Packet {
  const p = blankPacket();
  p.proto = IPPROTO_UDP;
  p.saddr = saddr;
  p.sport = sport;
  p.daddr = daddr;
  p.dport = dport;
  p.payload = payload;
  p.ttl = ns.defaultTtl;
  // The probe's datagram ("pktpath probe\n") and the server's answer ({"server":...,"client_ip":...}\n).
  p.len = 28 + (payload && payload.kind === "response" ? 29 + payload.server.length + formatIPv4(payload.clientIp).length : 14);
  return p;
}

/** sendto() from a fresh client socket; returns the route error or null. */
export function udpSend(dp: Dataplane, ns: NetnsView, daddr: number, dport: number, client: ClientCtx, bind: LocalBind): string | null {
  const p = datagram(ns, bind.saddr, 0, daddr, dport, { kind: "request", path: "" });
  const err = routeLocal(dp, ns, p);
  if (err) return err;
  if (bind.sport) {
    // bind(): the first port of the range no listener holds (udp_lib_get_port with a port).
    let port = bind.sport;
    while (port <= bind.sportMax && dp.state(ns).sockets.lookupListener(IPPROTO_UDP, p.saddr, port)) port++;
    if (port > bind.sportMax) return "EADDRINUSE";
    p.sport = port;
  } else {
    p.sport = dp.udpPort(ns);
    if (!p.sport) return "EAGAIN";
  }
  dp.state(ns).sockets.udpClients.set(p.sport, client);
  dp.nfDropped = null;
  ipLocalOut(dp, ns, p);
  // udp_send_skb(): a datagram dropped at LOCAL_OUT or POSTROUTING fails sendmsg with
  // EPERM (nf_hook's NF_DROP in ip_local_out / ip_output), so nc reports it at once.
  const dropped = dp.nfDropped as Packet | null; // set by the hooks ipLocalOut ran
  if (dropped === p && (dp.nfDroppedAt === Hook.LocalOut || dp.nfDroppedAt === Hook.PostRouting)) {
    dp.state(ns).sockets.udpClients.delete(p.sport);
    return "EPERM";
  }
  return null;
}

// __udp4_lib_rcv()
export function udpRcv(dp: Dataplane, ns: NetnsView, pkt: Packet, inDev: LinkView): void {
  const socks = dp.state(ns).sockets;
  const client = socks.udpClients.get(pkt.dport);
  if (client && pkt.payload && pkt.payload.kind === "response") {
    if (client.outcome === "pending") {
      client.outcome = "answered";
      client.server = pkt.payload.server;
      client.clientIp = pkt.payload.clientIp;
    }
    return;
  }
  const l = socks.lookupListener(IPPROTO_UDP, pkt.daddr, pkt.dport);
  if (!l) {
    if (pkt.dst && pkt.dst.type === RTN_BROADCAST) return dp.drop(pkt, ns, inDev, "no socket for broadcast datagram");
    dp.drop(pkt, ns, inDev, `no socket for UDP port ${pkt.dport}: port unreachable`);
    icmpSend(dp, ns, pkt, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, inDev);
    return;
  }
  if (dp.tracer) dp.trace(pkt, ns, inDev, "socket", `UDP listener ${formatIPv4(l.addr)}:${l.port} answers`);
  // The server replies from the address the datagram was sent to (IP_PKTINFO).
  const reply = datagram(ns, pkt.daddr, pkt.dport, pkt.saddr, pkt.sport, {
    kind: "response",
    server: ns.name,
    clientIp: pkt.saddr,
    clientPort: pkt.sport,
  });
  const err = routeLocal(dp, ns, reply);
  if (err) return dp.drop(reply, ns, null, `no route back to ${formatIPv4(pkt.saddr)}`);
  ipLocalOut(dp, ns, reply);
}

// __udp4_lib_err(): icmp_err_convert() makes only port and protocol unreachable fatal;
// net/host unreachable are soft errors a socket without IP_RECVERR never sees.
export function udpErr(dp: Dataplane, ns: NetnsView, icmp: Packet): void {
  const q = icmp.quoted!;
  const client = dp.state(ns).sockets.udpClients.get(q.sport);
  if (!client || client.outcome !== "pending" || icmp.icmpType !== ICMP_DEST_UNREACH) return;
  if (icmp.icmpCode !== ICMP_PORT_UNREACH && icmp.icmpCode !== 2) {
    if (dp.tracer) dp.trace(icmp, ns, null, "socket", `UDP socket ignores ICMP unreachable code ${icmp.icmpCode} (a soft error)`);
    return;
  }
  client.outcome = "refused";
  client.error = "Connection refused";
}
