// Files a run leaves behind on request: --pcap DIR (one pcapng per scenario) and
// --html DIR (one report per scenario, plus index.html).
import { mkdirSync } from "node:fs";
import { join, relative, isAbsolute } from "node:path";
import type { Host } from "../host.ts";
import type { ScenarioReport } from "../scenario/run.ts";
import type { ScenarioComparison } from "../realkernel/compare.ts";
import { topologyOf, type Topology } from "../report/topology.ts";
import { writePcapng } from "../pcap/pcapng.ts";
import { HtmlReport } from "../report/html.ts";

/** A file name for a scenario: its path (relative to here when inside) with / as -. */
export function artefactName(file: string, taken: Set<string>): string {
  const rel = relative(process.cwd(), file);
  const base = (rel.startsWith("..") || isAbsolute(rel) ? file.split(/[/\\]/).pop()! : rel)
    .replace(/\.ya?ml$/, "")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[-.]+/, "") || "scenario";
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  taken.add(name);
  return name;
}

export class Artefacts {
  private readonly names = new Set<string>();
  private readonly html: HtmlReport | null;

  constructor(
    private readonly pcapDir: string | null,
    htmlDir: string | null,
    mode: "run" | "check",
  ) {
    if (pcapDir) mkdirSync(pcapDir, { recursive: true });
    this.html = htmlDir ? new HtmlReport(htmlDir, mode) : null;
  }

  get wanted(): boolean {
    return this.pcapDir !== null || this.html !== null;
  }

  private topo(host: Host | null): Topology | null {
    return host ? topologyOf(host.config) : null;
  }

  addRun(r: ScenarioReport, host: Host | null): void {
    const name = artefactName(r.file, this.names);
    const topo = this.topo(host);
    if (this.pcapDir) writePcapng(join(this.pcapDir, `${name}.pcapng`), r, topo);
    this.html?.addRun(name, r, topo);
  }

  addCheck(c: ScenarioComparison, emu: ScenarioReport, host: Host | null): void {
    const name = artefactName(c.file, this.names);
    this.html?.addCheck(name, c, emu, this.topo(host));
  }

  finish(): void {
    this.html?.finish();
  }
}
