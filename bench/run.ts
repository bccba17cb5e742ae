// npm run bench [-- --quick] [-- --suite membership|node]: the benchmarks of issue 7.
// Tables on stdout, a progress line on stderr, results in bench/results/.
import Benchmark from "benchmark";
import os from "node:os";
import { membershipSuite } from "./membership.ts";
import { nodeSuite } from "./node.ts";
import { nftablesSuite } from "./nftables.ts";
import { plotPath } from "./plot.ts";
import { progressDone, writeResult, type BenchConfig } from "./lib.ts";

// Measure closures as they are (benchmark.js would otherwise try to inline their source).
(Benchmark as unknown as { support: { decompilation: boolean } }).support.decompilation = false;

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const suiteArg = args.find((a) => a.startsWith("--suite="))?.slice(8) ?? (args.includes("--suite") ? args[args.indexOf("--suite") + 1] : null);
const cfg: BenchConfig = { quick, maxTime: quick ? 0.12 : 1 };
const started = new Date();
const machine = { date: started.toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "?", quick };
const header = `pktpath benchmarks — ${started.toISOString().slice(0, 10)}, Node ${process.version}, ${machine.cpus} cores (${machine.cpu}), one thread${quick ? ", --quick" : ""}`;
process.stdout.write(header + "\n\n");

if (!suiteArg || suiteArg === "membership") {
  const sizes = quick ? [10, 1000, 100_000] : [10, 100, 1000, 10_000, 100_000];
  const { text } = membershipSuite(cfg, sizes, quick ? 1000 : 100_000);
  progressDone();
  process.stdout.write(text + "\n");
}
if (!suiteArg || suiteArg === "node") {
  const sizes = quick ? [100, 1000] : [100, 1000, 10_000, 20_000];
  const { rows, text } = nodeSuite(cfg, sizes, 10, quick ? 100 : 1000);
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
writeResult("machine", machine);
process.stdout.write(`done in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s; results in bench/results/\n`);
