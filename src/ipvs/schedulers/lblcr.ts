// Locality-based least-connection with replication, after net/netfilter/ipvs/ip_vs_lblcr.c:
// a table from destination address to a set of dests; the least loaded member serves, a new
// member joins when it is overloaded, and the most loaded leaves once the set has not changed
// for lblcr_expiration. Time is the virtual clock in ms (SchedPacket.now) standing in for
// jiffies; the GC timer's runs that fell due are replayed, in order, before each schedule.
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

/** CONFIG_IP_VS_LBLCR_TAB_BITS (default 10). */
const IP_VS_LBLCR_TAB_BITS = 10;
const IP_VS_LBLCR_TAB_SIZE = 1 << IP_VS_LBLCR_TAB_BITS;
const IP_VS_LBLCR_TAB_MASK = IP_VS_LBLCR_TAB_SIZE - 1;

/** struct ip_vs_dest_set: members newest first (list_add_rcu). */
interface DestSet {
  list: IpvsDest[];
  lastmod: number;
}

interface LblcrEntry {
  addr: number;
  set: DestSet;
  lastuse: number;
}

class LblcrTable {
  bucket: LblcrEntry[][] = Array.from({ length: IP_VS_LBLCR_TAB_SIZE }, () => []);
  entries = 0;
  maxSize = IP_VS_LBLCR_TAB_SIZE * 16;
  rover = 0;
  counter = 1;
  dead = false;
  /** jiffies: the latest time seen. */
  now = 0;
  /** When periodic_timer next fires. */
  timerAt = CHECK_EXPIRE_INTERVAL;
}

// ip_vs_lblcr_init_svc(): empty table, GC timer armed a minute from now
function initTable(svc: IpvsService, now: number): LblcrTable {
  const t = new LblcrTable();
  t.now = now;
  t.timerAt = t.now + CHECK_EXPIRE_INTERVAL;
  svc.schedData = t;
  return t;
}

function tableOf(svc: IpvsService, now: number): LblcrTable {
  return svc.schedData instanceof LblcrTable ? svc.schedData : initTable(svc, now);
}

function expiration(svc: IpvsService): number {
  return svc.lblcrExpiration ?? DEFAULT_EXPIRATION;
}

// ip_vs_dest_set_insert(): at the head, unless already a member (when checked)
function setInsert(set: DestSet, dest: IpvsDest, check: boolean, now: number): void {
  if (check && set.list.includes(dest)) return;
  set.list.unshift(dest);
  set.lastmod = now;
}

// ip_vs_dest_set_erase()
function setErase(set: DestSet, dest: IpvsDest, now: number): void {
  const i = set.list.indexOf(dest);
  if (i < 0) return;
  set.list.splice(i, 1);
  set.lastmod = now;
}

