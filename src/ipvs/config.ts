// IPVS configuration in the snapshot: virtual services and their real servers, per
// namespace, sharded in 256 buckets so a change copies one small piece. The buckets
// hang in 16 groups of 16: a change copies its bucket and its group, and immer's
// freezing of the next snapshot looks at those alone (with 256 buckets side by side it
// checked every bucket, each a record of ~80 services at 20k: most of a command's cost).
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

export interface IpvsConfig {
  /** Bucket b (bucketOf) is buckets[b >> 4][b & 15]. */
  buckets: Record<number, Record<number, Record<string, ServiceConfig>>>;
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
  return { buckets: {}, count: 0, timeouts: { tcp: 900, tcpfin: 120, udp: 300 } };
}

/** Bucket b of cfg, if it has one. */
export function bucketAt(cfg: IpvsConfig | undefined, b: number): Record<string, ServiceConfig> | undefined {
  return cfg?.buckets[b >> 4]?.[b & 15];
}

/** Every bucket, in bucket order. */
export function forEachBucket(cfg: IpvsConfig | undefined, fn: (b: number, bucket: Record<string, ServiceConfig>) => void): void {
  const groups = cfg?.buckets ?? {};
  for (const g in groups) {
    const group = groups[g]!;
    for (const i in group) fn(Number(g) * 16 + Number(i), group[i]!);
  }
}

export function findService(cfg: IpvsConfig | undefined, key: string): ServiceConfig | undefined {
  return bucketAt(cfg, bucketOf(key))?.[key];
}

export function allServices(cfg: IpvsConfig | undefined): ServiceConfig[] {
  const out: ServiceConfig[] = [];
  forEachBucket(cfg, (_b, bucket) => out.push(...Object.values(bucket)));
  return out;
}
