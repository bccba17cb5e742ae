// pcapng (draft-ietf-opsawg-pcapng): a section header, one interface description
// block per emulated device ("netns/dev", LINKTYPE_ETHERNET), and an enhanced packet
// block for every frame that crossed a device, stamped with the virtual clock.
import { writeFileSync } from "node:fs";
import type { TraceEvent } from "../dataplane/trace.ts";
import type { ScenarioReport } from "../scenario/run.ts";
import type { Topology } from "../report/topology.ts";
import { frameBytes, SeqState } from "./frame.ts";

const LINKTYPE_ETHERNET = 1;
const enc = new TextEncoder();

class Blocks {
  readonly parts: Uint8Array[] = [];

  /** One block: type, total length, body (padded to 32 bits), total length again. */
  block(type: number, body: Uint8Array): void {
    const padded = (body.length + 3) & ~3;
    const total = 12 + padded;
    const b = new Uint8Array(total);
    const v = new DataView(b.buffer);
    v.setUint32(0, type, true);
    v.setUint32(4, total, true);
    b.set(body, 8);
    v.setUint32(total - 4, total, true);
    this.parts.push(b);
  }
}

/** Options: code, length, value padded to 32 bits; opt_endofopt last. */
function options(opts: [number, Uint8Array][]): Uint8Array {
  const size = opts.reduce((n, [, val]) => n + 4 + ((val.length + 3) & ~3), 0) + 4;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  let off = 0;
  for (const [code, val] of opts) {
    v.setUint16(off, code, true);
    v.setUint16(off + 2, val.length, true);
    b.set(val, off + 4);
    off += 4 + ((val.length + 3) & ~3);
  }
  return b; // the trailing 4 zero bytes are opt_endofopt
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export interface PcapSummary {
  interfaces: number;
  frames: number;
}

/** The capture of one scenario's probes (their traces must have been recorded). */
export function pcapngOf(report: ScenarioReport, topo: Topology | null, appName = "pktpath"): { bytes: Uint8Array; summary: PcapSummary } {
  const blocks = new Blocks();
  // Section header: byte-order magic, version 1.0, section length unknown (-1), shb_userappl.
  const shb = new Uint8Array(16);
  const sv = new DataView(shb.buffer);
  sv.setUint32(0, 0x1a2b3c4d, true);
  sv.setUint16(4, 1, true);
  sv.setUint16(6, 0, true);
  sv.setBigInt64(8, -1n, true);
  blocks.block(0x0a0d0d0a, concat(shb, options([[4, enc.encode(appName)]])));

  const ifaces = new Map<string, number>();
  const addIface = (id: string, kind: string) => {
    const idb = new Uint8Array(8);
    const v = new DataView(idb.buffer);
    v.setUint16(0, LINKTYPE_ETHERNET, true);
    v.setUint32(4, 0, true); // snaplen: no limit
    // if_name, if_description, if_tsresol (10^-6 s: microseconds).
    blocks.block(1, concat(idb, options([[2, enc.encode(id)], [3, enc.encode(`${kind} ${id} (pktpath)`)], [9, Uint8Array.of(6)]])));
    ifaces.set(id, ifaces.size);
  };
  for (const d of topo?.devices ?? []) addIface(d.id, d.kind);

  const seq = new SeqState();
  let frames = 0;
  const events: TraceEvent[] = [];
  for (const p of report.probes) if (p.trace) for (const e of p.trace) if (e.frame && e.dev) events.push(e);
  for (const e of events) {
    const id = `${e.ns}/${e.dev}`;
    if (!ifaces.has(id)) addIface(id, "link");
    const data = frameBytes(e.pkt, e.frame!, seq);
    const head = new Uint8Array(20);
    const v = new DataView(head.buffer);
    const us = BigInt(Math.round(e.t * 1000));
    v.setUint32(0, ifaces.get(id)!, true);
    v.setUint32(4, Number(us >> 32n), true);
    v.setUint32(8, Number(us & 0xffffffffn), true);
    v.setUint32(12, data.length, true);
    v.setUint32(16, data.length, true);
    const padded = new Uint8Array((data.length + 3) & ~3);
    padded.set(data);
    // epb_flags: direction inbound (1) or outbound (2); opt_comment: the packet's trace id.
    const flags = new Uint8Array(4);
    new DataView(flags.buffer).setUint32(0, e.step === "rx" ? 1 : 2, true);
    const opts = options([[2, flags], [1, enc.encode(`pktpath #${e.pkt} ${e.step}`)]]);
    blocks.block(6, concat(concat(head, padded), opts));
    frames++;
  }
  const total = blocks.parts.reduce((n, b) => n + b.length, 0);
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const b of blocks.parts) {
    bytes.set(b, off);
    off += b.length;
  }
  return { bytes, summary: { interfaces: ifaces.size, frames } };
}

export function writePcapng(file: string, report: ScenarioReport, topo: Topology | null): PcapSummary {
  const { bytes, summary } = pcapngOf(report, topo);
  writeFileSync(file, bytes);
  return summary;
}
