// Locality-based least-connection, after net/netfilter/ipvs/ip_vs_lblc.c: a table from
// destination address to the dest last chosen for it, refreshed on use and collected by a
// periodic timer. Time is the virtual clock in ms (SchedPacket.now) standing in for
// jiffies; the timer's runs that fell due are replayed, in order, before each schedule.
import { IP_VS_DEST_F_AVAILABLE, type IpvsDest, type IpvsService, type Scheduler, type SchedPacket } from "../types.ts";
import {
  CHECK_EXPIRE_INTERVAL,
  COUNT_FOR_FULL_EXPIRATION,
  DEFAULT_EXPIRATION,
  ENTRY_TIMEOUT,
  destConnOverhead,
  hash32,
  isOverloaded,
  localityOverloaded,
  mulGt,
} from "./common.ts";

/** CONFIG_IP_VS_LBLC_TAB_BITS (default 10). */
const IP_VS_LBLC_TAB_BITS = 10;
const IP_VS_LBLC_TAB_SIZE = 1 << IP_VS_LBLC_TAB_BITS;
const IP_VS_LBLC_TAB_MASK = IP_VS_LBLC_TAB_SIZE - 1;

interface LblcEntry {
  addr: number;
  dest: IpvsDest;
  lastuse: number;
}

class LblcTable {
  bucket: LblcEntry[][] = Array.from({ length: IP_VS_LBLC_TAB_SIZE }, () => []);
  entries = 0;
  maxSize = IP_VS_LBLC_TAB_SIZE * 16;
  rover = 0;
  counter = 1;
  dead = false;
  /** jiffies: the latest time seen. */
  now = 0;
  /** When periodic_timer next fires. */
  timerAt = CHECK_EXPIRE_INTERVAL;
}

// ip_vs_lblc_init_svc(): empty table, GC timer armed a minute from now
function initTable(svc: IpvsService, now: number): LblcTable {
  const t = new LblcTable();
  t.now = now;
  t.timerAt = t.now + CHECK_EXPIRE_INTERVAL;
  svc.schedData = t;
  return t;
}

function tableOf(svc: IpvsService, now: number): LblcTable {
  return svc.schedData instanceof LblcTable ? svc.schedData : initTable(svc, now);
}

function expiration(svc: IpvsService): number {
  return svc.lblcExpiration ?? DEFAULT_EXPIRATION;
}

// ip_vs_lblc_hashkey(): hash_32(addr, 10)
function hashKey(addr: number): number {
  return hash32(addr, IP_VS_LBLC_TAB_BITS);
}

// ip_vs_lblc_get()
function get(t: LblcTable, addr: number): LblcEntry | null {
  for (const en of t.bucket[hashKey(addr)]!) if (en.addr === addr) return en;
  return null;
}

function del(t: LblcTable, en: LblcEntry): void {
  const b = t.bucket[hashKey(en.addr)]!;
  b.splice(b.indexOf(en), 1);
  t.entries--;
}

// ip_vs_lblc_new(): (re)point the entry at dest; none past 1.5 * max_size entries
function newEntry(t: LblcTable, addr: number, dest: IpvsDest): void {
  const en = get(t, addr);
  if (en) {
    if (en.dest === dest) return;
    del(t, en);
  }
  if (t.entries >= Math.trunc((t.maxSize * 3) / 2)) return;
  // hlist_add_head_rcu()
  t.bucket[hashKey(addr)]!.unshift({ addr, dest, lastuse: t.now });
  t.entries++;
}

// ip_vs_lblc_full_check(): drop entries unused for lblc_expiration
function fullCheck(t: LblcTable, svc: IpvsService, now: number): void {
  const exp = expiration(svc);
  let j = t.rover;
  for (let i = 0; i < IP_VS_LBLC_TAB_SIZE; i++) {
    j = (j + 1) & IP_VS_LBLC_TAB_MASK;
    const b = t.bucket[j]!;
    if (b.length === 0) continue;
    for (const en of b.slice()) if (!(now < en.lastuse + exp)) del(t, en);
  }
  t.rover = j;
}

