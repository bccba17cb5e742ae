import type { ScenarioReport } from "../scenario/run.ts";
import type { ScenarioComparison } from "../kernel/compare.ts";
import type { Topology } from "./topology.ts";
export class HtmlReport {
  constructor(readonly dir: string, readonly mode: "run" | "check") {}
  addRun(_name: string, _r: ScenarioReport, _t: Topology | null): void {}
  addCheck(_name: string, _c: ScenarioComparison, _e: ScenarioReport, _t: Topology | null): void {}
  finish(): void {}
}
