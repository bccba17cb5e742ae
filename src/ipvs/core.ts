// The IPVS packet path (ip_vs_core.c): requests scheduled at LOCAL_IN / LOCAL_OUT,
// replies of NAT connections rewritten at LOCAL_IN / FORWARD / LOCAL_OUT, and the
// transmitters (ip_vs_xmit.c) for NAT and direct routing.
import type { Packet } from "../wire/packet.ts";
import { ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, RTN_LOCAL, TCP_SYN, TCP_ACK, TCP_RST } from "../wire/packet.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import { NF_ACCEPT, NF_DROP, NF_STOLEN, type HookState, type Verdict } from "../dataplane/hooks.ts";
import { routeOutput } from "../dataplane/route.ts";
import { ipLocalOut } from "../dataplane/ip_output.ts";
import { icmpSend } from "../dataplane/icmp.ts";
import type { Conn } from "../netfilter/conntrack.ts";
import { IP_CT_IS_REPLY, IP_CT_UNTRACKED, IPS_CONFIRMED } from "../netfilter/conntrack.ts";
import { bindDest, IP_VS_CONN_F_NFCT, IP_VS_CONN_F_NOOUTPUT, IP_VS_CONN_F_TEMPLATE, type IpvsConn, tcpStateTransition, udpRefresh, unbindDest } from "./conn.ts";
import { IP_VS_DEST_F_AVAILABLE, IP_VS_DEST_F_OVERLOAD, IP_VS_SVC_F_PERSISTENT, type IpvsDest, type SchedPacket } from "./types.ts";
import type { NetnsIpvs, IpvsRuntime, IpvsServiceRt } from "./runtime.ts";
import { maskOf } from "../wire/ipv4.ts";

function isIcmpError(pkt: Packet): boolean {
  return pkt.proto === IPPROTO_ICMP && (pkt.icmpType === ICMP_DEST_UNREACH || pkt.icmpType === 11 || pkt.icmpType === 4 || pkt.icmpType === 12);
}

function ported(proto: number): boolean {
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === 132;
}

// ip_vs_bind_dest(): reaching the upper threshold marks the destination overloaded.
export function overloadOnBind(d: IpvsDest): void {
  if (d.uThreshold && d.activeConns + d.inactConns >= d.uThreshold) d.flags |= IP_VS_DEST_F_OVERLOAD;
}

// ip_vs_unbind_dest(): below the lower threshold (or 3/4 of the upper one) it is not any more.
export function overloadOnUnbind(d: IpvsDest): void {
  const total = d.activeConns + d.inactConns;
  if (d.lThreshold) {
    if (total < d.lThreshold) d.flags &= ~IP_VS_DEST_F_OVERLOAD;
  } else if (d.uThreshold) {
    if (total * 4 < d.uThreshold * 3) d.flags &= ~IP_VS_DEST_F_OVERLOAD;
  } else d.flags &= ~IP_VS_DEST_F_OVERLOAD;
}

/**
 * ip_vs_conn_expire(): a template whose timer fires while it still controls connections
 * (n_control) is re-armed for another full timeout ("expire_later"), lazily here.
 */
export function templateTimer(t: IpvsConn, now: number): void {
  while (t.expires <= now && t.controlled && t.timeoutMs > 0) {
    let live = false;
    for (const c of t.controlled) if (c.expires > t.expires) live = true;
    if (!live) return;
    t.expires += t.timeoutMs;
  }
}

export class IpvsCore {
  /** The packet as the schedulers read it: one object filled per scheduling (the kernel hands them the skb). */
  private readonly schedPkt: SchedPacket = { saddr: 0, daddr: 0, sport: 0, dport: 0, proto: 0, pkt: null, now: 0 };

  constructor(private readonly rt: IpvsRuntime) {}

  private schedule(svc: IpvsServiceRt, pkt: Packet): IpvsDest | null {
    const p = this.schedPkt;
    p.saddr = pkt.saddr;
    p.daddr = pkt.daddr;
    p.sport = pkt.sport;
    p.dport = pkt.dport;
    p.proto = pkt.proto;
    p.pkt = pkt;
    p.now = this.rt.now();
    const dest = svc.scheduler.schedule(svc, p);
    p.pkt = null;
    return dest;
  }

