// The nftables suite: a verdict-map dispatch (ip daddr . meta l4proto . th dport vmap
// @service-ips, kube-proxy's nftables mode) at 10 ... 100k elements, against the same
// number of iptables-style rules walked linearly; and `nft -f` of a kube-proxy node.
import { SetIndex } from "../src/nftables/sets.ts";
import type { NftElem, NftValue } from "../src/nftables/types.ts";
import { Host } from "../src/host.ts";
import { defaultLayers } from "../src/layers.ts";
import { addServiceCommands, delServiceCommands, generateKubeProxy } from "../src/gen/kubeproxy.ts";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gc, measure, progress, timeOnce, type BenchConfig } from "./lib.ts";

function elems(n: number): NftElem[] {
  const out: NftElem[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ key: { parts: [{ k: "val", v: (0x0a600000 + i) >>> 0 }, { k: "val", v: 6 }, { k: "val", v: 80 }] }, data: { k: "verdict", v: { code: "goto", chain: `svc-${i}` } } });
  }
  return out;
}

export function nftablesSuite(cfg: BenchConfig, sizes: number[]): { text: string } {
  const rows: string[] = ["elements | vmap lookup ns | linear rule scan ns | nft add element ms | nft delete element ms | nft -f of a kube-proxy node (ms, emulator)"];
  for (const n of sizes) {
    const idx = new SetIndex<unknown>(3, elems(n), (e) => e.data);
    const buf: NftValue[] = [0, 6, 80];
    let k = 0;
    gc();
    // A key per packet spread over the elements, as numbers (no string built per packet).
    const vm = measure(`nft vmap ${n}`, () => {
      buf[0] = (0x0a600000 + (k = (Math.imul(k, 1103515245) + 12345) & 0x7fffffff) % n) >>> 0;
      if (!idx.lookup(buf, 0)) throw new Error("miss");
    }, cfg);
    const rules = Array.from({ length: n }, (_, i) => ({ daddr: (0x0a600000 + i) >>> 0, proto: 6, dport: 80 }));
    let j = 0;
    const scan = measure(`linear ${n}`, () => {
      const d = (0x0a600000 + (j = (Math.imul(j, 1103515245) + 12345) & 0x7fffffff) % n) >>> 0;
      for (let r = 0; r < rules.length; r++) {
        const x = rules[r]!;
        if (x.daddr === d && x.proto === 6 && x.dport === 80) return;
      }
    }, cfg);
    let load = NaN;
    if (n <= 5000) {
      const node = generateKubeProxy({ mode: "nftables", services: n, endpoints: 2, probes: false });
      const host = new Host({ layers: defaultLayers() });
      const stdin = node.load[0]!.stdin!;
      load = timeOnce(`nft -f ${n}`, () => host.exec("nft -f -", "host", stdin));
    }
    const [add, del] = elementChange(n);
    rows.push(`${n} | ${vm.ns.toFixed(0)} | ${scan.ns.toFixed(0)} | ${add.toFixed(2)} | ${del.toFixed(2)} | ${Number.isNaN(load) ? "-" : load.toFixed(0)}`);
  }
  return { text: rows.join("\n") + "\n\n" + kernelComparison([1000, 5000]) };
}

/** The nft here-documents of a generated kube-proxy nftables node: the load, one service added, removed. */
function nodeInputs(n: number): { load: string; add: string; del: string } {
  const node = generateKubeProxy({ mode: "nftables", services: n, endpoints: 2, probes: false });
  return { load: node.load[0]!.stdin!, add: addServiceCommands(node, n)[0]!.stdin!, del: delServiceCommands(node, n)[0]!.stdin! };
}

/** pktpath's `nft -f -` of the same inputs (ms): load, add, delete. */
function emulatorTimes(inp: { load: string; add: string; del: string }, n: number): [number, number, number] {
  const host = new Host({ layers: defaultLayers() });
  const load = timeOnce(`pktpath nft -f ${n}`, () => host.exec("nft -f -", "host", inp.load));
  const add = timeOnce(`pktpath add service ${n}`, () => host.exec("nft -f -", "host", inp.add));
  const del = timeOnce(`pktpath del service ${n}`, () => host.exec("nft -f -", "host", inp.del));
  return [load, add, del];
}

