// ip_set_getport.c: the port dimension of a packet (TCP/UDP/SCTP/UDPLITE port, ICMP
// type<<8|code, 0 for other protocols), the same for every type with a port.
import type { Packet } from "../../wire/packet.ts";
import { IPPROTO_ICMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE } from "../consts.ts";

/** ip_set_get_ip4_port(): the port of src/dst, or -1 when the packet has none to give. */
export function packetPort(pkt: Packet, src: boolean): number {
  switch (pkt.proto) {
    case IPPROTO_TCP:
    case IPPROTO_SCTP:
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE:
      return src ? pkt.sport : pkt.dport;
    case IPPROTO_ICMP:
      return (pkt.icmpType << 8) | pkt.icmpCode;
    default:
      return pkt.proto <= 0 ? -1 : 0;
  }
}
