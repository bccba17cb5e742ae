// br_netfilter (net/bridge/br_netfilter_hooks.c): with bridge-nf-call-iptables=1,
// bridged IPv4 frames go through the IPv4 PREROUTING, FORWARD and POSTROUTING hooks
// of the bridge's namespace, with the bridge as the logical device and the ports as
// physdev. A DNAT in PREROUTING re-routes the frame (bridged DNAT or up the stack).
import type { Dst, Packet } from "../wire/packet.ts";
import { ETH_P_IP, RTN_LOCAL } from "../wire/packet.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import type { Dataplane } from "./dataplane.ts";
import type { LinkView, NetnsView } from "./view.ts";
import { Hook, NF_ACCEPT, NF_BR_PRI_BRNF, NF_STOLEN, NO_OPS, type HookProvider, type HookState, type NfHookOps } from "./hooks.ts";
import { brForwardFinish, brHandleFrameFinish, brXmitPort } from "./bridge.ts";
import { routeInput } from "./route.ts";
import { neighOutput, NUD_PERMANENT, NUD_REACHABLE, NUD_STALE } from "./neigh.ts";

interface BrnfState {
  /** The destination before PREROUTING ran (nf_bridge->ipv4_daddr). */
  daddr: WeakMap<Packet, number>;
}

function portOf(ns: NetnsView, id: number): LinkView | null {
  return ns.byId.get(id) ?? null;
}

export function brNetfilterProvider(dp: Dataplane): HookProvider {
  const st: BrnfState = { daddr: new WeakMap() };

  // br_nf_pre_routing_finish()
  const preRoutingFinish = (d: Dataplane, ns: NetnsView, pkt: Packet, br: LinkView | null): void => {
    const port = portOf(ns, pkt.physIn);
    if (!port || !br) return d.drop(pkt, ns, br, "br_netfilter: ingress port vanished");
    pkt.brnfDone = true;
    const before = st.daddr.get(pkt) ?? pkt.daddr;
    if (pkt.daddr !== before) {
      pkt.dst = null;
      const v = routeInput(ns, pkt, br);
      const dst = pkt.dst as Dst | null;
      if (!v.ok || !dst) return d.drop(pkt, ns, br, `br_netfilter: no route to DNAT destination ${formatIPv4(pkt.daddr)}: ${v.reason}`);
      // A local destination's input route leaves through lo (ip_rt_get_dev), never the bridge.
      if (dst.type !== RTN_LOCAL && dst.dev === br.id) {
        // bridged_dnat: the new destination is on this bridge; find its MAC and bridge on.
        const e = d.state(ns).neigh.get(br.id, dst.gw);
        if (d.tracer) d.trace(pkt, ns, br, "bridge", `br_netfilter: DNAT to ${formatIPv4(pkt.daddr)} stays on the bridge`);
        if (e && e.state & (NUD_REACHABLE | NUD_STALE | NUD_PERMANENT)) {
          pkt.ethDst = e.mac;
          return brHandleFrameFinish(d, ns, pkt, port);
        }
        pkt.bridgedDnat = true;
        return neighOutput(d, br, dst.gw, pkt);
      }
      // Routed elsewhere: up the stack through the bridge device.
      pkt.ethDst = br.cfg.mac;
      pkt.brHost = true;
    } else {
      pkt.dst = null;
    }
    brHandleFrameFinish(d, ns, pkt, port);
  };

  const preRouting = (pkt: Packet, hs: HookState): 0 | 1 | 2 => {
    if (pkt.ethType !== ETH_P_IP || !hs.inDev || !hs.inDev.master) return NF_ACCEPT;
    const br = hs.inDev.master;
    st.daddr.set(pkt, pkt.daddr);
    dp.nfHook(Hook.PreRouting, br.ns, pkt, br, null, preRoutingFinish);
    return NF_STOLEN;
  };

  // br_nf_forward_ip(): FORWARD with the bridge as in and out device.
  const forward = (pkt: Packet, hs: HookState): 0 | 1 | 2 => {
    if (pkt.ethType !== ETH_P_IP || !hs.outDev || !hs.outDev.master) return NF_ACCEPT;
    const br = hs.outDev.master;
    const to = hs.outDev;
    const ingress = hs.inDev;
    dp.nfHook(Hook.Forward, br.ns, pkt, br, br, (d, ns, p) => brForwardFinish(d, ns, p, ingress, to));
    return NF_STOLEN;
  };

  // br_nf_post_routing(): only frames that came in through a port (nf_bridge info).
  const postRouting = (pkt: Packet, hs: HookState): 0 | 1 | 2 => {
    if (pkt.ethType !== ETH_P_IP || !pkt.physIn || !hs.outDev || !hs.outDev.master) return NF_ACCEPT;
    const br = hs.outDev.master;
    const to = hs.outDev;
    dp.nfHook(Hook.PostRouting, br.ns, pkt, null, br, (d, ns, p) => brXmitPort(d, ns, p, null, to));
    return NF_STOLEN;
  };

  const ops: NfHookOps[] = [
    { hook: Hook.BrPreRouting, priority: NF_BR_PRI_BRNF, name: "br_netfilter", fn: preRouting },
    { hook: Hook.BrForward, priority: -1, name: "br_netfilter", fn: forward },
    { hook: Hook.BrPostRouting, priority: 2147483647, name: "br_netfilter", fn: postRouting },
  ];
  return {
    name: "br_netfilter",
    hookOps(ns, config) {
      const nsc = config.netns[ns];
      const on = !!config.modules["br_netfilter"] && (nsc?.sysctl["net.bridge.bridge-nf-call-iptables"] ?? "1") === "1";
      return on ? ops : NO_OPS;
    },
  };
}
