// The nftables layer: installs `nft` on a host and registers its base chains on the
// dataplane's hooks, its nat chains in nf_nat's lookup list, and its need for conntrack.
import type { Host, Layer } from "../host.ts";
import { netfilterOf } from "../netfilter/layer.ts";
import { NftRuntime } from "./runtime.ts";
import { nftTool } from "./tool.ts";

const runtimes = new WeakMap<Host, NftRuntime>();

export function nftablesOf(host: Host): NftRuntime | undefined {
  return runtimes.get(host);
}

export const nftablesLayer: Layer = {
  name: "nftables",
  install(host: Host): void {
    const rt = new NftRuntime(host);
    runtimes.set(host, rt);
    const nf = netfilterOf(host);
    if (!nf) throw new Error("the nftables layer needs the netfilter layer (conntrack, NAT) installed first");
    nf.conntrackUsers.push((ns, config) => rt.needsConntrack(ns, config));
    nf.natLookups.push((ns) => rt.natLookups(ns));
    host.registerTool("nft", nftTool(rt));
    host.registerHooks({ name: "nftables", commit: (config) => rt.commit(config), hookOps: (ns) => rt.hookOps(ns) });
  },
};
