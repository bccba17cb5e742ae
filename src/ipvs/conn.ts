// The IPVS connection table (ip_vs_conn.c) with TCP states and timeouts
// (ip_vs_proto_tcp.c), persistence templates, and ActiveConn/InActConn accounting.
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../wire/packet.ts";
import type { FwdMethod, IpvsDest, IpvsService } from "./types.ts";
import type { IpvsTimeouts } from "./config.ts";
import { tupleHash } from "../netfilter/conntrack.ts";
import { HashIndex } from "../netfilter/hashindex.ts";

export const IP_VS_CONN_F_INACTIVE = 0x0100;
export const IP_VS_CONN_F_TEMPLATE = 0x1000;
export const IP_VS_CONN_F_NOOUTPUT = 0x0400;
export const IP_VS_CONN_F_NFCT = 0x100000;
export const IP_VS_CONN_F_ONE_PACKET = 0x2000;

export const enum TcpS {
  None,
  Established,
  SynSent,
  SynRecv,
  FinWait,
  TimeWait,
  Close,
  CloseWait,
  LastAck,
  Listen,
  Synack,
}
export const TCP_STATE_NAMES = ["NONE", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "SYNACK"];

const S = { NO: 0, ES: 1, SS: 2, SR: 3, FW: 4, TW: 5, CL: 6, CW: 7, LA: 8, LI: 9, SA: 10 };
const { NO: sNO, ES: sES, SS: sSS, SR: sSR, FW: sFW, TW: sTW, CL: sCL, CW: sCW, LA: sLA, LI: sLI, SA: sSA } = S;
void sNO;
// ip_vs_proto_tcp.c tcp_states[]: [direction][event][state], events syn, fin, ack, rst.
const TCP_STATES: number[][][] = [
  // INPUT
  [
    [sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR],
    [sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW],
    [sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES],
    [sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR],
  ],
  // OUTPUT
  [
    [sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR],
    [sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW],
    [sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES],
    [sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL],
  ],
  // INPUT-ONLY (DR, TUN: the director sees the client's half only)
  [
    [sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR],
    [sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW],
    [sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES],
    [sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL],
  ],
];

// tcp_state_active_table[] (Linux 6.x): ESTABLISHED, SYN_SENT, SYN_RECV and SYNACK are active.
const TCP_ACTIVE = [false, true, true, true, false, false, false, false, false, false, true];

/** tcp_timeouts[] in seconds; ESTABLISHED, FIN_WAIT follow ipvsadm --set. */
function tcpTimeout(state: number, t: IpvsTimeouts): number {
  switch (state) {
    case sES:
      return t.tcp;
    case sFW:
      return t.tcpfin;
    case sSS:
    case sTW:
    case sLI:
    case sSA:
      return 120;
    case sSR:
    case sCW:
      return 60;
    case sLA:
      return 30;
    case sCL:
      return 10;
    default:
      return 2;
  }
}

export interface IpvsConn {
  proto: number;
  caddr: number;
  cport: number;
  vaddr: number;
  vport: number;
  daddr: number;
  dport: number;
  fwd: FwdMethod;
  flags: number;
  state: number;
  /** Absolute virtual time (ms). */
  expires: number;
  /** Timeout of the current state in ms (for the listing and refreshes). */
  timeoutMs: number;
  dest: IpvsDest | null;
  svc: IpvsService | null;
  /** The persistence template this connection came from. */
  control: IpvsConn | null;
  /** For a template: the connections it controls (cp->n_control). */
  controlled: Set<IpvsConn> | null;
  /** For a template: IP_VS_CTPL_S_ASSURED, once a connection it controls was established. */
  assured?: boolean;
  /** The netfilter conntrack entry, with net.ipv4.vs.conntrack=1. */
  nfct: object | null;
  /** The table's list of its connections, oldest first (for -Lc and expiry): neighbours, and whether it is in. */
  listPrev: IpvsConn | null;
  listNext: IpvsConn | null;
  hashed: boolean;
}

