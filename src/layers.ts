// The layers every host gets by default (ipset and ipvs register here as they land).
import type { Layer } from "./host.ts";
import { netfilterLayer } from "./netfilter/layer.ts";
import { ipsetLayer } from "./ipset/api.ts";

export function defaultLayers(): Layer[] {
  return [netfilterLayer, ipsetLayer];
}
