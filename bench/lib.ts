// Shared pieces of the benchmarks: one benchmark.js measurement, the progress line,
// tables, results files, heap measurement.
import Benchmark from "benchmark";
import Table from "cli-table3";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "results");

export interface Measure {
  hz: number;
  rme: number;
  /** ns per operation */
  ns: number;
  samples: number;
}

export interface BenchConfig {
  quick: boolean;
  /** seconds per measurement (benchmark.js maxTime) */
  maxTime: number;
}

/** One benchmark.js measurement of fn (run synchronously). */
export function measure(name: string, fn: () => void, cfg: BenchConfig, opts: { maxTime?: number; setup?: () => void } = {}): Measure {
  progress(name);
  opts.setup?.();
  const b = new Benchmark(name, fn, { maxTime: opts.maxTime ?? cfg.maxTime, minSamples: cfg.quick ? 3 : 5, initCount: 1, delay: 0 });
  b.run({ async: false });
  if (b.error) throw b.error;
  return { hz: b.hz, rme: b.stats.rme, ns: 1e9 / b.hz, samples: b.stats.sample.length };
}

/** Times fn once (for things too slow or too stateful to repeat), in ms. */
export function timeOnce(name: string, fn: () => void): number {
  progress(name);
  const t = performance.now();
  fn();
  return performance.now() - t;
}

let lastLen = 0;
const started = Date.now();
export function progress(what: string): void {
  if (!process.stderr.isTTY) {
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${what}\n`);
    return;
  }
  const line = `[${((Date.now() - started) / 1000).toFixed(0)}s] ${what}`.slice(0, (process.stderr.columns ?? 100) - 1);
  process.stderr.write(`\r${line}${" ".repeat(Math.max(0, lastLen - line.length))}`);
  lastLen = line.length;
}
export function progressDone(): void {
  if (process.stderr.isTTY && lastLen) process.stderr.write(`\r${" ".repeat(lastLen)}\r`);
  lastLen = 0;
}

v8.setFlagsFromString("--expose-gc");
const gcFn = vm.runInNewContext("gc") as () => void;
/** Heap used after a full collection, in MB. */
export function heapMB(): number {
  gcFn();
  gcFn();
  return process.memoryUsage().heapUsed / 1048576;
}
export function gc(): void {
  gcFn();
}

export function table(title: string, head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map(String));
  return `${title}\n${t.toString()}\n`;
}

export function fmtHz(hz: number): string {
  return hz >= 1e6 ? `${(hz / 1e6).toFixed(2)} M` : hz >= 1e3 ? `${(hz / 1e3).toFixed(1)} k` : hz.toFixed(1);
}
export function fmtNs(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}
export function fmtRme(rme: number): string {
  return `±${rme.toFixed(1)}%`;
}
export function fmtN(n: number): string {
  return n >= 1000 ? `${n / 1000}k` : String(n);
}
export function ratio(a: number, b: number): string {
  const r = a / b;
  return r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`;
}

export function writeResult(name: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, JSON.stringify(data, null, 2) + "\n");
  return file;
}
