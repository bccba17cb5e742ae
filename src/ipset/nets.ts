// Book-keeping of the prefix lengths a hash:net* set holds (h->nets[] of
// ip_set_hash_gen.h, mtype_add_cidr/mtype_del_cidr): distinct lengths, most specific
// first, each with the number of elements using it. A packet is tested once per length.

export class NetPrefixes {
  /** Distinct prefix lengths present, descending. */
  cidrs: number[] = [];
  private counts: number[] = new Array<number>(33).fill(0);

  constructor(readonly net0: boolean) {}

  add(cidr: number): void {
    if (this.counts[cidr]!++ > 0) return;
    let i = 0;
    while (i < this.cidrs.length && this.cidrs[i]! > cidr) i++;
    this.cidrs.splice(i, 0, cidr);
  }

  del(cidr: number): void {
    if (this.counts[cidr]! === 0) return;
    if (--this.counts[cidr]! > 0) return;
    const i = this.cidrs.indexOf(cidr);
    if (i >= 0) this.cidrs.splice(i, 1);
  }

  /** The most specific length present (h->nets[0].cidr), or null when empty. */
  get first(): number | null {
    return this.cidrs.length ? this.cidrs[0]! : null;
  }

  clone(): NetPrefixes {
    const n = new NetPrefixes(this.net0);
    n.cidrs = this.cidrs.slice();
    n.counts = this.counts.slice();
    return n;
  }

  cleared(): NetPrefixes {
    return new NetPrefixes(this.net0);
  }
}
