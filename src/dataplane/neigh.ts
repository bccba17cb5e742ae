// Neighbours and ARP (net/core/neighbour.c, net/ipv4/arp.c): resolution with queued
// packets, mcast_solicit probes one retrans_time apart, arp_ignore / arp_announce.
import type { Packet } from "../wire/packet.ts";
import { ARPOP_REPLY, ARPOP_REQUEST, blankPacket, ETH_P_ARP, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH } from "../wire/packet.ts";
import { MAC_BROADCAST } from "../wire/mac.ts";
import { formatIPv4, inPrefix, isLoopback, isMulticast } from "../wire/ipv4.ts";
import { formatMac } from "../wire/mac.ts";
import type { Dataplane } from "./dataplane.ts";
import type { LinkView, NetnsView } from "./view.ts";
import { devXmit } from "./dev.ts";
import { inetSelectAddr } from "./route.ts";
import { icmpSend } from "./icmp.ts";

export const NUD_INCOMPLETE = 0x01;
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_FAILED = 0x20;
export const NUD_PERMANENT = 0x80;

export const RETRANS_TIME_MS = 1000;
export const MCAST_SOLICIT = 3;
export const REACHABLE_TIME_MS = 30000;
/** unres_qlen: packets queued while resolving (default 101 by bytes; a few suffice here). */
const UNRES_QLEN = 101;

export interface NeighEntry {
  ip: number;
  dev: number;
  mac: number;
  state: number;
  queue: Packet[];
  probes: number;
  confirmed: number;
}

export class NeighTable {
  readonly byDev = new Map<number, Map<number, NeighEntry>>();

  get(dev: number, ip: number): NeighEntry | undefined {
    return this.byDev.get(dev)?.get(ip);
  }

  create(dev: number, ip: number): NeighEntry {
    let m = this.byDev.get(dev);
    if (!m) this.byDev.set(dev, (m = new Map()));
    const e: NeighEntry = { ip, dev, mac: 0, state: NUD_INCOMPLETE, queue: [], probes: 0, confirmed: 0 };
    m.set(ip, e);
    return e;
  }

  entries(): NeighEntry[] {
    const out: NeighEntry[] = [];
    for (const m of this.byDev.values()) out.push(...m.values());
    return out;
  }
}

/** The state a listing shows now: REACHABLE decays to STALE after reachable_time. */
export function neighStateNow(e: NeighEntry, now: number): number {
  if (e.state === NUD_REACHABLE && now - e.confirmed >= REACHABLE_TIME_MS) return NUD_STALE;
  return e.state;
}

// neigh_resolve_output(): send at once when the entry is usable, else queue and solicit.
export function neighOutput(dp: Dataplane, dev: LinkView, nexthop: number, pkt: Packet): void {
  const table = dp.state(dev.ns).neigh;
  let e = table.get(dev.id, nexthop);
  if (e && (e.state & (NUD_REACHABLE | NUD_STALE | NUD_PERMANENT))) {
    pkt.ethSrc = dev.cfg.mac;
    pkt.ethDst = e.mac;
    devXmit(dp, dev, pkt);
    return;
  }
  if (!e || e.state === NUD_FAILED) {
    e = table.create(dev.id, nexthop);
  }
  if (e.queue.length >= UNRES_QLEN) e.queue.shift();
  e.queue.push(pkt);
  if (dp.tracer) dp.trace(pkt, dev.ns, dev, "neigh", `${formatIPv4(nexthop)} unresolved: queued, ARP probe ${e.probes + 1}`);
  if (e.queue.length === 1 && e.probes === 0) arpSolicit(dp, dev, e, pkt);
}

// arp_solicit(): arp_announce picks the sender address of the request.
function arpSolicit(dp: Dataplane, dev: LinkView, e: NeighEntry, trigger: Packet): void {
  let saddr = trigger.saddr;
  const own = dev.ns.local.has(saddr);
  if (dev.arpAnnounce === 2 || !own) saddr = inetSelectAddr(dev.ns, dev, e.ip);
  else if (dev.arpAnnounce === 1 && !dev.cfg.addrs.some((a) => inPrefix(e.ip, (a.addr & ~(2 ** (32 - a.plen) - 1)) >>> 0, a.plen) && a.addr === saddr)) {
    saddr = inetSelectAddr(dev.ns, dev, e.ip);
  }
  sendArpProbe(dp, dev, e, saddr);
}

function sendArpProbe(dp: Dataplane, dev: LinkView, e: NeighEntry, saddr: number): void {
  e.probes++;
  const req = arpPacket(ARPOP_REQUEST, dev.cfg.mac, saddr, 0, e.ip);
  req.ethDst = MAC_BROADCAST;
  devXmit(dp, dev, req);
  dp.sim.after(RETRANS_TIME_MS, () => neighTimer(dp, dev.id, e, saddr));
}