function inIs(c: IpvsConn, proto: number, caddr: number, cport: number, vaddr: number, vport: number): boolean {
  return c.caddr === caddr && c.cport === cport && c.vaddr === vaddr && c.vport === vport && c.proto === proto;
}

function outIs(c: IpvsConn, proto: number, daddr: number, dport: number, caddr: number, cport: number): boolean {
  const masq = c.fwd === "masq";
  return (masq ? c.daddr : c.vaddr) === daddr && (masq ? c.dport : c.vport) === dport && c.caddr === caddr && c.cport === cport && c.proto === proto;
}

/**
 * ip_vs_conn_tab: one hash entry per connection, keyed as ip_vs_conn_hashkey_conn() keys
 * it, by protocol and the client's address and port. Both directions look there: a
 * request by its source, a reply by its destination (ip_vs_conn_out_get hashes the
 * inverse), and the walk of that hash's entries compares the rest. Connections are also kept in a list in
 * creation order (what -Lc lists and expiry walks).
 */
export class IpvsConnTable {
  private readonly tab = new HashIndex<IpvsConn>();
  private readonly templates = new Map<string, IpvsConn>();
  private first: IpvsConn | null = null;
  private last: IpvsConn | null = null;
  private count = 0;

  /** ip_vs_conn_in_get(): client -> virtual service. */
  inGet(proto: number, caddr: number, cport: number, vaddr: number, vport: number): IpvsConn | undefined {
    const h = connHash(proto, caddr, cport);
    const tab = this.tab;
    for (let i = tab.find(h, h); i >= 0; i = tab.find(h, i + 1)) if (inIs(tab.at(i), proto, caddr, cport, vaddr, vport)) return tab.at(i);
    return undefined;
  }

  /** ip_vs_conn_out_get(): real server -> client (replies of NAT connections). */
  outGet(proto: number, daddr: number, dport: number, caddr: number, cport: number): IpvsConn | undefined {
    const h = connHash(proto, caddr, cport);
    const tab = this.tab;
    for (let i = tab.find(h, h); i >= 0; i = tab.find(h, i + 1)) if (outIs(tab.at(i), proto, daddr, dport, caddr, cport)) return tab.at(i);
    return undefined;
  }

  add(c: IpvsConn): void {
    if (c.hashed) return;
    c.hashed = true;
    c.listPrev = this.last;
    c.listNext = null;
    if (this.last) this.last.listNext = c;
    else this.first = c;
    this.last = c;
    this.count++;
    if (c.flags & IP_VS_CONN_F_TEMPLATE) {
      this.templates.set(templateKey(c.proto, c.caddr, c.vaddr, c.vport), c);
      return;
    }
    this.tab.add(connHash(c.proto, c.caddr, c.cport), c);
  }

  remove(c: IpvsConn): void {
    if (!c.hashed) return;
    c.hashed = false;
    if (c.listPrev) c.listPrev.listNext = c.listNext;
    else this.first = c.listNext;
    if (c.listNext) c.listNext.listPrev = c.listPrev;
    else this.last = c.listPrev;
    c.listPrev = c.listNext = null;
    this.count--;
    if (c.flags & IP_VS_CONN_F_TEMPLATE) {
      const k = templateKey(c.proto, c.caddr, c.vaddr, c.vport);
      if (this.templates.get(k) === c) this.templates.delete(k);
      return;
    }
    this.tab.delete(connHash(c.proto, c.caddr, c.cport), c);
  }

  /** ip_vs_check_template(): unhash, set cport 0 and vport/dport 65535, hash again (out of lookups' way). */
  invalidateTemplate(c: IpvsConn): void {
    if (c.vport === 0xffff) return;
    if (this.templates.get(templateKey(c.proto, c.caddr, c.vaddr, c.vport)) === c) this.templates.delete(templateKey(c.proto, c.caddr, c.vaddr, c.vport));
    c.cport = 0;
    c.vport = 0xffff;
    c.dport = 0xffff;
  }

