// The IPVS layer: installs ipvsadm and registers IPVS's hooks, and asks netfilter to
// track connections in a namespace where net.ipv4.vs.conntrack=1.
import type { Host, Layer } from "../host.ts";
import { IpvsRuntime } from "./runtime.ts";
import { ipvsadmTool } from "./ipvsadm/index.ts";
import { netfilterOf } from "../netfilter/layer.ts";

const runtimes = new WeakMap<Host, IpvsRuntime>();

export function ipvsOf(host: Host): IpvsRuntime | undefined {
  return runtimes.get(host);
}

export const ipvsLayer: Layer = {
  name: "ipvs",
  install(host: Host): void {
    const rt = new IpvsRuntime(host);
    runtimes.set(host, rt);
    host.registerTool("ipvsadm", ipvsadmTool(rt));
    host.registerHooks({ name: "ipvs", commit: (config) => rt.commit(config), hookOps: (ns) => rt.hookOps(ns) });
    // ip_vs_register_conntrack(): with vs.conntrack=1 IPVS keeps conntrack entries.
    netfilterOf(host)?.conntrackUsers.push((ns, config) => config.netns[ns]?.sysctl["net.ipv4.vs.conntrack"] === "1");
  },
};
