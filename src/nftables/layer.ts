// The nftables layer: installs `nft` on a host and registers its base chains on the
// dataplane's hooks. It needs the netfilter runtime (conntrack, NAT), on which it
// registers its need for conntrack and its nat chains in nf_nat's lookup list.
import type { Host, Layer } from "../host.ts";
import type { NetfilterRuntime } from "../netfilter/runtime.ts";
import { NftRuntime } from "./runtime.ts";
import { nftTool } from "./tool.ts";

export const nftablesLayer: Layer<NftRuntime, { netfilter: NetfilterRuntime }> = {
  name: "nftables",
  install(host: Host, { netfilter }): NftRuntime {
    const rt = new NftRuntime(host, netfilter);
    netfilter.register({ needsConntrack: (ns, config) => rt.needsConntrack(ns, config), natLookups: (ns) => rt.natLookups(ns) });
    host.registerTool("nft", nftTool(rt));
    host.registerHooks({ name: "nftables", commit: (config) => rt.commit(config), hookOps: (ns) => rt.hookOps(ns) });
    return rt;
  },
};
