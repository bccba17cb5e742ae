// --html DIR: one self-contained page per scenario (data, styles, scripts and the
// layout library inlined; nothing fetched) plus index.html. The page draws the
// topology with dagre and each probe's path over it; see assets/page.js.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { TraceEvent } from "../dataplane/trace.ts";
import type { ProbeReport, ScenarioReport } from "../scenario/run.ts";
import type { ScenarioComparison } from "../realkernel/compare.ts";
import type { Topology } from "./topology.ts";
import { briefEvents, directions, type Direction } from "./paths.ts";

export interface Hop {
  t: number;
  pkt: number;
  dir: Direction;
  ns: string;
  /** "netns/dev", or null when the step is at the namespace (hooks, rules, IPVS). */
  dev: string | null;
  step: string;
  detail: string;
}

/** A probe as the page shows it: the report's fields, its hops, and in check mode the kernel's side. */
export interface PageProbe extends Pick<ProbeReport, "line" | "command" | "netns" | "outcome" | "server" | "client_ip" | "expected" | "pass" | "why"> {
  /** check mode: the kernel's side and whether the two agree. */
  kernel?: { outcome: string; server: string | null; client_ip: string | null } | null;
  agree?: boolean | null;
  /** The first packet's and the first reply's events (as --trace=brief). */
  hops: Hop[];
  /** All events of the probe, for the "every packet" view. */
  events: number;
}

export interface PageData {
  mode: "run" | "check";
  name: string;
  file: string;
  summary: string;
  skipped: string | null;
  error: string | null;
  topology: Topology;
  probes: PageProbe[];
}

function hopsOf(events: TraceEvent[]): Hop[] {
  const { dir } = directions(events);
  return briefEvents(events).map((e) => ({
    t: e.t,
    pkt: e.pkt,
    dir: dir.get(e.pkt) ?? "other",
    ns: e.ns,
    dev: e.dev ? `${e.ns}/${e.dev}` : null,
    step: e.step,
    detail: e.detail,
  }));
}

function pageProbe(p: ProbeReport): PageProbe {
  return {
    line: p.line,
    command: p.command,
    netns: p.netns,
    outcome: p.outcome,
    server: p.server,
    client_ip: p.client_ip,
    expected: p.expected,
    pass: p.pass,
    why: p.why,
    hops: hopsOf(p.trace ?? []),
    events: p.trace?.length ?? 0,
  };
}

/** Devices worth drawing: all but loopbacks, which appear only when a probe used them. */
function pictured(topo: Topology | null, probes: PageProbe[]): Topology {
  const used = new Set<string>();
  for (const p of probes) for (const h of p.hops) if (h.dev) used.add(h.dev);
  const devices = (topo?.devices ?? []).filter((d) => d.kind !== "loopback" || used.has(d.id));
  const namespaces = [...(topo?.namespaces ?? [])];
  // Devices a probe crossed that are gone by the end (a namespace deleted later).
  for (const id of used) {
    if (devices.some((d) => d.id === id)) continue;
    const [ns, name] = [id.slice(0, id.indexOf("/")), id.slice(id.indexOf("/") + 1)];
    if (!namespaces.includes(ns)) namespaces.push(ns);
    devices.push({ id, ns, name, kind: "gone", mac: "", up: false, master: null, peer: null, hairpin: false, addrs: [], moreAddrs: 0 });
  }
  return { namespaces, devices };
}

const req = createRequire(import.meta.url);
let assets: { dagre: string; js: string; css: string } | null = null;
function loadAssets() {
  if (!assets) {
    const here = dirname(new URL(import.meta.url).pathname);
    assets = {
      dagre: readFileSync(join(dirname(req.resolve("@dagrejs/dagre/package.json")), "dist", "dagre.min.js"), "utf8"),
      js: readFileSync(join(here, "assets", "page.js"), "utf8"),
      css: readFileSync(join(here, "assets", "page.css"), "utf8"),
    };
  }
  return assets;
}

