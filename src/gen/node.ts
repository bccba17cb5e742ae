// Bringing a generated node up on an emulated host, without going through YAML: the
// same command lines and here-documents a scenario would run.
import { Host } from "../host.ts";
import { defaultLayers } from "../layers.ts";
import type { GenStep, KubeProxyNode } from "./kubeproxy.ts";

/** Runs one generated step (its command lines; the here-document goes to its command). */
export function runStep(host: Host, step: GenStep): void {
  if (step.stdin !== undefined) {
    host.exec(step.run, "host", step.stdin);
    return;
  }
  for (const line of step.run.split("\n")) {
    const t = line.trim();
    if (t && !t.startsWith("#")) host.exec(t);
  }
}

export interface BuildTimes {
  topologyMs: number;
  /** Per kube-proxy load step (its command and the time it took). */
  load: { run: string; ms: number }[];
}

/** A host with the node's topology and kube-proxy's programming (no probes run). */
export function buildNode(node: KubeProxyNode, host: Host = new Host({ layers: defaultLayers() }), times?: BuildTimes): Host {
  const t0 = performance.now();
  runStep(host, node.steps[0]!);
  if (times) times.topologyMs = performance.now() - t0;
  for (const s of node.load) {
    const t = performance.now();
    runStep(host, s);
    if (times) times.load.push({ run: s.run.split("\n").find((l) => !l.startsWith("modprobe")) ?? s.run, ms: performance.now() - t });
  }
  return host;
}
