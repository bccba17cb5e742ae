// Ping sockets: echo requests out, echo replies and ICMP errors back by identifier.
import type { Packet } from "../wire/packet.ts";
import { blankPacket, ICMP_DEST_UNREACH, ICMP_ECHO, IPPROTO_ICMP } from "../wire/packet.ts";
import type { Dataplane } from "./dataplane.ts";
import type { NetnsView } from "./view.ts";
import type { ClientCtx } from "./sockets.ts";
import { ipLocalOut, routeLocal } from "./ip_output.ts";

export function pingSend(dp: Dataplane, ns: NetnsView, daddr: number, id: number, seq: number, client: ClientCtx): string | null {
  const p = blankPacket();
  p.proto = IPPROTO_ICMP;
  p.icmpType = ICMP_ECHO;
  p.icmpId = id;
  p.icmpSeq = seq;
  p.daddr = daddr;
  p.ttl = ns.defaultTtl;
  p.len = 84;
  const err = routeLocal(dp, ns, p);
  if (err) return err;
  dp.state(ns).sockets.pingClients.set(id, client);
  ipLocalOut(dp, ns, p);
  return null;
}

export function pingRcv(dp: Dataplane, ns: NetnsView, pkt: Packet): void {
  const client = dp.state(ns).sockets.pingClients.get(pkt.icmpId);
  if (!client) return;
  client.replies++;
  if (client.outcome === "pending" || client.outcome === "unreachable") client.outcome = "reply";
}

export function pingErr(dp: Dataplane, ns: NetnsView, icmp: Packet): void {
  const client = dp.state(ns).sockets.pingClients.get(icmp.quoted!.sport);
  if (!client || client.outcome !== "pending") return;
  if (icmp.icmpType === ICMP_DEST_UNREACH) {
    client.outcome = "unreachable";
    client.error = "Destination Host Unreachable";
  }
}
