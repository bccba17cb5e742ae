// pktpath's library API: build a host, run commands and probes, read traces and snapshots.
export { Host, type Layer, type HostOptions } from "./host.ts";
export type { Config } from "./config/types.ts";
export type { ProbeResult, ProbeSpec, Outcome } from "./dataplane/probe.ts";
export type { TraceEvent } from "./dataplane/trace.ts";
export { formatTraceEvent } from "./dataplane/trace.ts";
export { ToolError, type ToolOutput } from "./tool/tool.ts";
export { loadScenario } from "./scenario/load.ts";
export { runScenario, type ScenarioReport, type ProbeReport } from "./scenario/run.ts";
export { ScenarioError } from "./scenario/types.ts";
export { defaultLayers, hostWithLayers, installLayers, type Layers } from "./layers.ts";
export { parseIPv4, formatIPv4 } from "./wire/ipv4.ts";
