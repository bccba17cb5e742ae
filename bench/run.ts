// npm run bench [-- --quick] [-- --full] [-- --suite membership|node|nftables|kernel|load]
//   [-- --sizes 1k,20k] [-- --mode iptables|ipvs|nftables]: the benchmarks of issues 7 and 14.
// --sizes and --mode choose the node suite's (and the kernel suite's) sizes and modes,
// so one size or one mode can be run alone; --full adds 20k to the kernel suite.
// Tables on stdout, a progress line on stderr, results in bench/results/.
import Benchmark from "benchmark";
import os from "node:os";
import { membershipSuite } from "./membership.ts";
import { nodeSuite } from "./node.ts";
import { kernelSuite, type KernelTool } from "./kernel.ts";
import { loadSuite } from "./load.ts";
import type { KubeProxyMode } from "../src/gen/index.ts";
import { nftablesSuite } from "./nftables.ts";
import { plotPath } from "./plot.ts";
import { progressDone, writeResult, type BenchConfig } from "./lib.ts";

// Measure closures as they are (benchmark.js would otherwise try to inline their source).
(Benchmark as unknown as { support: { decompilation: boolean } }).support.decompilation = false;

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const full = args.includes("--full");
/** --name VALUE or --name=VALUE */
function opt(name: string): string | null {
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  if (eq) return eq.slice(name.length + 3);
  const i = args.indexOf(`--${name}`);
  if (i < 0) return null;
  const v = args[i + 1];
  if (v === undefined || v.startsWith("--")) fail(`--${name} needs a value`);
  return v!;
}
function fail(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}
const SUITES = ["membership", "node", "nftables", "kernel", "load"];
const suiteArg = opt("suite");
if (suiteArg !== null && !SUITES.includes(suiteArg)) fail(`--suite: "${suiteArg}" is not one of ${SUITES.join(", ")}`);
/** "1000", "1k", "20k" -> a number of services. */
function parseSize(t: string): number {
  const m = /^(\d+)(k?)$/.exec(t.trim());
  const n = m ? Number(m[1]) * (m[2] ? 1000 : 1) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) fail(`--sizes: "${t}" is not a number of services (like 1000 or 20k)`);
  return n;
}
const sizesArg = opt("sizes");
const sizes = sizesArg === null ? null : sizesArg.split(",").map(parseSize);
const MODES: KubeProxyMode[] = ["iptables", "ipvs", "nftables"];
const modeArg = opt("mode");
const modes = modeArg === null ? MODES : modeArg.split(",").map((m) => (MODES.includes(m as KubeProxyMode) ? (m as KubeProxyMode) : fail(`--mode: "${m}" is not iptables, ipvs or nftables`)));
const TOOLS_OF: Record<KubeProxyMode, KernelTool[]> = { iptables: ["iptables-nft", "iptables-legacy"], ipvs: ["ipset", "ipvsadm"], nftables: ["nft"] };
const cfg: BenchConfig = { quick, maxTime: quick ? 0.12 : 1 };
const started = new Date();
const machine = { date: started.toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "?", loadavg: os.loadavg()[0], quick };
const header = `pktpath benchmarks — ${started.toISOString().slice(0, 10)}, Node ${process.version}, ${machine.cpus} cores (${machine.cpu}), one thread, load average ${machine.loadavg.toFixed(1)} at start (other processes share the cores: figures are noisy)${quick ? ", --quick" : ""}`;
process.stdout.write(header + "\n\n");

if (!suiteArg || suiteArg === "membership") {
  const sizes = quick ? [10, 1000, 100_000] : [10, 100, 1000, 10_000, 100_000];
  const { text } = membershipSuite(cfg, sizes, quick ? 1000 : 100_000);
  progressDone();
  process.stdout.write(text + "\n");
}
if (!suiteArg || suiteArg === "node") {
  const nodeSizes = sizes ?? (quick ? [100, 1000] : [100, 1000, 10_000, 20_000]);
  const { rows, text } = nodeSuite(cfg, nodeSizes, 10, quick ? 100 : 1000, modes);
  progressDone();
  process.stdout.write(text + "\n");
  const svg = plotPath(rows, `${started.toISOString().slice(0, 10)}, Node ${process.version}, ${machine.cpus}-core machine, one thread`);
  process.stdout.write(`plot: ${svg}\n`);
}
if (!suiteArg || suiteArg === "nftables") {
  const { text } = nftablesSuite(cfg, quick ? [10, 1000, 100_000] : [10, 100, 1000, 10_000, 100_000]);
  progressDone();
  process.stdout.write(text + "\n");
}
if (!suiteArg || suiteArg === "kernel") {
  const kernelSizes = sizes ?? (quick ? [1000] : full ? [1000, 5000, 20_000] : [1000, 5000]);
  const { text } = kernelSuite({ sizes: kernelSizes, endpoints: 10, reps: quick ? 1 : 3, tools: modes.flatMap((m) => TOOLS_OF[m]) });
  progressDone();
  process.stdout.write(text + "\n");
}
if (!suiteArg || suiteArg === "load") {
  const { text } = loadSuite({ quick, full });
  progressDone();
  process.stdout.write(text + "\n");
}
writeResult("machine", machine);
process.stdout.write(`done in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s; results in bench/results/\n`);
