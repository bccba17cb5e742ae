// Loading large scenario files (issue 14): the YAML of a generated kube-proxy node
// (`pktpath gen kube-proxy`) and scenarios with one 10-40 MB here-document
// (iptables-restore <<EOF ... EOF), through loadScenario as `pktpath run` reads them.
// Loading must cost the size of the file: the table gives ms per MB and the growth from
// one size to the next (2.00× is linear for a doubled file), in wall and CPU time, and
// the loader's own operation count (its meter). For the generated node, applying it
// (runScenario) is timed too, to set the load beside the work it feeds.
import { generateKubeProxy } from "../src/gen/index.ts";
import { defaultLayers } from "../src/layers.ts";
import { loadScenario, type LoadMeter } from "../src/scenario/load.ts";
import { runScenario } from "../src/scenario/run.ts";
import { fmtN, gc, progress, table, writeResult } from "./lib.ts";

/** A scenario whose one step is `iptables-restore <<EOF` with about mb MB of rules. */
export function heredocScenario(mb: number): string {
  const lines: string[] = ["name: one large here-document", "steps:", "  - run: |", "      iptables-restore <<EOF", "      *filter", "      :INPUT ACCEPT [0:0]"];
  let size = 0;
  for (let i = 0; size < mb * 1e6; i++) {
    const l = `      -A INPUT -s 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 -p tcp -m tcp --dport 80 -m comment --comment "rule ${i}" -j ACCEPT`;
    lines.push(l);
    size += l.length + 1;
  }
  lines.push("      COMMIT", "      EOF", "");
  return lines.join("\n");
}

export interface LoadRow {
  input: string;
  bytes: number;
  /** median of the repetitions */
  wallMs: number;
  cpuMs: number;
  ops: number;
  /** running the loaded scenario (generated nodes only) */
  applyMs: number | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeLoad(input: string, text: string, reps: number): Omit<LoadRow, "applyMs"> {
  const walls: number[] = [];
  const cpus: number[] = [];
  let ops = 0;
  for (let r = 0; r < reps; r++) {
    progress(`load: ${input} (${(text.length / 1e6).toFixed(1)} MB) ${r + 1}/${reps}`);
    gc();
    const meter: LoadMeter = { ops: 0 };
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    loadScenario(`${input}.yaml`, text, { meter });
    walls.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
    ops = meter.ops;
  }
  return { input, bytes: text.length, wallMs: median(walls), cpuMs: median(cpus), ops };
}

export function loadSuite(o: { quick: boolean; full: boolean }): { rows: LoadRow[]; text: string } {
  const reps = o.quick ? 1 : 3;
  const rows: LoadRow[] = [];
  const nodes = o.quick ? [1000, 2000] : o.full ? [2500, 5000, 10_000, 20_000] : [2500, 5000];
  const applyUpTo = o.quick ? 1000 : 5000;
  for (const n of nodes) {
    progress(`load: generating the ${fmtN(n)} iptables node`);
    const yaml = generateKubeProxy({ mode: "iptables", services: n, endpoints: 10, probes: true }).yaml;
    const row: LoadRow = { ...timeLoad(`gen kube-proxy --mode iptables --services ${fmtN(n)}`, yaml, reps), applyMs: null };
    if (n <= applyUpTo) {
      progress(`load: applying the ${fmtN(n)} node (runScenario)`);
      const s = loadScenario("node.yaml", yaml);
      gc();
      const t0 = performance.now();
      const r = runScenario(s, { trace: false, layers: defaultLayers() });
      row.applyMs = performance.now() - t0;
      if (r.error || r.failed) throw new Error(`the generated ${n} node did not run: ${r.error ?? `${r.failed} failed`}`);
    }
    rows.push(row);
    gc();
  }
  for (const mb of o.quick ? [10, 20] : [10, 20, 40]) rows.push({ ...timeLoad(`iptables-restore <<EOF, ${mb} MB`, heredocScenario(mb), reps), applyMs: null });
  // One 2 MB line of blanks ending in a continuation, then a here-document opener:
  // what a regular expression with a lazy prefix would take quadratic time over.
  const blanks = `name: a long line\nsteps:\n  - run: |\n      echo a${" ".repeat(2e6)}b \\\n      c${" ".repeat(2e6)}d <<'EOF'\n      x\n      EOF\n`;
  rows.push({ ...timeLoad("a 4 MB line of blanks (continued, then <<'EOF')", blanks, reps), applyMs: null });
  writeResult("load", { reps, rows });
  const body = rows.map((r, i) => {
    const prev = rows[i - 1];
    const grows = prev && prev.input.split(" ")[0] === r.input.split(" ")[0] && r.input !== prev.input ? `${(r.cpuMs / prev.cpuMs).toFixed(2)}× for ${(r.bytes / prev.bytes).toFixed(2)}× the size` : "";
    return [
      r.input,
      `${(r.bytes / 1e6).toFixed(1)} MB`,
      `${r.wallMs.toFixed(0)} ms`,
      `${r.cpuMs.toFixed(0)} ms`,
      `${(r.cpuMs / (r.bytes / 1e6)).toFixed(1)} ms/MB`,
      grows,
      r.ops.toLocaleString("en"),
      r.applyMs === null ? "-" : `${(r.applyMs / 1000).toFixed(2)} s (load ${((r.wallMs / r.applyMs) * 100).toFixed(0)}% of it)`,
    ];
  });
  return {
    rows,
    text: table(
      `Loading large scenario files (loadScenario: YAML, steps, here-documents; median of ${reps}; CPU time is the process's, so other processes' load shows less)`,
      ["input", "size", "load (wall)", "load (CPU)", "CPU per MB", "growth (CPU)", "loader ops", "applying it"],
      body,
    ),
  };
}

// npx tsx bench/load.ts [--quick|--full]: the suite alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { text } = loadSuite({ quick: process.argv.includes("--quick"), full: process.argv.includes("--full") });
  process.stderr.write("\n");
  process.stdout.write(text);
}