  private newConn(st: NetnsIpvs, svc: IpvsServiceRt, pkt: Packet, dest: IpvsDest, control: IpvsConn | null): IpvsConn {
    const now = this.rt.now();
    const c: IpvsConn = {
      proto: pkt.proto,
      caddr: pkt.saddr,
      cport: pkt.sport,
      vaddr: pkt.daddr,
      vport: pkt.dport,
      daddr: dest.addr,
      // A destination port 0 keeps the client's destination port (fwmark services).
      dport: dest.port || pkt.dport,
      fwd: dest.fwd,
      flags: (dest.fwd !== "masq" ? IP_VS_CONN_F_NOOUTPUT : 0) | (this.rt.sysctl(st.name, "conntrack") ? IP_VS_CONN_F_NFCT : 0),
      state: 0,
      expires: now + 3000,
      timeoutMs: 3000,
      dest: null,
      svc,
      control,
      controlled: null,
      nfct: null,
      listPrev: null,
      listNext: null,
      hashed: false,
    };
    if (control) (control.controlled ??= new Set()).add(c);
    bindDest(c, dest);
    overloadOnBind(dest);
    st.conns.add(c);
    dest.stats.conns++;
    svc.stats.conns++;
    return c;
  }

  // ip_vs_sched_persist(): a template per client (masked by -M) pins it to one destination.
  private schedulePersist(st: NetnsIpvs, svc: IpvsServiceRt, pkt: Packet): { dest: IpvsDest; tmpl: IpvsConn } | null {
    const now = this.rt.now();
    const caddr = (pkt.saddr & maskOf(svc.netmaskLen)) >>> 0;
    const vport = svc.fwmark ? 0 : pkt.dport;
    const vaddr = svc.fwmark ? svc.fwmark : pkt.daddr;
    let tmpl = st.conns.template(pkt.proto, caddr, vaddr, vport);
    if (tmpl) templateTimer(tmpl, now);
    if (tmpl && tmpl.expires <= now) {
      this.expire(st, tmpl);
      tmpl = undefined;
    }
    if (tmpl && (!tmpl.dest || !(tmpl.dest.flags & IP_VS_DEST_F_AVAILABLE) || (tmpl.dest.weight === 0 && this.rt.sysctl(st.name, "expire_quiescent_template")))) {
      // ip_vs_check_template(): the template is invalidated, re-hashed with ports 65535 so
      // that no lookup finds it, and left to its timer (-Lc still shows it).
      st.conns.invalidateTemplate(tmpl);
      tmpl = undefined;
    }
    if (tmpl) {
      tmpl.expires = now + svc.timeout * 1000;
      return { dest: tmpl.dest!, tmpl };
    }
    const dest = this.schedule(svc, pkt);
    if (!dest) return null;
    const t: IpvsConn = {
      proto: pkt.proto,
      caddr,
      cport: 0,
      vaddr,
      vport,
      daddr: dest.addr,
      dport: dest.port,
      fwd: dest.fwd,
      flags: IP_VS_CONN_F_TEMPLATE,
      state: 0,
      expires: now + svc.timeout * 1000,
      timeoutMs: svc.timeout * 1000,
      dest: null,
      svc,
      control: null,
      controlled: new Set(),
      nfct: null,
      listPrev: null,
      listNext: null,
      hashed: false,
    };
    bindDest(t, dest);
    st.conns.add(t);
    return { dest, tmpl: t };
  }

  expire(st: NetnsIpvs, c: IpvsConn): void {
    c.control?.controlled?.delete(c);
    const d = c.dest;
    unbindDest(c);
    if (d) overloadOnUnbind(d);
    st.conns.remove(c);
  }