// ip_vs_lblc_check_expire(): every 30th run a full check; otherwise, past max_size entries,
// drop up to a goal of entries idle for ENTRY_TIMEOUT, bucket by bucket from the rover
function checkExpire(t: LblcTable, svc: IpvsService, now: number): void {
  if (t.counter % COUNT_FOR_FULL_EXPIRATION === 0) {
    fullCheck(t, svc, now);
    t.counter = 1;
    return;
  }
  if (t.entries <= t.maxSize) {
    t.counter++;
    return;
  }
  let goal = Math.trunc(((t.entries - t.maxSize) * 4) / 3);
  if (goal > Math.trunc(t.maxSize / 2)) goal = Math.trunc(t.maxSize / 2);
  let j = t.rover;
  for (let i = 0; i < IP_VS_LBLC_TAB_SIZE; i++) {
    j = (j + 1) & IP_VS_LBLC_TAB_MASK;
    for (const en of t.bucket[j]!.slice()) {
      if (now < en.lastuse + ENTRY_TIMEOUT) continue;
      del(t, en);
      goal--;
    }
    if (goal <= 0) break;
  }
  t.rover = j;
}

// The periodic timer, replayed up to `now`: each run re-arms itself CHECK_EXPIRE_INTERVAL
// later (mod_timer). Runs that only count (small table, no full check due) are skipped in bulk.
function advance(t: LblcTable, svc: IpvsService, now: number): void {
  if (now <= t.now) return;
  while (t.timerAt <= now) {
    if (t.counter % COUNT_FOR_FULL_EXPIRATION !== 0 && t.entries <= t.maxSize) {
      const due = Math.floor((now - t.timerAt) / CHECK_EXPIRE_INTERVAL) + 1;
      const m = Math.min(due, COUNT_FOR_FULL_EXPIRATION - (t.counter % COUNT_FOR_FULL_EXPIRATION));
      t.counter += m;
      t.timerAt += m * CHECK_EXPIRE_INTERVAL;
      continue;
    }
    checkExpire(t, svc, t.timerAt);
    t.timerAt += CHECK_EXPIRE_INTERVAL;
  }
  t.now = now;
}

// __ip_vs_lblc_schedule(): weighted least-connection over the whole service, as wlc
function leastLoaded(svc: IpvsService): IpvsDest | null {
  const dests = svc.dests;
  const n = dests.length;
  let i = 0;
  while (i < n && (isOverloaded(dests[i]!) || !(dests[i]!.weight > 0))) i++;
  if (i === n) return null;
  let least = dests[i]!;
  let loh = destConnOverhead(least);
  for (i++; i < n; i++) {
    const d = dests[i]!;
    if (isOverloaded(d)) continue;
    const doh = destConnOverhead(d);
    if (mulGt(loh, d.weight, doh, least.weight)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

// ip_vs_lblc_schedule(): the cached dest for this destination address while it is still in
// the service, has weight and is not overloaded; else the least loaded, cached
function schedule(svc: IpvsService, p: SchedPacket): IpvsDest | null {
  const t = tableOf(svc, p.now);
  advance(t, svc, p.now);
  const en = get(t, p.daddr);
  if (en) {
    en.lastuse = t.now;
    const d = en.dest;
    if (d.flags & IP_VS_DEST_F_AVAILABLE && d.weight > 0 && !localityOverloaded(d, svc)) return d;
  }
  const dest = leastLoaded(svc);
  if (dest === null) return null;
  if (!t.dead) newEntry(t, p.daddr, dest);
  return dest;
}

function initService(svc: IpvsService, now: number): void {
  initTable(svc, now);
}

// ip_vs_lblc_done_svc(): flush
function doneService(svc: IpvsService): void {
  const t = svc.schedData;
  if (!(t instanceof LblcTable)) return;
  t.dead = true;
  for (const b of t.bucket) b.length = 0;
  t.entries = 0;
}

export const lblc: Scheduler = {
  name: "lblc",
  initService,
  doneService,
  schedule,
};
