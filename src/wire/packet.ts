// The packet: a plain object with the header fields the dataplane reads.
// One shape for every packet so the hot path stays monomorphic.

export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;

export const IPPROTO_ICMP = 1;
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;

export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PROT_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
export const ICMP_NET_PROHIBITED = 9;
export const ICMP_HOST_PROHIBITED = 10;
export const ICMP_PKT_FILTERED = 13;

export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;

/** What an application put in a segment or datagram. */
export type Payload =
  | { kind: "request"; path: string }
  | { kind: "response"; server: string; clientIp: number; clientPort: number }
  | null;

/** The header of the datagram an ICMP error quotes (enough to find its socket). */
export interface QuotedHeader {
  saddr: number;
  daddr: number;
  proto: number;
  sport: number;
  dport: number;
}

export interface Packet {
  /** Unique per emulated host, for the trace. */
  id: number;
  ethSrc: number;
  ethDst: number;
  ethType: number;
  // ARP
  arpOp: number;
  arpSha: number;
  arpSpa: number;
  arpTha: number;
  arpTpa: number;
  // IPv4
  saddr: number;
  daddr: number;
  proto: number;
  ttl: number;
  len: number;
  // TCP / UDP
  sport: number;
  dport: number;
  tcpFlags: number;
  // ICMP
  icmpType: number;
  icmpCode: number;
  icmpId: number;
  icmpSeq: number;
  quoted: QuotedHeader | null;
  payload: Payload;
  /** skb->mark */
  mark: number;
  /** The encapsulated packet when this is an IPIP packet (IPVS TUN); null otherwise. */
  inner: Packet | null;
  // --- skb metadata: set by the dataplane, never on the wire ---
  /** skb_dst(): the routing decision, null until routed. */
  dst: Dst | null;
  /** skb->_nfct: the conntrack entry, owned by the netfilter layer. */
  nfct: object | null;
  /** IP_CT_* of this packet relative to nfct. */
  ctinfo: number;
  /** skb->ipvs_property: IPVS already handled this packet. */
  ipvsProperty: boolean;
  /** br_netfilter: bridge port ids the frame came in on / goes out of (0: none). */
  physIn: number;
  physOut: number;
  /** br_netfilter: the IPv4 PRE_ROUTING hooks already ran for this bridged frame (ip_sabotage_in). */
  brnfDone: boolean;
  /** br_netfilter: a DNATed frame waiting for its neighbour before it is bridged on. */
  bridgedDnat: boolean;
  /** skb->pkt_type == PACKET_HOST as br_handle_frame() set it: the frame came addressed to the bridge. */
  brHost: boolean;
}

export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;

/** struct rtable, reduced: what the route lookup decided for this packet. */
export interface Dst {
  type: number;
  /** Output link id (lo for local delivery on output). */
  dev: number;
  /** Next hop: the gateway, or the destination itself when on-link. */
  gw: number;
  /** Preferred source address. */
  src: number;
  /** Route input decision: deliver locally, forward, or an error (errno-like code). */
  input: number;
}

export const DST_LOCAL = 1;
export const DST_FORWARD = 2;
export const DST_ERROR = 3;
export const DST_OUTPUT = 4;

let nextId = 1;

export function resetPacketIds(): void {
  nextId = 1;
}

export function blankPacket(): Packet {
  return {
    id: nextId++,
    ethSrc: 0,
    ethDst: 0,
    ethType: ETH_P_IP,
    arpOp: 0,
    arpSha: 0,
    arpSpa: 0,
    arpTha: 0,
    arpTpa: 0,
    saddr: 0,
    daddr: 0,
    proto: 0,
    ttl: 64,
    len: 0,
    sport: 0,
    dport: 0,
    tcpFlags: 0,
    icmpType: 0,
    icmpCode: 0,
    icmpId: 0,
    icmpSeq: 0,
    quoted: null,
    payload: null,
    mark: 0,
    inner: null,
    dst: null,
    nfct: null,
    ctinfo: 0,
    ipvsProperty: false,
    physIn: 0,
    physOut: 0,
    brnfDone: false,
    bridgedDnat: false,
    brHost: false,
  };
}

/** skb_clone for a flood: same headers, new id. */
export function clonePacket(p: Packet): Packet {
  return { ...p, id: nextId++ };
}

/** IP header + transport header sizes, for byte counters (no options). */
export function ipLength(proto: number, payloadBytes: number): number {
  const l4 = proto === IPPROTO_TCP ? 32 : proto === IPPROTO_UDP ? 8 : 8;
  return 20 + l4 + payloadBytes;
}