  /** ip_vs_in_hook(): requests. */
  request(ns: string, pkt: Packet, hs: HookState): Verdict {
    if (pkt.ipvsProperty || !ported(pkt.proto)) return NF_ACCEPT;
    const st = this.rt.state(ns);
    const now = this.rt.now();
    const dp = this.rt.dp();
    let c = st.conns.inGet(pkt.proto, pkt.saddr, pkt.sport, pkt.daddr, pkt.dport);
    if (c && c.expires <= now) {
      this.expire(st, c);
      c = undefined;
    }
    const syn = pkt.proto === IPPROTO_TCP && (pkt.tcpFlags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN;
    if (c && syn && c.state === 5 && this.rt.sysctl(ns, "conn_reuse_mode") & 1) {
      // conn_reuse_mode: a SYN on a TIME_WAIT connection is a new connection; schedule again.
      this.expire(st, c);
      c = undefined;
    }
    if (c && (!c.dest || !(c.dest.flags & IP_VS_DEST_F_AVAILABLE)) && this.rt.sysctl(ns, "expire_nodest_conn")) {
      this.expire(st, c);
      hs.reason = "IPVS: the connection's destination was removed (expire_nodest_conn)";
      return NF_DROP;
    }
    if (!c) {
      const svc = this.rt.lookupService(st, pkt.proto, pkt.daddr, pkt.dport, pkt.mark);
      if (!svc) return NF_ACCEPT;
      // ip_vs_try_to_schedule(): TCP connections start with a SYN (sloppy_tcp=0).
      if (pkt.proto === IPPROTO_TCP && !syn) return NF_ACCEPT;
      const persist = svc.flags & IP_VS_SVC_F_PERSISTENT ? this.schedulePersist(st, svc, pkt) : null;
      const dest = persist ? persist.dest : svc.flags & IP_VS_SVC_F_PERSISTENT ? null : this.schedule(svc, pkt);
      if (!dest) {
        // ip_vs_leave(): no destination: ICMP port unreachable to the client, drop.
        if (dp.tracer) dp.trace(pkt, ns, null, "ipvs", `${svc.label()} scheduler ${svc.schedName}: no destination available`);
        const nsv = this.rt.view(ns);
        if (nsv) icmpSend(dp, nsv, pkt, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, hs.inDev);
        hs.reason = "IPVS: no destination available";
        return NF_DROP;
      }
      c = this.newConn(st, svc, pkt, dest, persist ? persist.tmpl : null);
      if (dp.tracer) dp.trace(pkt, ns, null, "ipvs", `${svc.label()} scheduler ${svc.schedName} picked ${formatIPv4(dest.addr)}:${dest.port} (${dest.fwd}); new connection`);
    } else if (dp.tracer) dp.trace(pkt, ns, null, "ipvs", `existing connection to ${formatIPv4(c.daddr)}:${c.dport}`);
    if (c.proto === IPPROTO_TCP) tcpStateTransition(c, 0, pkt.tcpFlags, this.rt.timeouts(ns), now);
    else udpRefresh(c, this.rt.timeouts(ns), now);
    if (c.dest) {
      c.dest.stats.inpkts++;
      c.dest.stats.inbytes += pkt.len;
    }
    if (c.svc) {
      c.svc.stats.inpkts++;
      c.svc.stats.inbytes += pkt.len;
    }
    return this.xmit(ns, c, pkt, hs);
  }

  // ip_vs_notrack() without vs.conntrack, else ip_vs_update_conntrack(skb, cp, outin):
  // only an unconfirmed entry of a NAT connection, seen in its original direction, has
  // its reply tuple altered (to come from the real server, or to go back to the VIP).
  private conntrackFor(c: IpvsConn, pkt: Packet, outin: boolean): void {
    const ct = pkt.nfct as Conn | null;
    if (!(c.flags & IP_VS_CONN_F_NFCT)) {
      pkt.nfct = null;
      pkt.ctinfo = IP_CT_UNTRACKED;
      return;
    }
    if (!ct || ct.status & IPS_CONFIRMED || c.fwd !== "masq" || pkt.ctinfo >= IP_CT_IS_REPLY) return;
    // nf_conntrack_alter_reply()
    // In place, as the kernel does: the entry is unconfirmed, so in no hash chain yet.
    const r = ct.tuple[1];
    if (outin) {
      r.src = c.daddr;
      r.sport = c.dport;
    } else {
      r.dst = c.vaddr;
      r.dport = c.vport;
    }
    if (outin) c.nfct = ct;
  }

  private xmit(ns: string, c: IpvsConn, pkt: Packet, hs: HookState): Verdict {
    const dp = this.rt.dp();
    const nsv = this.rt.view(ns);
    if (!nsv) return NF_DROP;
    if (c.fwd === "tunnel") {
      hs.reason = "IPVS tunnelling (IPIP) is not modelled by pktpath yet";
      return NF_DROP;
    }
    const masq = c.fwd === "masq";
    if (masq) {
      // ip_vs_nat_xmit(): rewrite the destination to the real server.
      pkt.daddr = c.daddr;
      pkt.dport = c.dport;
    }
    const r = routeOutput(nsv, c.daddr, 0);
    if (!r.dst) {
      hs.reason = `IPVS: no route to real server ${formatIPv4(c.daddr)}`;
      return NF_DROP;
    }
    this.conntrackFor(c, pkt, true);
    pkt.ipvsProperty = true;
    if (r.dst.type === RTN_LOCAL) {
      // The real server is this host: go on with local delivery.
      if (dp.tracer) dp.trace(pkt, ns, null, "ipvs", `${masq ? "NAT" : "DR"} to local ${formatIPv4(c.daddr)}:${c.dport}`);
      pkt.dst = null;
      return NF_ACCEPT;
    }
    pkt.dst = r.dst; // routeOutput() gives a fresh dst each call
    if (dp.tracer) dp.trace(pkt, ns, null, "ipvs", `${masq ? "NAT: destination rewritten to" : "DR: frame sent to"} ${formatIPv4(c.daddr)}:${c.dport} via ${nsv.byId.get(r.dst.dev)?.name}`);
    // ip_vs_send_or_cont(): out through LOCAL_OUT with ipvs_property set.
    ipLocalOut(dp, nsv, pkt);
    return NF_STOLEN;
  }

  /** ip_vs_out_hook(): replies of NAT connections get the virtual address back. */
  reply(ns: string, pkt: Packet, hs: HookState): Verdict {
    if (pkt.ipvsProperty) return NF_ACCEPT;
    const st = this.rt.state(ns);
    if (isIcmpError(pkt) && pkt.quoted && ported(pkt.quoted.proto)) {
      // ip_vs_out_icmp(): an error about a NATed connection, from the real server.
      const q = pkt.quoted;
      const c = st.conns.outGet(q.proto, q.daddr, q.dport, q.saddr, q.sport);
      if (!c || c.fwd !== "masq") return NF_ACCEPT;
      pkt.saddr = c.vaddr;
      q.daddr = c.vaddr;
      q.dport = c.vport;
      pkt.ipvsProperty = true;
      return NF_ACCEPT;
    }
    if (!ported(pkt.proto)) return NF_ACCEPT;
    const c = st.conns.outGet(pkt.proto, pkt.saddr, pkt.sport, pkt.daddr, pkt.dport);
    if (!c) return NF_ACCEPT;
    const now = this.rt.now();
    if (c.expires <= now) {
      this.expire(st, c);
      return NF_ACCEPT;
    }
    // handle_response(): a NAT reply's source becomes the virtual service again; a DR
    // reply the director happens to see (bridged past its FORWARD hook) only counts.
    if (c.fwd === "masq") {
      pkt.saddr = c.vaddr;
      pkt.sport = c.vport;
    }
    if (c.proto === IPPROTO_TCP) tcpStateTransition(c, 1, pkt.tcpFlags, this.rt.timeouts(ns), now);
    else udpRefresh(c, this.rt.timeouts(ns), now, 1);
    if (c.dest) {
      c.dest.stats.outpkts++;
      c.dest.stats.outbytes += pkt.len;
    }
    if (c.svc) {
      c.svc.stats.outpkts++;
      c.svc.stats.outbytes += pkt.len;
    }
    pkt.ipvsProperty = true;
    this.conntrackFor(c, pkt, false);
    const dp = this.rt.dp();
    if (dp.tracer) dp.trace(pkt, ns, hs.inDev ?? hs.outDev, "ipvs", c.fwd === "masq" ? `reply: source rewritten to ${formatIPv4(c.vaddr)}:${c.vport}` : "reply of a direct-routing connection: counted, left as it is");
    return NF_ACCEPT;
  }
}
