// The bridge (net/bridge): FDB learning, forwarding, flooding unknown unicast and
// broadcast, local delivery, and hairpin mode; the NF_BR_* hooks for br_netfilter.
import type { Packet } from "../wire/packet.ts";
import { clonePacket } from "../wire/packet.ts";
import { formatMac, isMulticastMac } from "../wire/mac.ts";
import type { Dataplane } from "./dataplane.ts";
import type { LinkView, NetnsView } from "./view.ts";
import { Hook } from "./hooks.ts";
import { devXmit, protocolReceive } from "./dev.ts";

export const FDB_AGEING_MS = 300_000;

/** A port forwards only when it and its bridge are up and it has carrier (BR_STATE_FORWARDING). */
function portForwarding(port: LinkView): boolean {
  return port.up && port.carrier && !!port.master && port.master.up;
}

// should_deliver(): never back out the ingress port unless it is in hairpin mode.
function shouldDeliver(to: LinkView, ingress: LinkView | null): boolean {
  return (to.cfg.hairpin || to !== ingress) && portForwarding(to);
}

function fdbFind(dp: Dataplane, br: LinkView, mac: number): LinkView | null {
  const e = dp.fdb.get(br.id)?.get(mac);
  if (!e) return null;
  if (dp.now - e.updated >= FDB_AGEING_MS) return null;
  return br.ns.byId.get(e.port) ?? null;
}

// br_fdb_update(): learn the source MAC on the ingress port (not our own MACs).
function fdbLearn(dp: Dataplane, br: LinkView, port: LinkView, mac: number): void {
  if (br.brLocalMacs!.has(mac) || isMulticastMac(mac)) return;
  let table = dp.fdb.get(br.id);
  if (!table) dp.fdb.set(br.id, (table = new Map()));
  const e = table.get(mac);
  if (e && e.port === port.id) {
    e.updated = dp.now;
    return;
  }
  table.set(mac, { port: port.id, updated: dp.now });
  if (dp.tracer) dp.trace(null, br.ns, br, "fdb", `learned ${formatMac(mac)} on ${port.name}`);
}

// br_handle_frame(): a frame arrives on a port; one addressed to the bridge (or to the
// port itself, by eth_type_trans) is PACKET_HOST from here on.
export function brHandleFrame(dp: Dataplane, port: LinkView, pkt: Packet): void {
  const br = port.master!;
  if (!portForwarding(port)) return dp.drop(pkt, port.ns, port, `bridge port ${port.name} is not forwarding`);
  pkt.physIn = port.id;
  pkt.brHost = pkt.ethDst === br.cfg.mac || pkt.ethDst === port.cfg.mac;
  dp.nfHook(Hook.BrPreRouting, br.ns, pkt, port, null, brHandleFrameFinish);
}

// br_handle_frame_finish(): local_rcv when the bridge device is IFF_PROMISC, so a frame
// forwarded (or flooded, or refused by should_deliver) is also passed up as a clone.
export function brHandleFrameFinish(dp: Dataplane, ns: NetnsView, pkt: Packet, port: LinkView | null): void {
  const ingress = port!;
  const br = ingress.master!;
  const promisc = br.cfg.promisc;
  fdbLearn(dp, br, ingress, pkt.ethSrc);
  if (isMulticastMac(pkt.ethDst)) {
    const up = clonePacket(pkt);
    brFlood(dp, br, pkt, ingress);
    passFrameUp(dp, ns, br, up, promisc);
    return;
  }
  if (br.brLocalMacs!.has(pkt.ethDst)) {
    if (dp.tracer) dp.trace(pkt, ns, br, "bridge", `${formatMac(pkt.ethDst)} is local: up to ${br.name}`);
    return passFrameUp(dp, ns, br, pkt, false);
  }
  const up = promisc ? clonePacket(pkt) : null;
  const to = fdbFind(dp, br, pkt.ethDst);
  if (!to) {
    if (dp.tracer) dp.trace(pkt, ns, br, "bridge", `${formatMac(pkt.ethDst)} unknown: flood`);
    brFlood(dp, br, pkt, ingress);
  } else if (!shouldDeliver(to, ingress)) {
    const why = to === ingress ? `${formatMac(pkt.ethDst)} is behind the ingress port ${to.name} and hairpin mode is off` : `port ${to.name} is not forwarding`;
    dp.drop(pkt, ns, br, why);
  } else {
    if (dp.tracer) dp.trace(pkt, ns, br, "bridge", `${formatMac(pkt.ethDst)} on ${to.name}${to === ingress ? " (hairpin)" : ""}`);
    brForward(dp, to, pkt, ingress);
  }
  if (up) {
    if (dp.tracer) dp.trace(up, ns, br, "bridge", `${br.name} is promiscuous: a copy goes up to its own stack`);
    passFrameUp(dp, ns, br, up, true);
  }
}

