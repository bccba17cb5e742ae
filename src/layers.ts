// The layers every host gets by default (netfilter, ipset and ipvs register here as they land).
import type { Layer } from "./host.ts";

export function defaultLayers(): Layer[] {
  return [];
}
