// The emulated machine's topology at the end of a scenario, as plain data for the
// pcap and HTML views: namespaces, devices (netns/dev), veth peers, bridge ports.
import type { Host, Layer } from "../host.ts";
import type { Config } from "../config/types.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import { formatMac } from "../wire/mac.ts";

export interface TopoDevice {
  /** "netns/dev" */
  id: string;
  ns: string;
  name: string;
  kind: string;
  mac: string;
  up: boolean;
  /** The bridge this device is a port of ("netns/dev"). */
  master: string | null;
  /** The veth peer ("netns/dev"). */
  peer: string | null;
  hairpin: boolean;
  /** Addresses as a.b.c.d/len, at most MAX_ADDRS of them ... */
  addrs: string[];
  /** ... and how many more there are. */
  moreAddrs: number;
}

export interface Topology {
  namespaces: string[];
  devices: TopoDevice[];
}

const MAX_ADDRS = 4;

export function topologyOf(cfg: Config): Topology {
  const links = Object.values(cfg.links);
  const idOf = new Map<number, string>(links.map((l) => [l.id, `${l.netns}/${l.name}`]));
  const devices: TopoDevice[] = links
    .map((l) => ({
      id: `${l.netns}/${l.name}`,
      ns: l.netns,
      name: l.name,
      kind: l.kind,
      mac: formatMac(l.mac),
      up: l.up,
      master: l.master !== null ? (idOf.get(l.master) ?? null) : null,
      peer: l.peer !== null ? (idOf.get(l.peer) ?? null) : null,
      hairpin: l.hairpin,
      addrs: l.addrs.slice(0, MAX_ADDRS).map((a) => `${formatIPv4(a.addr)}/${a.plen}`),
      moreAddrs: Math.max(0, l.addrs.length - MAX_ADDRS),
    }))
    .sort((a, b) => (a.ns === b.ns ? 0 : a.ns === "host" ? -1 : b.ns === "host" ? 1 : a.ns < b.ns ? -1 : 1));
  const namespaces = Object.keys(cfg.netns).sort((a, b) => (a === "host" ? -1 : b === "host" ? 1 : a < b ? -1 : a > b ? 1 : 0));
  return { namespaces, devices };
}

/** A layer that only remembers the host it was installed on (to read its topology after the run). */
export function captureHost(): { layer: Layer; host(): Host | null } {
  let captured: Host | null = null;
  return {
    layer: {
      name: "capture",
      install(h) {
        captured = h;
      },
    },
    host: () => captured,
  };
}
