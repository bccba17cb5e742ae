// IPVS configuration in the snapshot: virtual services and their real servers, per
// namespace, sharded in 256 buckets so a change copies one small piece.
import type { FwdMethod } from "./types.ts";

export interface DestConfig {
  addr: number;
  port: number;
  weight: number;
  fwd: FwdMethod;
  uThreshold: number;
  lThreshold: number;
}

export interface ServiceConfig {
  key: string;
  /** IPPROTO_TCP / UDP / SCTP; 0 for a firewall-mark service. */
  proto: number;
  addr: number;
  port: number;
  fwmark: number;
  scheduler: string;
  /** IP_VS_SVC_F_* (persistent, sched flags...). */
  flags: number;
  /** Persistence timeout in seconds; 0 = not persistent. */
  timeout: number;
  netmask: number;
  /** Destinations in the kernel's list order (newest first). */
  dests: DestConfig[];
}

export interface IpvsTimeouts {
  tcp: number;
  tcpfin: number;
  udp: number;
}

/** One bucket's services, in the order they were added. */
export type ServiceBucket = readonly ServiceConfig[];

export interface IpvsConfig {
  /** IP_VS_SVC_TAB_SIZE (256) buckets by bucketOf(key); undefined when empty. */
  buckets: readonly (ServiceBucket | undefined)[];
  count: number;
  timeouts: IpvsTimeouts;
}

declare module "../config/types.ts" {
  interface NetnsExtensions {
    ipvs?: IpvsConfig;
  }
}

export function serviceKey(proto: number, addr: number, port: number, fwmark: number): string {
  return fwmark ? `FWM:${fwmark}` : `${proto}:${addr}:${port}`;
}

export function bucketOf(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0) & 255;
}

export function emptyIpvs(): IpvsConfig {
  // The defaults of ip_vs_proto_tcp.c / udp.c as ipvsadm --set shows them: 900 120 300.
  return { buckets: emptyBuckets(), count: 0, timeouts: { tcp: 900, tcpfin: 120, udp: 300 } };
}

export const SVC_TAB_SIZE = 256;

export function emptyBuckets(): (ServiceBucket | undefined)[] {
  return new Array<ServiceBucket | undefined>(SVC_TAB_SIZE).fill(undefined);
}

/** Where the service key is in its bucket, or -1. */
export function indexInBucket(b: ServiceBucket | undefined, key: string): number {
  if (b) for (let i = 0; i < b.length; i++) if (b[i]!.key === key) return i;
  return -1;
}

export function findService(cfg: IpvsConfig | undefined, key: string): ServiceConfig | undefined {
  const b = cfg?.buckets[bucketOf(key)];
  const i = indexInBucket(b, key);
  return i < 0 ? undefined : b![i];
}

export function allServices(cfg: IpvsConfig | undefined): ServiceConfig[] {
  const out: ServiceConfig[] = [];
  if (!cfg) return out;
  for (const b of cfg.buckets) if (b) out.push(...b);
  return out;
}
