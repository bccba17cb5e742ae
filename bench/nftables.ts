// The nftables suite: a verdict-map dispatch (ip daddr . meta l4proto . th dport vmap
// @service-ips, kube-proxy's nftables mode) at 10 ... 100k elements, against the same
// number of iptables-style rules walked linearly; and `nft -f` of a kube-proxy node.
import { SetIndex } from "../src/nftables/sets.ts";
import type { NftElem, NftValue } from "../src/nftables/types.ts";
import { Host } from "../src/host.ts";
import { defaultLayers } from "../src/layers.ts";
import { generateKubeProxy } from "../src/gen/kubeproxy.ts";
import { gc, measure, timeOnce, type BenchConfig } from "./lib.ts";

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
  return { text: rows.join("\n") + "\n" };
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
