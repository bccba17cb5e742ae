// The event loop: frames in flight between devices (netif_rx backlog, FIFO) and timers
// (ARP retransmits) on a virtual clock in milliseconds.
import type { Packet } from "../wire/packet.ts";

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

export class Sim {
  now = 0;
  // The backlog: frames head..tail-1 of the two arrays. The arrays never shrink (an
  // array truncated to 0 frees its store, and the next frame allocated it again).
  private rxDev: number[] = [];
  private rxPkt: (Packet | null)[] = [];
  private head = 0;
  private tail = 0;
  private timers: Timer[] = [];
  private timerSeq = 0;
  /** Upper bound on frames processed in one run: a loop in the topology cannot hang us. */
  static readonly MAX_FRAMES = 1_000_000;

  enqueue(linkId: number, pkt: Packet): void {
    this.rxDev[this.tail] = linkId;
    this.rxPkt[this.tail] = pkt;
    this.tail++;
  }

  after(ms: number, fn: () => void): void {
    const t: Timer = { at: this.now + ms, seq: this.timerSeq++, fn };
    let i = this.timers.length;
    while (i > 0 && (this.timers[i - 1]!.at > t.at)) i--;
    this.timers.splice(i, 0, t);
  }

  pendingFrames(): number {
    return this.tail - this.head;
  }

  /**
   * Delivers queued frames, then fires timers due up to `until`, until `done()` holds
   * or nothing is left before `until`. Returns false when the frame bound was hit.
   */
  run(deliver: (linkId: number, pkt: Packet) => void, until: number, done: () => boolean): boolean {
    let frames = 0;
    for (;;) {
      while (this.head < this.tail) {
        if (done()) return true;
        const dev = this.rxDev[this.head]!;
        const pkt = this.rxPkt[this.head]!;
        this.rxPkt[this.head] = null;
        this.head++;
        if (++frames > Sim.MAX_FRAMES) {
          this.rxPkt.fill(null, this.head, this.tail);
          this.head = this.tail;
          this.clearFrames();
          return false;
        }
        deliver(dev, pkt);
      }
      this.clearFrames();
      if (done()) return true;
      const t = this.timers[0];
      if (!t || t.at > until) return true;
      this.timers.shift();
      if (t.at > this.now) this.now = t.at;
      t.fn();
    }
  }

  private clearFrames(): void {
    if (this.head < this.tail) return;
    this.head = this.tail = 0;
    // A storm's backlog (a loop in the topology) is not kept for the rest of the run.
    if (this.rxPkt.length > 4096) {
      this.rxDev = [];
      this.rxPkt = [];
    }
  }
}
