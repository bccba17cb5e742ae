// Every layer pktpath has, in dependency order, the core tools first: what the CLI,
// the scenario runner's callers and real-kernel mode install (a bare Host gets the core alone).
import type { Layer } from "./host.ts";
import { coreLayer } from "./commands/layer.ts";
import { netfilterLayer } from "./netfilter/layer.ts";
import { ipsetLayer } from "./ipset/api.ts";
import { ipvsLayer } from "./ipvs/layer.ts";
import { nftablesLayer } from "./nftables/layer.ts";

export function defaultLayers(): Layer[] {
  return [coreLayer, netfilterLayer, ipsetLayer, ipvsLayer, nftablesLayer];
}
