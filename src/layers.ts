// The layers every host gets. Each line installs one layer and hands it what it needs from
// the layers already installed (its `Below`); the result is every layer's runtime, typed.
import { Host, type Layer } from "./host.ts";
import { coreLayer } from "./commands/layer.ts";
import { netfilterLayer } from "./netfilter/layer.ts";
import { ipsetLayer } from "./ipset/api.ts";
import { ipvsLayer } from "./ipvs/layer.ts";
import { nftablesLayer } from "./nftables/layer.ts";

/**
 * Installs the default layers on a host and returns their runtimes. A layer is installed
 * after what it needs: ipset first (netfilter's xt_set needs its SetLookup), then
 * netfilter, which ipvs and nftables need. A new layer is one more line.
 */
export function installLayers(host: Host) {
  const ipset = ipsetLayer.install(host);
  const netfilter = netfilterLayer.install(host, { sets: ipset });
  return {
    ipset,
    netfilter,
    ipvs: ipvsLayer.install(host, { netfilter }),
    nftables: nftablesLayer.install(host, { netfilter }),
  };
}

/** The runtimes of the default layers (what installLayers returns). */
export type Layers = ReturnType<typeof installLayers>;

/** The default layers as one entry of HostOptions.layers / RunOptions.layers. */
export const defaultLayer: Layer<Layers> = { name: "default layers", install: installLayers };

export function defaultLayers(): Layer[] {
  return [coreLayer, defaultLayer];
}

/** A new host with the default layers installed, and their runtimes. */
export function hostWithLayers(options: { trace?: boolean } = {}): { host: Host; layers: Layers } {
  const host = new Host(options);
  return { host, layers: installLayers(host) };
}
