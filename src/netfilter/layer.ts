// The netfilter layer: installs iptables, iptables-save, iptables-restore and conntrack
// on a host and registers its hook operations. It needs the sets xt_set looks up (the
// ipset layer's SetLookup), handed in; layers above register on the runtime it returns.
import type { Host, Layer } from "../host.ts";
import { NetfilterRuntime, type NetfilterNeeds } from "./runtime.ts";
import { iptablesRestoreTool, iptablesSaveTool, iptablesTool } from "./iptables/index.ts";
import { conntrackTool } from "./conntrack-tool.ts";

export const netfilterLayer: Layer<NetfilterRuntime, NetfilterNeeds> = {
  name: "netfilter",
  install(host: Host, needs: NetfilterNeeds): NetfilterRuntime {
    const rt = new NetfilterRuntime(host, needs);
    for (const name of ["iptables", "iptables-nft", "iptables-legacy"]) host.registerTool(name, iptablesTool(rt));
    for (const name of ["iptables-save", "iptables-nft-save", "iptables-legacy-save"]) host.registerTool(name, iptablesSaveTool(rt));
    for (const name of ["iptables-restore", "iptables-nft-restore", "iptables-legacy-restore"]) host.registerTool(name, iptablesRestoreTool(rt));
    host.registerTool("conntrack", conntrackTool(rt));
    host.registerHooks({ name: "netfilter", commit: (config) => rt.commit(config), hookOps: (ns) => rt.hookOps(ns) });
    return rt;
  },
};