/**
 * The real kernel's figures for the same node: `nft -f` in a fresh network namespace
 * (unshare --net: nothing outside it is touched), timed inside the namespace with
 * date(1) around each nft (a process start, ~1 ms, is included). Runs only as root with
 * nft installed; 60 s bound per size.
 */
function kernelTimes(inp: { load: string; add: string; del: string }, n: number): [number, number, number] | string {
  const dir = mkdtempSync(join(tmpdir(), "pktpath-nft-bench-"));
  try {
    writeFileSync(join(dir, "load.nft"), inp.load);
    writeFileSync(join(dir, "add.nft"), inp.add);
    writeFileSync(join(dir, "del.nft"), inp.del);
    const script = 't0=$(date +%s%N); nft -f "$1/load.nft" || exit 1; t1=$(date +%s%N); nft -f "$1/add.nft" || exit 1; t2=$(date +%s%N); nft -f "$1/del.nft" || exit 1; t3=$(date +%s%N); echo $((t1-t0)) $((t2-t1)) $((t3-t2))';
    progress(`kernel nft -f ${n}`);
    const r = spawnSync("unshare", ["--net", "--", "sh", "-c", script, "sh", dir], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) return `kernel: failed (${(r.stderr || r.error?.message || `status ${r.status}`).trim().split("\n")[0]})`;
    const [a, b, c] = r.stdout.trim().split(" ").map((x) => Number(x) / 1e6);
    return [a!, b!, c!];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function canMeasureKernel(): boolean {
  if (process.getuid?.() !== 0) return false;
  const r = spawnSync("nft", ["--version"], { encoding: "utf8", timeout: 5000 });
  return r.status === 0 && spawnSync("unshare", ["--version"], { timeout: 5000 }).status === 0;
}

/** pktpath beside the kernel: `nft -f` of a kube-proxy node, one service added, removed. */
export function kernelComparison(sizes: number[]): string {
  const kernel = canMeasureKernel();
  const rows = ["services | load ms (pktpath / kernel) | add service ms (pktpath / kernel) | del service ms (pktpath / kernel)"];
  for (const n of sizes) {
    const inp = nodeInputs(n);
    const emu = emulatorTimes(inp, n);
    const k = kernel ? kernelTimes(inp, n) : "kernel: not measured (needs root and nft)";
    if (typeof k === "string") rows.push(`${n} | ${emu[0].toFixed(0)} / - | ${emu[1].toFixed(1)} / - | ${emu[2].toFixed(1)} / - (${k})`);
    else rows.push(`${n} | ${emu[0].toFixed(0)} / ${k[0].toFixed(0)} | ${emu[1].toFixed(1)} / ${k[1].toFixed(1)} | ${emu[2].toFixed(1)} / ${k[2].toFixed(1)}`);
  }
  return `nft -f of a generated kube-proxy nftables node (2 endpoints per service), pktpath beside the real kernel (unshare --net)\n${rows.join("\n")}\n`;
}

/**
 * One element added to and deleted from a verdict map of n elements (`nft add element` /
 * `nft delete element`, each its own transaction): the median of 5, in ms.
 */
function elementChange(n: number): [number, number] {
  const host = new Host({ layers: defaultLayers() });
  const els: string[] = [];
  for (let i = 0; i < n; i++) els.push(`10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255} . tcp . 80 : goto svc`);
  host.exec(
    "nft -f -",
    "host",
    `table ip t {\n\tchain svc {\n\t}\n\tmap m {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t\telements = { ${els.join(", ")} }\n\t}\n\tchain pre {\n\t\ttype filter hook prerouting priority 0; policy accept;\n\t\tip daddr . meta l4proto . th dport vmap @m\n\t}\n}\n`,
  );
  const adds: number[] = [];
  const dels: number[] = [];
  for (let r = 0; r < 5; r++) {
    adds.push(timeOnce(`nft add element ${n}`, () => host.exec("nft add element ip t m { 10.200.0.1 . tcp . 80 : goto svc }", "host")));
    dels.push(timeOnce(`nft delete element ${n}`, () => host.exec("nft delete element ip t m { 10.200.0.1 . tcp . 80 }", "host")));
  }
  const med = (a: number[]) => a.sort((x, y) => x - y)[2]!;
  return [med(adds), med(dels)];
}