// ip_vs_dest_set_min(): weighted least-connection among members that are available, have
// weight and are not overloaded
function setMin(set: DestSet): IpvsDest | null {
  const l = set.list;
  const n = l.length;
  let i = 0;
  while (i < n && (isOverloaded(l[i]!) || !(l[i]!.weight > 0 && l[i]!.flags & IP_VS_DEST_F_AVAILABLE))) i++;
  if (i === n) return null;
  let least = l[i]!;
  let loh = destConnOverhead(least);
  for (i++; i < n; i++) {
    const d = l[i]!;
    if (isOverloaded(d)) continue;
    const doh = destConnOverhead(d);
    if (mulGt(loh, d.weight, doh, least.weight) && d.flags & IP_VS_DEST_F_AVAILABLE) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

// ip_vs_dest_set_max(): weighted most-connection among members with weight (availability and
// overload not considered)
function setMax(set: DestSet): IpvsDest | null {
  const l = set.list;
  const n = l.length;
  let i = 0;
  while (i < n && !(l[i]!.weight > 0)) i++;
  if (i === n) return null;
  let most = l[i]!;
  let moh = destConnOverhead(most);
  for (i++; i < n; i++) {
    const d = l[i]!;
    const doh = destConnOverhead(d);
    if (mulGt(doh, most.weight, moh, d.weight) && d.weight > 0) {
      most = d;
      moh = doh;
    }
  }
  return most;
}

// ip_vs_lblcr_hashkey(): hash_32(addr, 10)
function hashKey(addr: number): number {
  return hash32(addr, IP_VS_LBLCR_TAB_BITS);
}

// ip_vs_lblcr_get()
function get(t: LblcrTable, addr: number): LblcrEntry | null {
  for (const en of t.bucket[hashKey(addr)]!) if (en.addr === addr) return en;
  return null;
}

function del(t: LblcrTable, en: LblcrEntry): void {
  const b = t.bucket[hashKey(en.addr)]!;
  b.splice(b.indexOf(en), 1);
  t.entries--;
}

// ip_vs_lblcr_new(): a new entry holding just dest (none past 1.5 * max_size entries), or
// dest added to the existing entry's set
function newEntry(t: LblcrTable, addr: number, dest: IpvsDest): void {
  const en = get(t, addr);
  if (en) {
    setInsert(en.set, dest, true, t.now);
    return;
  }
  if (t.entries >= Math.trunc((t.maxSize * 3) / 2)) return;
  const set: DestSet = { list: [], lastmod: t.now };
  setInsert(set, dest, false, t.now);
  // hlist_add_head_rcu()
  t.bucket[hashKey(addr)]!.unshift({ addr, set, lastuse: t.now });
  t.entries++;
}

// ip_vs_lblcr_full_check(): drop entries unused for lblcr_expiration
function fullCheck(t: LblcrTable, svc: IpvsService, now: number): void {
  const exp = expiration(svc);
  let j = t.rover;
  for (let i = 0; i < IP_VS_LBLCR_TAB_SIZE; i++) {
    j = (j + 1) & IP_VS_LBLCR_TAB_MASK;
    const b = t.bucket[j]!;
    if (b.length === 0) continue;
    for (const en of b.slice()) if (!(en.lastuse + exp > now)) del(t, en);
  }
  t.rover = j;
}

// ip_vs_lblcr_check_expire(): every 30th run a full check; otherwise, past max_size entries,
// drop up to a goal of entries idle for ENTRY_TIMEOUT, bucket by bucket from the rover
function checkExpire(t: LblcrTable, svc: IpvsService, now: number): void {
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
  for (let i = 0; i < IP_VS_LBLCR_TAB_SIZE; i++) {
    j = (j + 1) & IP_VS_LBLCR_TAB_MASK;
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
function advance(t: LblcrTable, svc: IpvsService, now: number): void {
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

// __ip_vs_lblcr_schedule(): weighted least-connection over the whole service, as wlc
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

// ip_vs_lblcr_schedule(): the set's least loaded member unless overloaded (then a new member
// from the whole service joins); a set of several unchanged for lblcr_expiration first loses
// its most loaded member
function schedule(svc: IpvsService, p: SchedPacket): IpvsDest | null {
  const t = tableOf(svc, p.now);
  advance(t, svc, p.now);
  const en = get(t, p.daddr);
  if (en) {
    en.lastuse = t.now;
    let dest = setMin(en.set);
    if (en.set.list.length > 1 && t.now > en.set.lastmod + expiration(svc)) {
      const m = setMax(en.set);
      if (m) setErase(en.set, m, t.now);
    }
    if (dest && !localityOverloaded(dest, svc)) return dest;
    dest = leastLoaded(svc);
    if (dest === null) return null;
    if (!t.dead) setInsert(en.set, dest, true, t.now);
    return dest;
  }
  const dest = leastLoaded(svc);
  if (dest === null) return null;
  if (!t.dead) newEntry(t, p.daddr, dest);
  return dest;
}

function initService(svc: IpvsService, now: number): void {
  initTable(svc, now);
}

// ip_vs_lblcr_done_svc(): flush
function doneService(svc: IpvsService): void {
  const t = svc.schedData;
  if (!(t instanceof LblcrTable)) return;
  t.dead = true;
  for (const b of t.bucket) b.length = 0;
  t.entries = 0;
}

export const lblcr: Scheduler = {
  name: "lblcr",
  initService,
  doneService,
  schedule,
};
