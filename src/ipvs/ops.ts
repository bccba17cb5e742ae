// The pure functions that change IPVS configuration (ip_vs_ctl.c's ioctl/netlink side),
// with the errno the kernel answers (worded later by ipvsadm's ipvs_strerror()).
import type { NetnsConfig } from "../config/types.ts";
import { KernelError } from "../config/errors.ts";
import { bucketAt, bucketOf, type DestConfig, emptyIpvs, type IpvsConfig, type ServiceConfig } from "./config.ts";

export function ipvsConfigOf(nsc: NetnsConfig): IpvsConfig {
  if (!nsc.ext.ipvs) nsc.ext.ipvs = emptyIpvs();
  return nsc.ext.ipvs;
}

export function addService(nsc: NetnsConfig, svc: ServiceConfig): void {
  const cfg = ipvsConfigOf(nsc);
  const b = bucketOf(svc.key);
  const bucket = ((cfg.buckets[b >> 4] ??= {})[b & 15] ??= {});
  if (bucket[svc.key]) throw new KernelError("EEXIST");
  bucket[svc.key] = svc;
  cfg.count++;
}

export function getService(nsc: NetnsConfig, key: string): ServiceConfig {
  const s = bucketAt(nsc.ext.ipvs, bucketOf(key))?.[key];
  if (!s) throw new KernelError("ESRCH");
  return s;
}

export function delService(nsc: NetnsConfig, key: string): void {
  getService(nsc, key);
  const cfg = nsc.ext.ipvs!;
  const b = bucketOf(key);
  const group = cfg.buckets[b >> 4]!;
  delete group[b & 15]![key];
  if (!Object.keys(group[b & 15]!).length) delete group[b & 15];
  if (!Object.keys(group).length) delete cfg.buckets[b >> 4];
  cfg.count--;
}

export function clearServices(nsc: NetnsConfig): void {
  const cfg = ipvsConfigOf(nsc);
  cfg.buckets = {};
  cfg.count = 0;
}

// ip_vs_add_dest(): a new real server goes to the head of the list (list_add_rcu).
export function addDest(nsc: NetnsConfig, key: string, d: DestConfig): void {
  const s = getService(nsc, key);
  if (s.dests.some((x) => x.addr === d.addr && x.port === d.port)) throw new KernelError("EEXIST");
  s.dests.unshift(d);
}

export function editDest(nsc: NetnsConfig, key: string, d: DestConfig): void {
  const s = getService(nsc, key);
  const i = s.dests.findIndex((x) => x.addr === d.addr && x.port === d.port);
  if (i < 0) throw new KernelError("ENOENT");
  s.dests[i] = d;
}

export function delDest(nsc: NetnsConfig, key: string, addr: number, port: number): void {
  const s = getService(nsc, key);
  const i = s.dests.findIndex((x) => x.addr === addr && x.port === port);
  if (i < 0) throw new KernelError("ENOENT");
  s.dests.splice(i, 1);
}
