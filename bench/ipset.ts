// ipset costs that matter: loading a 100k-element set, one command against it (the
// copy-on-write draft), and the per-packet lookup through the handle netfilter uses.
// Run: npx tsx bench/ipset.ts
import { Host } from "../src/host.ts";
import { ipsetLayer, lookupSet } from "../src/ipset/api.ts";
import { coreLayer } from "../src/commands/layer.ts";
import { restoreIpsets } from "../src/ipset/restore.ts";
import { blankPacket, IPPROTO_TCP } from "../src/wire/packet.ts";
import { formatIPv4 } from "../src/wire/ipv4.ts";

const N = 100_000;
const BASE = 0x0a000000;

function time<T>(label: string, fn: () => T): T {
  const t0 = performance.now();
  const r = fn();
  console.log(`${label.padEnd(52)} ${(performance.now() - t0).toFixed(1).padStart(9)} ms`);
  return r;
}

function perPacket(label: string, n: number, fn: (i: number) => number): void {
  for (let i = 0; i < 20000; i++) fn(i);
  const t0 = process.hrtime.bigint();
  let hits = 0;
  for (let i = 0; i < n; i++) hits += fn(i) > 0 ? 1 : 0;
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${label.padEnd(52)} ${ns.toFixed(0).padStart(9)} ns/packet (${((hits / n) * 100).toFixed(0)}% hits)`);
}

const host = new Host({ layers: [coreLayer] });
const ipset = ipsetLayer.install(host);
let text = `create big hash:ip maxelem ${2 * N}\n`;
for (let i = 0; i < N; i++) text += `add big ${formatIPv4(BASE + i * 3)}\n`;
time(`restore of ${N} hash:ip elements`, () => restoreIpsets(ipset, "host", text));
console.log((host.exec("ipset list -t big")[0]!.stdout.match(/Header: .*|Number of entries: .*/g) ?? []).join("; "));
time("one `ipset add` on it", () => host.exec("ipset add big 192.168.0.1"));
time("one `ipset add` on it, again", () => host.exec("ipset add big 192.168.0.2"));
time("one failing `ipset add` (nothing changes)", () => {
  try {
    host.exec("ipset add big 192.168.0.1");
  } catch {
    /* already added */
  }
});
time("`ipset test` on it", () => host.exec("ipset test big 10.0.0.3"));

const big = lookupSet(ipset, "host", "big")!;
const pkt = blankPacket();
pkt.proto = IPPROTO_TCP;
const src = [true];
perPacket("hash:ip 100k, test (half hit)", 2_000_000, (i) => {
  pkt.saddr = BASE + ((i * 7919) % (2 * N)) * 3;
  return big.test(pkt, src, null, 0, true);
});

host.exec("ipset create nets hash:net");
for (let c = 8; c <= 32; c += 3) host.exec(`ipset add nets ${formatIPv4(BASE + (c << 8))}/${c}`);
const nets = lookupSet(ipset, "host", "nets")!;
perPacket("hash:net, 9 prefix lengths, test", 2_000_000, (i) => {
  pkt.saddr = BASE + ((i * 7919) & 0xffff);
  return nets.test(pkt, src, null, 0, true);
});

host.exec("ipset create lb hash:ip,port,ip");
for (let i = 0; i < 1000; i++) host.exec(`ipset add lb ${formatIPv4(BASE + i)},tcp:8080,${formatIPv4(BASE + i)}`);
const lb = lookupSet(ipset, "host", "lb")!;
const dds = [false, false, true];
perPacket("hash:ip,port,ip 1k (KUBE-LOOP-BACK), dst,dst,src", 2_000_000, (i) => {
  pkt.daddr = BASE + (i % 2000);
  pkt.saddr = pkt.daddr;
  pkt.dport = 8080;
  return lb.test(pkt, dds, null, 0, true);
});
