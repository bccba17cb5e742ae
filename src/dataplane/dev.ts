// Devices: dev_queue_xmit for each link kind and __netif_receive_skb's dispatch to the
// bridge, ARP and IPv4.
import type { Packet } from "../wire/packet.ts";
import { ETH_P_ARP, ETH_P_IP } from "../wire/packet.ts";
import { isMulticastMac } from "../wire/mac.ts";
import { describePacket } from "./trace.ts";
import type { Dataplane } from "./dataplane.ts";
import type { LinkView } from "./view.ts";
import { brDevXmit, brHandleFrame } from "./bridge.ts";
import { arpRcv } from "./neigh.ts";
import { ipRcv } from "./ip_input.ts";

// skb_scrub_packet(): crossing a veth drops the route, conntrack and IPVS marks.
function scrub(pkt: Packet, xnet: boolean): void {
  pkt.dst = null;
  pkt.nfct = null;
  pkt.ctinfo = 0;
  pkt.ipvsProperty = false;
  pkt.physIn = 0;
  pkt.physOut = 0;
  pkt.brnfDone = false;
  pkt.bridgedDnat = false;
  pkt.brHost = false;
  if (xnet) pkt.mark = 0;
}

export function devXmit(dp: Dataplane, dev: LinkView, pkt: Packet): void {
  if (dp.tracer) dp.trace(pkt, dev.ns, dev, "tx", describePacket(pkt));
  if (!dev.up) return dp.drop(pkt, dev.ns, dev, `${dev.name} is down`);
  switch (dev.cfg.kind) {
    case "veth": {
      // veth_xmit(): hand to the peer, which must exist and be up.
      const peer = dev.peer;
      if (!peer || !peer.up) return dp.drop(pkt, dev.ns, dev, `veth peer of ${dev.name} is down`);
      scrub(pkt, peer.ns !== dev.ns);
      dp.sim.enqueue(peer.id, pkt);
      return;
    }
    case "bridge":
      return brDevXmit(dp, dev, pkt);
    case "loopback":
      // loopback_xmit(): the route stays attached (skb_dst_force), so input routing is skipped.
      dp.sim.enqueue(dev.id, pkt);
      return;
    case "dummy":
      // dummy_xmit() frees every packet.
      return dp.drop(pkt, dev.ns, dev, "dummy device discards what it sends");
  }
}

// __netif_receive_skb_core(): rx_handler (bridge port) first, then the protocol handler.
export function netifReceive(dp: Dataplane, dev: LinkView, pkt: Packet): void {
  if (dp.tracer) dp.trace(pkt, dev.ns, dev, "rx", describePacket(pkt));
  if (!dev.up) return dp.drop(pkt, dev.ns, dev, `${dev.name} is down`);
  if (dev.master) return brHandleFrame(dp, dev, pkt);
  protocolReceive(dp, dev, pkt);
}

/**
 * Delivery to the stack of dev (also used by the bridge for frames passed up). A frame
 * a promiscuous bridge passes up keeps the pkt_type the bridge port gave it (hostFrame).
 */
export function protocolReceive(dp: Dataplane, dev: LinkView, pkt: Packet, hostFrame = false): void {
  if (dev.cfg.kind !== "loopback" && !hostFrame && pkt.ethDst !== dev.cfg.mac && !isMulticastMac(pkt.ethDst)) {
    // eth_type_trans(): PACKET_OTHERHOST; ip_rcv drops it.
    return dp.drop(pkt, dev.ns, dev, "frame addressed to another host (PACKET_OTHERHOST)");
  }
  if (pkt.ethType === ETH_P_ARP) {
    if (dev.cfg.kind === "loopback" || dev.cfg.kind === "dummy") return;
    return arpRcv(dp, dev, pkt);
  }
  if (pkt.ethType === ETH_P_IP) return ipRcv(dp, dev, pkt);
  dp.drop(pkt, dev.ns, dev, "unknown ethertype");
}