// br_pass_frame_up(): NF_BR_LOCAL_IN, then the bridge device receives it.
function passFrameUp(dp: Dataplane, ns: NetnsView, br: LinkView, pkt: Packet, promisc: boolean): void {
  // br_nf_local_in() (Linux 6.10+): a promiscuous copy leaves its conntrack entry behind.
  if (promisc && pkt.nfct) {
    pkt.nfct = null;
    pkt.ctinfo = 0;
  }
  dp.nfHook(Hook.BrLocalIn, ns, pkt, br, null, passUpFinish);
}
function passUpFinish(dp: Dataplane, _ns: NetnsView, pkt: Packet, br: LinkView | null): void {
  // br_netif_receive_skb(): no eth_type_trans again; the pkt_type of the port stays.
  protocolReceive(dp, br!, pkt, pkt.brHost);
}

// br_flood(): a copy out of every forwarding port but the ingress (unless hairpin).
function brFlood(dp: Dataplane, br: LinkView, pkt: Packet, ingress: LinkView | null): void {
  let last: LinkView | null = null;
  for (const port of br.ports) {
    if (!shouldDeliver(port, ingress)) continue;
    if (last) brForward(dp, last, clonePacket(pkt), ingress);
    last = port;
  }
  if (last) brForward(dp, last, pkt, ingress);
  else if (!ingress) dp.drop(pkt, br.ns, br, "no forwarding port to flood to");
}

// __br_forward(): NF_BR_FORWARD for bridged frames (NF_BR_LOCAL_OUT for our own), then out.
function brForward(dp: Dataplane, to: LinkView, pkt: Packet, ingress: LinkView | null): void {
  pkt.physOut = to.id;
  const hook = ingress ? Hook.BrForward : Hook.BrLocalOut;
  dp.nfHook(hook, to.master!.ns, pkt, ingress, to, brForwardFinish);
}
export function brForwardFinish(dp: Dataplane, ns: NetnsView, pkt: Packet, inDev: LinkView | null, to: LinkView | null): void {
  dp.nfHook(Hook.BrPostRouting, ns, pkt, inDev, to, brXmitPort);
}
export function brXmitPort(dp: Dataplane, _ns: NetnsView, pkt: Packet, _in: LinkView | null, to: LinkView | null): void {
  devXmit(dp, to!, pkt);
}

// br_dev_xmit(): the bridge device itself sends.
export function brDevXmit(dp: Dataplane, br: LinkView, pkt: Packet): void {
  if (pkt.bridgedDnat) {
    // br_nf_pre_routing_finish_bridge_slow(): a bridged-DNAT frame resolved its neighbour; go on bridging.
    pkt.bridgedDnat = false;
    const port = br.ns.byId.get(pkt.physIn);
    if (port && port.master === br) return brHandleFrameFinish(dp, br.ns, pkt, port);
  }
  if (isMulticastMac(pkt.ethDst)) return brFlood(dp, br, pkt, null);
  const to = fdbFind(dp, br, pkt.ethDst);
  if (!to) return brFlood(dp, br, pkt, null);
  if (!portForwarding(to)) return dp.drop(pkt, br.ns, br, `port ${to.name} is not forwarding`);
  brForward(dp, to, pkt, null);
}
