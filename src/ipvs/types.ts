// IPVS runtime objects as the schedulers see them (struct ip_vs_service, ip_vs_dest)
// and the scheduler interface (struct ip_vs_scheduler).
import type { Packet } from "../wire/packet.ts";

// dest->flags
export const IP_VS_DEST_F_AVAILABLE = 0x0001;
export const IP_VS_DEST_F_OVERLOAD = 0x0002;

// svc->flags
export const IP_VS_SVC_F_PERSISTENT = 0x0001;
export const IP_VS_SVC_F_HASHED = 0x0002;
export const IP_VS_SVC_F_ONEPACKET = 0x0004;
export const IP_VS_SVC_F_SCHED1 = 0x0008;
export const IP_VS_SVC_F_SCHED2 = 0x0010;
export const IP_VS_SVC_F_SCHED3 = 0x0020;
/** sh-fallback: ip_vs_sh uses the next bucket's server when the hashed one is unavailable. */
export const IP_VS_SVC_F_SCHED_SH_FALLBACK = IP_VS_SVC_F_SCHED1;
/** sh-port: ip_vs_sh hashes the source port too. */
export const IP_VS_SVC_F_SCHED_SH_PORT = IP_VS_SVC_F_SCHED2;
/** mh-fallback / mh-port share the same bits. */
export const IP_VS_SVC_F_SCHED_MH_FALLBACK = IP_VS_SVC_F_SCHED1;
export const IP_VS_SVC_F_SCHED_MH_PORT = IP_VS_SVC_F_SCHED2;

export type FwdMethod = "masq" | "droute" | "tunnel";

export interface IpvsDest {
  addr: number;
  port: number;
  /** atomic_t weight; 0 = quiesced (no new connections). */
  weight: number;
  fwd: FwdMethod;
  /** Upper and lower connection thresholds (-x / -y), 0 = none. */
  uThreshold: number;
  lThreshold: number;
  flags: number;
  activeConns: number;
  inactConns: number;
  persistConns: number;
  /** Counters for --stats / --rate. */
  stats: { conns: number; inpkts: number; outpkts: number; inbytes: number; outbytes: number };
}

export interface IpvsService {
  proto: number;
  addr: number;
  port: number;
  /** -f service: the firewall mark, else 0. */
  fwmark: number;
  flags: number;
  /** Persistence timeout in seconds (-p), 0 = not persistent. */
  timeout: number;
  netmask: number;
  /**
   * svc->destinations in the kernel's list order: __ip_vs_update_dest() adds a new
   * destination at the head of the list (list_add_rcu), so the newest comes first.
   */
  dests: IpvsDest[];
  /** The scheduler's private state (svc->sched_data). */
  schedData: unknown;
  stats: { conns: number; inpkts: number; outpkts: number; inbytes: number; outbytes: number };
  /** net.ipv4.vs.lblc_expiration / lblcr_expiration in ms when given (default 24 h): what lblc and lblcr read of the namespace. */
  lblcExpiration?: number;
  lblcrExpiration?: number;
}

/** What the scheduler may read of the packet (struct ip_vs_iphdr + ports). */
export interface SchedPacket {
  saddr: number;
  daddr: number;
  sport: number;
  dport: number;
  proto: number;
  pkt: Packet | null;
  /** The virtual clock in ms when the packet is scheduled (the packet path's sim.now): lblc/lblcr's jiffies. */
  now: number;
}

/** struct ip_vs_scheduler: one file per scheduler under src/ipvs/schedulers/. */
export interface Scheduler {
  name: string;
  /** Binds the scheduler to svc at virtual time `now` (ms); lblc/lblcr arm their GC timer at now + 60 s. */
  initService?(svc: IpvsService, now: number): void;
  doneService?(svc: IpvsService): void;
  addDest?(svc: IpvsService, dest: IpvsDest): void;
  delDest?(svc: IpvsService, dest: IpvsDest): void;
  updDest?(svc: IpvsService, dest: IpvsDest): void;
  /** Picks a destination for a new connection; null when none is available. */
  schedule(svc: IpvsService, p: SchedPacket): IpvsDest | null;
}