/** Text for an HTML text node or attribute value. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that cannot end its <script> element early. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

function inlineScript(code: string): string {
  return code.replace(/<\/script/gi, "<\\/script");
}

export function renderPage(data: PageData): string {
  const a = loadAssets();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${esc(data.name)} — pktpath</title>
<style>${a.css}</style>
</head>
<body data-mode="${data.mode}">
<header>
  <a class="back" href="index.html">index</a>
  <h1>${esc(data.name)}</h1>
  <span class="file">${esc(data.file)}</span>
  <span class="summary">${esc(data.summary)}</span>
  <span class="keys">↑/↓ or j/k: probe · ←/→ or h/l: hop</span>
</header>
<main>
  <section id="topo" aria-label="topology"><svg id="svg" role="img" aria-label="topology and the selected probe's path"></svg><div id="legend"></div></section>
  <section id="hops" aria-label="hops"><h2 id="hops-title">hops</h2><ol id="hop-list"></ol></section>
  <section id="probes" aria-label="probes"><div id="banner"></div><table id="probe-table"><thead></thead><tbody></tbody></table></section>
</main>
<script type="application/json" id="data">${scriptJson(data)}</script>
<script>${inlineScript(a.dagre)}</script>
<script>${inlineScript(a.js)}</script>
</body>
</html>
`;
}

interface IndexEntry {
  name: string;
  file: string;
  href: string;
  good: number;
  bad: number;
  note: string | null;
}

export class HtmlReport {
  private readonly entries: IndexEntry[] = [];

  constructor(
    readonly dir: string,
    readonly mode: "run" | "check",
  ) {
    mkdirSync(dir, { recursive: true });
  }

  private write(name: string, data: PageData, good: number, bad: number): void {
    writeFileSync(join(this.dir, `${name}.html`), renderPage(data));
    this.entries.push({ name: data.name, file: data.file, href: `${name}.html`, good, bad, note: data.skipped ?? data.error });
  }

  addRun(name: string, r: ScenarioReport, topo: Topology | null): void {
    const probes = r.probes.map(pageProbe);
    this.write(
      name,
      { mode: "run", name: r.name, file: r.file, summary: `${r.passed} passed, ${r.failed} failed`, skipped: null, error: r.error, topology: pictured(topo, probes), probes },
      r.passed,
      r.failed,
    );
  }

  addCheck(name: string, c: ScenarioComparison, _emu: ScenarioReport, topo: Topology | null): void {
    const probes: PageProbe[] = c.probes.map((pc) => {
      const e = pc.emulator;
      const base: PageProbe = e
        ? pageProbe(e)
        : { line: pc.line, command: pc.command, netns: "-", outcome: "-", server: null, client_ip: null, expected: null, pass: null, why: null, hops: [], events: 0 };
      base.kernel = c.skipped ? null : pc.kernel ? { outcome: pc.kernel.outcome, server: pc.kernel.server, client_ip: pc.kernel.client_ip } : null;
      base.agree = c.skipped ? null : pc.agree;
      return base;
    });
    // Disagreements first, then in file order (sort is stable).
    probes.sort((a, b) => Number(a.agree !== false) - Number(b.agree !== false));
    const stopped = [c.emulatorError && `emulator stopped: ${c.emulatorError}`, c.kernelError && `kernel stopped: ${c.kernelError}`].filter(Boolean).join("; ");
    this.write(
      name,
      {
        mode: "check",
        name: c.name,
        file: c.file,
        summary: `${c.agreements} agree, ${c.disagreements} disagree${c.listings.length ? ` (probes and ${c.listings.length} listings)` : ""}`,
        skipped: c.skipped ? `kernel side skipped: ${c.skipped}` : null,
        error: stopped || null,
        topology: pictured(topo, probes),
        probes,
      },
      c.agreements,
      c.disagreements,
    );
  }

  finish(): void {
    const a = loadAssets();
    const [goodName, badName] = this.mode === "check" ? ["agree", "disagree"] : ["passed", "failed"];
    const rows = this.entries
      .map(
        (e) =>
          `<tr class="${e.bad ? "bad" : "good"}"><td><a href="${esc(e.href)}">${esc(e.name)}</a></td><td class="file">${esc(e.file)}</td><td>${e.good}</td><td>${e.bad}</td><td>${esc(e.note ?? "")}</td></tr>`,
      )
      .join("\n");
    const total = this.entries.reduce((n, e) => n + e.good, 0);
    const bad = this.entries.reduce((n, e) => n + e.bad, 0);
    writeFileSync(
      join(this.dir, "index.html"),
      `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>pktpath ${this.mode} report</title>
<style>${a.css}</style>
</head>
<body class="index">
<header><h1>pktpath ${this.mode}</h1><span class="summary">${total} ${goodName}, ${bad} ${badName}</span></header>
<table class="index-table"><thead><tr><th>scenario</th><th>file</th><th>${goodName}</th><th>${badName}</th><th>note</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body>
</html>
`,
    );
  }
}
