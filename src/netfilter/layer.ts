// The netfilter layer: installs iptables, iptables-save, iptables-restore and conntrack
// on a host and registers its hook operations.
import type { Host, Layer } from "../host.ts";
import { NetfilterRuntime } from "./runtime.ts";
import { iptablesRestoreTool, iptablesSaveTool, iptablesTool } from "./iptables/index.ts";
import { conntrackTool } from "./conntrack-tool.ts";

const runtimes = new WeakMap<Host, NetfilterRuntime>();

export function netfilterOf(host: Host): NetfilterRuntime | undefined {
  return runtimes.get(host);
}

export const netfilterLayer: Layer = {
  name: "netfilter",
  install(host: Host): void {
    const rt = new NetfilterRuntime(host);
    runtimes.set(host, rt);
    for (const name of ["iptables", "iptables-nft", "iptables-legacy"]) host.registerTool(name, iptablesTool(rt));
    for (const name of ["iptables-save", "iptables-nft-save", "iptables-legacy-save"]) host.registerTool(name, iptablesSaveTool(rt));
    for (const name of ["iptables-restore", "iptables-nft-restore", "iptables-legacy-restore"]) host.registerTool(name, iptablesRestoreTool(rt));
    host.registerTool("conntrack", conntrackTool(rt));
    host.registerHooks({ name: "netfilter", commit: (config) => rt.commit(config), hookOps: (ns) => rt.hookOps(ns) });
  },
};
