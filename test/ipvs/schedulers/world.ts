// A small IPVS world for the scheduler tests: a service whose destination list is changed as
// ip_vs_ctl.c changes it, calling the scheduler hooks at the same points:
// __ip_vs_update_dest() adds at the list head (list_add_rcu) then calls add_dest, or calls
// upd_dest after the new weight is set; __ip_vs_unlink_dest() clears AVAILABLE, unlinks, then
// calls del_dest.
import { parseIPv4 } from "../../../src/wire/ipv4.ts";
import { IP_VS_DEST_F_AVAILABLE, IP_VS_DEST_F_OVERLOAD, type IpvsDest, type IpvsService, type Scheduler, type SchedPacket } from "../../../src/ipvs/types.ts";

const names = new WeakMap<IpvsDest, string>();

export function nameOf(d: IpvsDest | null): string | null {
  return d === null ? null : (names.get(d) ?? "?");
}

/** A destination named `name` at `addr` (default 10.1.0.N for the N-th made). */
let made = 0;
export function mkDest(name: string, weight: number, addr?: string, port = 80): IpvsDest {
  made++;
  const d: IpvsDest = {
    addr: parseIPv4(addr ?? `10.1.${made >> 8}.${made & 255}`)!,
    port,
    weight,
    fwd: "masq",
    uThreshold: 0,
    lThreshold: 0,
    flags: 0,
    activeConns: 0,
    inactConns: 0,
    persistConns: 0,
    stats: { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 },
  };
  names.set(d, name);
  return d;
}

export class World {
  readonly svc: IpvsService;
  /** The virtual clock: the last `now` given (a pick without one leaves the clock standing). */
  private clock: number;
  constructor(readonly sched: Scheduler, flags = 0, svcNow = 0) {
    this.clock = svcNow;
    this.svc = {
      proto: 6,
      addr: parseIPv4("10.96.0.1")!,
      port: 80,
      fwmark: 0,
      flags,
      timeout: 0,
      netmask: 0xffffffff,
      dests: [],
      schedData: null,
      stats: { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 },
    };
    // ip_vs_add_service(): the scheduler is bound before any destination exists.
    sched.initService?.(this.svc, svcNow);
  }

  /** ipvsadm -a, one destination after the other. */
  add(...ds: IpvsDest[]): this {
    for (const d of ds) {
      d.flags |= IP_VS_DEST_F_AVAILABLE;
      this.svc.dests = [d, ...this.svc.dests];
      this.sched.addDest?.(this.svc, d);
    }
    return this;
  }

  /** ipvsadm -e -w WEIGHT. */
  edit(d: IpvsDest, weight: number): this {
    d.weight = weight;
    this.sched.updDest?.(this.svc, d);
    return this;
  }

  /** ipvsadm -d. */
  del(d: IpvsDest): this {
    d.flags &= ~IP_VS_DEST_F_AVAILABLE;
    this.svc.dests = this.svc.dests.filter((x) => x !== d);
    this.sched.delDest?.(this.svc, d);
    return this;
  }

  pick(p: Partial<SchedPacket> = {}): IpvsDest | null {
    if (p.now !== undefined) this.clock = p.now;
    const pkt: SchedPacket = { saddr: parseIPv4("192.168.0.10")!, daddr: this.svc.addr, sport: 40000, dport: 80, proto: 6, pkt: null, ...p, now: this.clock };
    return this.sched.schedule(this.svc, pkt);
  }

  /** The names of the next `n` picks. */
  picks(n: number, p: Partial<SchedPacket> = {}): (string | null)[] {
    const out: (string | null)[] = [];
    for (let i = 0; i < n; i++) out.push(nameOf(this.pick(p)));
    return out;
  }

  /** svc->destinations in kernel list order, newest first. */
  order(): string[] {
    return this.svc.dests.map((d) => nameOf(d)!);
  }
}

export function overload(d: IpvsDest, on = true): void {
  d.flags = on ? d.flags | IP_VS_DEST_F_OVERLOAD : d.flags & ~IP_VS_DEST_F_OVERLOAD;
}

export function conns(d: IpvsDest, active: number, inactive: number): void {
  d.activeConns = active;
  d.inactConns = inactive;
}

export function ip(s: string): number {
  return parseIPv4(s)!;
}
