// Bringing a generated node up on an emulated host, without going through YAML: the
// same command lines and here-documents a scenario would run.
import { Host } from "../host.ts";
import { defaultLayers } from "../layers.ts";
import type { GenStep, KubeProxyNode } from "./kubeproxy.ts";
import { addAddress } from "../config/addrs.ts";
import { parseIPv4 } from "../wire/ipv4.ts";
import type { Config, LinkConfig } from "../config/types.ts";

const ADDR_ADD = /^ip address add (\d+\.\d+\.\d+\.\d+)\/(\d+) dev (\S+)$/;

/**
 * Like `ip -batch`: the `ip address add A/32 dev D` lines of a step applied in one
 * snapshot, through the same pure function (addAddress) the command uses; the other
 * lines run as commands. One snapshot instead of one per address: the lists are
 * persistent (src/config/plist.ts: an address costs a chunk of each list), but each
 * snapshot costs immer's produce and the view's update.
 */
export function runStepBatched(host: Host, step: GenStep): void {
  if (step.stdin !== undefined) return runStep(host, step);
  const batch: { addr: number; plen: number; dev: string }[] = [];
  const flush = () => {
    if (!batch.length) return;
    const items = batch.splice(0);
    host.change((draft: Config) => {
      const byDev = new Map<string, typeof items>();
      for (const it of items) (byDev.get(it.dev) ?? byDev.set(it.dev, []).get(it.dev)!).push(it);
      for (const [dev, list] of byDev) {
        const id = Object.values(host.config.links).find((l) => l.netns === "host" && l.name === dev)?.id;
        if (id === undefined) throw new Error(`Cannot find device "${dev}"`);
        const orig = host.config.links[id]!;
        // Work on plain copies (no draft proxies), then hand the results to the draft.
        const link: LinkConfig = { ...orig };
        const nsc = { ...host.config.netns["host"]! };
        const plain = { ...host.config, netns: { ...host.config.netns, host: nsc } } as Config;
        for (const it of list) addAddress(plain, link, { addr: it.addr, plen: it.plen, broadcast: 0, scope: "global" });
        draft.links[id]!.addrs = link.addrs;
        draft.netns["host"]!.routes = nsc.routes;
      }
    });
  };
  for (const line of step.run.split("\n")) {
    const t = line.trim();
    if (!t || t.startsWith("#")) continue;
    const m = ADDR_ADD.exec(t);
    if (m) batch.push({ addr: parseIPv4(m[1]!)!, plen: Number(m[2]), dev: m[3]! });
    else {
      flush();
      host.exec(t);
    }
  }
  flush();
}

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

export interface BuildOptions {
  host?: Host;
  times?: BuildTimes;
  /**
   * Build the dataplane's view once per load step instead of following every snapshot.
   * The view follows each command incrementally (docs/design.md), which still scans the
   * changed address and route arrays by identity per command; with this the commands
   * and the snapshots are the same, only the view is compiled at the end of each step.
   * Benchmarks use it at large N and say so.
   */
  deferView?: boolean;
  /** (with deferView) `ip address add` lines in one snapshot, as `ip -batch` would. */
}

/** Runs fn with the dataplane's view compiled once at the end rather than per snapshot. */
export function withDeferredView(host: Host, fn: () => void): void {
  const dp = host.dp;
  const real = dp.setConfig;
  let pending: Parameters<typeof real>[0] | null = null;
  dp.setConfig = function (this: typeof dp, config) {
    pending = config;
    // Namespaces must exist for the tools that keep per-namespace state (listeners).
    for (const name of Object.keys(config.netns)) if (!this.ns.has(name)) real.call(this, config);
  };
  try {
    fn();
  } finally {
    dp.setConfig = real;
    if (pending) dp.invalidate(pending);
  }
}

/** A host with the node's topology and kube-proxy's programming (no probes run). */
export function buildNode(node: KubeProxyNode, options: BuildOptions = {}): Host {
  const host = options.host ?? new Host({ layers: defaultLayers() });
  const times = options.times;
  const t0 = performance.now();
  runStep(host, node.steps[0]!);
  if (times) times.topologyMs = performance.now() - t0;
  for (const s of node.load) {
    const t = performance.now();
    if (options.deferView) withDeferredView(host, () => runStepBatched(host, s));
    else runStep(host, s);
    if (times) {
      const adds = s.stdin === undefined ? s.run.split("\n").filter((l) => ADDR_ADD.test(l.trim())).length : 0;
      times.load.push({ run: adds ? `ip address add x${adds}` : s.run, ms: performance.now() - t });
    }
  }
  return host;
}