// neigh_timer_handler(): re-probe until mcast_solicit probes went unanswered, then FAILED.
function neighTimer(dp: Dataplane, devId: number, e: NeighEntry, saddr: number): void {
  if (e.state !== NUD_INCOMPLETE) return;
  const dev = dp.view.links.get(devId);
  if (dev && e.probes < MCAST_SOLICIT) {
    sendArpProbe(dp, dev, e, saddr);
    return;
  }
  e.state = NUD_FAILED;
  e.probes = 0;
  const queued = e.queue.splice(0, e.queue.length);
  if (!dev) return;
  dp.trace(null, dev.ns, dev, "neigh", `${formatIPv4(e.ip)} FAILED after ${MCAST_SOLICIT} probes`);
  // arp_error_report(): each queued packet gets ICMP host unreachable back to its sender.
  for (const p of queued) {
    dp.drop(p, dev.ns, dev, `neighbour ${formatIPv4(e.ip)} failed to resolve`);
    icmpSend(dp, dev.ns, p, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, null);
  }
}

export function arpPacket(op: number, sha: number, spa: number, tha: number, tpa: number): Packet {
  const p = blankPacket();
  p.ethType = ETH_P_ARP;
  p.ethSrc = sha;
  p.ethDst = tha;
  p.arpOp = op;
  p.arpSha = sha;
  p.arpSpa = spa;
  p.arpTha = tha;
  p.arpTpa = tpa;
  return p;
}

// arp_ignore(): whether to stay silent for a request for tip arriving on dev.
function arpIgnore(dev: LinkView, sip: number, tip: number): boolean {
  switch (dev.arpIgnore) {
    case 0:
      return false;
    case 1:
      return !dev.cfg.addrs.some((a) => a.addr === tip);
    case 2:
    case 3:
      return !dev.cfg.addrs.some((a) => a.addr === tip && inPrefix(sip, (a.addr & ~(2 ** (32 - a.plen) - 1)) >>> 0, a.plen));
    default:
      // 8: do not reply; 4-7 (reserved) and any other value: reply.
      return dev.arpIgnore === 8;
  }
}

function neighUpdate(dp: Dataplane, dev: LinkView, ip: number, mac: number, state: number, create: boolean): void {
  const table = dp.state(dev.ns).neigh;
  let e = table.get(dev.id, ip);
  if (!e) {
    if (!create) return;
    e = table.create(dev.id, ip);
  }
  if (e.state === NUD_PERMANENT) return;
  const wasIncomplete = e.state === NUD_INCOMPLETE;
  e.mac = mac;
  if (state === NUD_REACHABLE || e.state !== NUD_REACHABLE || e.mac !== mac) e.state = state;
  if (state === NUD_REACHABLE) e.confirmed = dp.now;
  e.probes = 0;
  if (wasIncomplete && e.queue.length) {
    const queued = e.queue.splice(0, e.queue.length);
    for (const p of queued) {
      p.ethSrc = dev.cfg.mac;
      p.ethDst = mac;
      devXmit(dp, dev, p);
    }
  }
}

// arp_process()
export function arpRcv(dp: Dataplane, dev: LinkView, pkt: Packet): void {
  const ns: NetnsView = dev.ns;
  const sip = pkt.arpSpa;
  const tip = pkt.arpTpa;
  if (isMulticast(tip) || (!dev.routeLocalnet && isLoopback(tip))) return dp.drop(pkt, ns, dev, "ARP for a martian target");
  if (pkt.arpOp === ARPOP_REQUEST) {
    const local = ns.local.has(tip);
    if (local && !ns.local.has(sip)) {
      if (arpIgnore(dev, sip, tip)) {
        dp.trace(pkt, ns, dev, "arp", `not answering for ${formatIPv4(tip)}: arp_ignore=${dev.arpIgnore}`);
        neighUpdate(dp, dev, sip, pkt.arpSha, NUD_STALE, false);
        return;
      }
      neighUpdate(dp, dev, sip, pkt.arpSha, NUD_STALE, true);
      const reply = arpPacket(ARPOP_REPLY, dev.cfg.mac, tip, pkt.arpSha, sip);
      dp.trace(pkt, ns, dev, "arp", `reply ${formatIPv4(tip)} is-at ${formatMac(dev.cfg.mac)}`);
      devXmit(dp, dev, reply);
      return;
    }
    neighUpdate(dp, dev, sip, pkt.arpSha, NUD_STALE, false);
    return;
  }
  if (pkt.arpOp === ARPOP_REPLY) {
    const e = dp.state(ns).neigh.get(dev.id, sip);
    if (!e) return dp.drop(pkt, ns, dev, "unsolicited ARP reply (arp_accept=0)");
    dp.trace(pkt, ns, dev, "arp", `${formatIPv4(sip)} resolved to ${formatMac(pkt.arpSha)}`);
    neighUpdate(dp, dev, sip, pkt.arpSha, NUD_REACHABLE, false);
  }
}

/** dst_confirm_neigh(): forward progress on a connection confirms its next hop. */
export function neighConfirm(dp: Dataplane, ns: NetnsView, dev: number, nexthop: number): void {
  const e = dp.state(ns).neigh.get(dev, nexthop);
  if (!e || !(e.state & (NUD_REACHABLE | NUD_STALE))) return;
  e.state = NUD_REACHABLE;
  e.confirmed = dp.now;
}
