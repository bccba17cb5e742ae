// Loading a scenario for trace and reach: every step run on one emulated host, which
// the questions are then asked of.
import { statSync } from "node:fs";
import { Host } from "../host.ts";
import { installLayers, type Layers } from "../layers.ts";
import { loadScenario } from "../scenario/load.ts";
import { validateScenario } from "../scenario/run.ts";
import { ScenarioError, type Scenario } from "../scenario/types.ts";
import { ToolError } from "../tool/tool.ts";
import { parseIPv4 } from "../wire/ipv4.ts";
import type { ProbeSpec } from "../dataplane/probe.ts";

export interface LoadedNode {
  scenario: Scenario;
  host: Host;
  /** The runtimes of its layers. */
  layers: Layers;
  /** Wall-clock ms spent loading. */
  ms: number;
  /** CPU ms (user and system) spent loading. */
  cpuMs: number;
}

/** Loads FILE and runs all its steps; a bad line throws ScenarioError (FILE:LINE: ...). */
export function loadNode(file: string): LoadedNode {
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) throw new ScenarioError(file, 0, "no such file or folder");
  if (!st.isFile()) throw new ScenarioError(file, 0, "not a scenario file");
  const scenario = loadScenario(file);
  const host = new Host();
  const layers = installLayers(host);
  validateScenario(scenario, host);
  for (const step of scenario.steps) {
    if (step.kind === "advance") {
      host.advance(step.ms);
      continue;
    }
    for (const cl of step.commands) {
      for (let rep = 0; rep < step.repeat; rep++) {
        try {
          host.exec(cl.text, "host", cl.stdin ?? null);
        } catch (e) {
          if (e instanceof ToolError) throw new ScenarioError(scenario.file, cl.line, e.message);
          throw e;
        }
      }
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return { scenario, host, layers, ms: Date.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
}

export type Proto = "tcp" | "udp" | "icmp";

export function parseProto(p: string): Proto {
  if (p === "tcp" || p === "udp" || p === "icmp") return p;
  throw new Error(`protocol "${p}": tcp, udp or icmp`);
}

/**
 * A probe of the given protocol, as curl -m 1 (or nc -z -w 1 when `connectOnly`: the
 * listener that accepts is the answer), nc -u -w 1 or ping -c 1 -W 1 make it.
 */
export function probeSpec(proto: Proto, daddr: number, dport: number, connectOnly = false): ProbeSpec {
  return { kind: proto === "tcp" ? (connectOnly ? "tcp" : "http") : proto === "udp" ? "udp" : "ping", daddr, dport, timeoutMs: 1000, count: 1 };
}

/** The namespaces holding an IPv4 address (not counting 127.0.0.0/8). */
export function namespacesOf(host: Host, addr: number): string[] {
  const out: string[] = [];
  for (const [name, ns] of host.dp.view.netns) if (ns.local.has(addr)) out.push(name);
  return out;
}

/** NS or ADDR: the namespace to run in. */
export function resolveSource(host: Host, from: string): string {
  if (host.dp.view.netns.has(from)) return from;
  const a = parseIPv4(from);
  if (a === null) throw new Error(`--from "${from}": no such namespace, and not an IPv4 address`);
  const owners = namespacesOf(host, a);
  if (!owners.length) throw new Error(`--from ${from}: no namespace of this node holds that address`);
  return owners[0]!;
}

/** ADDR:PORT (PORT optional for icmp). */
export function parseTarget(to: string, proto: Proto): { addr: number; port: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(to);
  const addr = m ? parseIPv4(m[1]!) : null;
  if (!m || addr === null) throw new Error(`"${to}": expected ADDR:PORT`);
  if (m[2] === undefined && proto !== "icmp") throw new Error(`"${to}": expected ADDR:PORT`);
  const port = m[2] === undefined ? 0 : Number(m[2]);
  if (port > 65535 || (port === 0 && proto !== "icmp")) throw new Error(`"${to}": bad port`);
  return { addr, port };
}