  template(proto: number, caddr: number, vaddr: number, vport: number): IpvsConn | undefined {
    return this.templates.get(templateKey(proto, caddr, vaddr, vport));
  }

  /** Every connection and template, oldest first. */
  entries(): IpvsConn[] {
    const out: IpvsConn[] = [];
    for (let c = this.first; c; c = c.listNext) out.push(c);
    return out;
  }

  get size(): number {
    return this.count;
  }
}

// ip_vs_conn_hashkey(): protocol, client address and port.
function connHash(proto: number, caddr: number, cport: number): number {
  return tupleHash(caddr, cport, 0, 0, proto);
}

function templateKey(proto: number, caddr: number, vaddr: number, vport: number): string {
  return `${proto}:${caddr}:${vaddr}:${vport}`;
}

// ip_vs_bind_dest() / ip_vs_unbind_dest(): the destination's connection counters.
export function bindDest(c: IpvsConn, dest: IpvsDest): void {
  c.dest = dest;
  if (c.flags & IP_VS_CONN_F_TEMPLATE) dest.persistConns++;
  else if (c.flags & IP_VS_CONN_F_INACTIVE) dest.inactConns++;
  else dest.activeConns++;
}

export function unbindDest(c: IpvsConn): void {
  const d = c.dest;
  if (!d) return;
  if (c.flags & IP_VS_CONN_F_TEMPLATE) d.persistConns--;
  else if (c.flags & IP_VS_CONN_F_INACTIVE) d.inactConns--;
  else d.activeConns--;
  c.dest = null;
}

/** set_tcp_state(): one segment's effect; dir 0 = client to server, 1 = server to client. */
export function tcpStateTransition(c: IpvsConn, dir: number, flags: number, timeouts: IpvsTimeouts, now: number): void {
  const event = flags & TCP_RST ? 3 : flags & TCP_SYN ? 0 : flags & TCP_FIN ? 1 : flags & TCP_ACK ? 2 : -1;
  if (event < 0) return;
  let off = dir === 1 ? 1 : 0;
  if (c.flags & IP_VS_CONN_F_NOOUTPUT) {
    if (off === 1) c.flags &= ~IP_VS_CONN_F_NOOUTPUT;
    else off = 2;
  }
  const next = TCP_STATES[off]![event]![c.state]!;
  if (next !== c.state && c.dest) {
    // tcp_state_active(): the pre-established states count as active too (ActiveConn).
    const d = c.dest;
    if (!(c.flags & IP_VS_CONN_F_INACTIVE) && !TCP_ACTIVE[next]) {
      d.activeConns--;
      d.inactConns++;
      c.flags |= IP_VS_CONN_F_INACTIVE;
    } else if (c.flags & IP_VS_CONN_F_INACTIVE && TCP_ACTIVE[next]) {
      d.activeConns++;
      d.inactConns--;
      c.flags &= ~IP_VS_CONN_F_INACTIVE;
    }
  }
  // ip_vs_control_assure_ct(): an established connection assures its template.
  if (next === sES && c.control) c.control.assured = true;
  c.state = next;
  c.timeoutMs = tcpTimeout(next, timeouts) * 1000;
  c.expires = now + c.timeoutMs;
}

/** udp_state_transition(): every datagram refreshes the UDP timeout; a reply (dir 1) assures the template. */
export function udpRefresh(c: IpvsConn, timeouts: IpvsTimeouts, now: number, dir = 0): void {
  // ip_vs_control_assure_ct() on IP_VS_DIR_OUTPUT.
  if (dir === 1 && c.control) c.control.assured = true;
  c.timeoutMs = timeouts.udp * 1000;
  c.expires = now + c.timeoutMs;
}
