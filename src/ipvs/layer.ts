// The IPVS layer: installs ipvsadm and registers IPVS's hooks. It needs the netfilter
// runtime, on which it registers its use of conntrack (net.ipv4.vs.conntrack=1).
import type { Host, Layer } from "../host.ts";
import type { NetfilterRuntime } from "../netfilter/runtime.ts";
import { IpvsRuntime } from "./runtime.ts";
import { ipvsadmTool } from "./ipvsadm/index.ts";

export const ipvsLayer: Layer<IpvsRuntime, { netfilter: NetfilterRuntime }> = {
  name: "ipvs",
  install(host: Host, { netfilter }): IpvsRuntime {
    const rt = new IpvsRuntime(host);
    host.registerTool("ipvsadm", ipvsadmTool(rt));
    host.registerHooks({ name: "ipvs", commit: (config) => rt.commit(config), hookOps: (ns) => rt.hookOps(ns) });
    // ip_vs_register_conntrack(): with vs.conntrack=1 IPVS keeps conntrack entries.
    netfilter.register({ needsConntrack: (ns, config) => config.netns[ns]?.sysctl["net.ipv4.vs.conntrack"] === "1" });
    return rt;
  },
};
