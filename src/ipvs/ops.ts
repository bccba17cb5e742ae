// The changes to IPVS configuration (ip_vs_ctl.c's ioctl/netlink side), with the errno
// the kernel answers (worded later by ipvsadm's ipvs_strerror()).
//
// IpvsEdit works copy-on-write over the frozen snapshot: it copies the bucket record of
// a service it changes, and the service (with its destination list), once per edit, and
// changes its own copies in place after that. One ipvsadm command is one edit; an
// `ipvsadm -R` file is one edit for all its lines, so loading 200k lines copies each
// bucket and each service once and builds no immer draft. finish() freezes what the
// edit made (immer then skips it when it becomes the snapshot) and hands the new
// configuration back; an edit that is dropped (a line failed) changes nothing.
import { KernelError } from "../config/errors.ts";
import { bucketOf, type DestConfig, emptyBuckets, emptyIpvs, indexInBucket, type IpvsConfig, type ServiceBucket, type ServiceConfig } from "./config.ts";

type Bucket = ServiceConfig[];

export class IpvsEdit {
  readonly cfg: IpvsConfig & { buckets: (ServiceBucket | undefined)[] };
  /** The namespace had an IPVS configuration before this edit. */
  readonly existed: boolean;
  private readonly ownBuckets = new Set<Bucket>();
  private readonly ownSvcs = new Set<ServiceConfig>();
  private changed = false;

  constructor(base: IpvsConfig | undefined) {
    this.existed = base !== undefined;
    const b = base ?? emptyIpvs();
    this.cfg = { buckets: b.buckets.slice(), count: b.count, timeouts: { ...b.timeouts } };
  }

  /** The service find() gave last, and its key: a restore names one service many lines running. */
  private last: ServiceConfig | undefined = undefined;
  private lastKey = "";

  find(key: string): ServiceConfig | undefined {
    if (key === this.lastKey && this.last) return this.last;
    const rec = this.cfg.buckets[bucketOf(key)];
    const i = indexInBucket(rec, key);
    const s = i < 0 ? undefined : rec![i];
    this.last = s;
    this.lastKey = key;
    return s;
  }

  /** The service, or ESRCH (ip_vs_service_find() found nothing). */
  service(key: string): ServiceConfig {
    const s = this.find(key);
    if (!s) throw new KernelError("ESRCH");
    return s;
  }

  /** The bucket record holding key, this edit's own copy (created when missing). */
  private bucket(key: string): Bucket {
    const b = bucketOf(key);
    const old = this.cfg.buckets[b];
    if (old && this.ownBuckets.has(old as Bucket)) return old as Bucket;
    const rec: Bucket = old ? old.slice() : [];
    this.last = undefined;
    this.ownBuckets.add(rec);
    this.cfg.buckets[b] = rec;
    this.changed = true;
    return rec;
  }

  /** The service as this edit's own copy, to change in place (ESRCH when there is none). */
  writable(key: string): ServiceConfig {
    const s = this.service(key);
    if (this.ownSvcs.has(s)) return s;
    const copy: ServiceConfig = { ...s, dests: s.dests.slice() };
    this.ownSvcs.add(copy);
    const rec = this.bucket(key);
    rec[indexInBucket(rec, key)] = copy;
    this.last = undefined;
    return copy;
  }

  // ip_vs_add_service(): EEXIST when the service is there.
  addService(svc: ServiceConfig): void {
    if (this.find(svc.key)) throw new KernelError("EEXIST");
    this.ownSvcs.add(svc);
    this.bucket(svc.key).push(svc);
    this.last = undefined;
    this.cfg.count++;
  }

  // ip_vs_del_service().
  delService(key: string): void {
    this.service(key);
    const rec = this.bucket(key);
    rec.splice(indexInBucket(rec, key), 1);
    this.last = undefined;
    if (!rec.length) this.cfg.buckets[bucketOf(key)] = undefined;
    this.cfg.count--;
  }

  // ip_vs_flush().
  clear(): void {
    this.last = undefined;
    this.cfg.buckets = emptyBuckets();
    this.cfg.count = 0;
    this.changed = true;
  }

  /** The timeouts to change in place (--set). */
  timeouts(): IpvsConfig["timeouts"] {
    this.changed = true;
    return this.cfg.timeouts;
  }

  // ip_vs_add_dest(): a new real server goes to the head of the list (list_add_rcu).
  addDest(key: string, d: DestConfig): void {
    if (indexOfDest(this.service(key).dests, d.addr, d.port) >= 0) throw new KernelError("EEXIST");
    this.writable(key).dests.unshift(d);
  }

  // ip_vs_edit_dest().
  editDest(key: string, d: DestConfig): void {
    const i = indexOfDest(this.service(key).dests, d.addr, d.port);
    if (i < 0) throw new KernelError("ENOENT");
    this.writable(key).dests[i] = d;
  }

  // ip_vs_del_dest().
  delDest(key: string, addr: number, port: number): void {
    const i = indexOfDest(this.service(key).dests, addr, port);
    if (i < 0) throw new KernelError("ENOENT");
    this.writable(key).dests.splice(i, 1);
  }

  /** The new configuration, frozen; null when the edit changed nothing. */
  finish(): IpvsConfig | null {
    if (!this.changed && !this.ownSvcs.size) return null;
    for (const s of this.ownSvcs) {
      for (const d of s.dests) Object.freeze(d);
      Object.freeze(s.dests);
      Object.freeze(s);
    }
    for (const rec of this.ownBuckets) Object.freeze(rec);
    Object.freeze(this.cfg.buckets);
    Object.freeze(this.cfg.timeouts);
    return Object.freeze(this.cfg);
  }
}

/** ip_vs_lookup_dest(): where the real server addr:port is in the list, or -1. */
function indexOfDest(dests: readonly DestConfig[], addr: number, port: number): number {
  for (let i = 0; i < dests.length; i++) if (dests[i]!.addr === addr && dests[i]!.port === port) return i;
  return -1;
}
