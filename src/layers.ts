// The layers every host gets by default, in dependency order.
import type { Layer } from "./host.ts";
import { netfilterLayer } from "./netfilter/layer.ts";
import { ipsetLayer } from "./ipset/api.ts";
import { ipvsLayer } from "./ipvs/layer.ts";
import { nftablesLayer } from "./nftables/layer.ts";

export function defaultLayers(): Layer[] {
  return [netfilterLayer, ipsetLayer, ipvsLayer, nftablesLayer];
}
