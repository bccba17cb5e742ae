// A bare snapshot for the config tests: the pure functions of src/config/ applied to a
// plain Config (no host, no immer), and routes read back in `ip route show table all` terms.
import { initialConfig, findLink } from "../../src/config/netns.ts";
import { addLink } from "../../src/config/links.ts";
import { addAddress } from "../../src/config/addrs.ts";
import type { Config, LinkConfig, RouteConfig, Scope } from "../../src/config/types.ts";
import { RT_TABLE_LOCAL, RT_TABLE_MAIN, ROOT_NETNS } from "../../src/config/types.ts";
import { formatIPv4, parseIPv4 } from "../../src/wire/ipv4.ts";

export const NS = ROOT_NETNS;

export function ip(text: string): number {
  const a = parseIPv4(text);
  if (a === null) throw new Error(`not an address: ${text}`);
  return a;
}

/** A snapshot with a veth pair va (here) / vb (here), both down. */
export function vethWorld(): { c: Config; va: LinkConfig; vb: LinkConfig } {
  const c = initialConfig();
  addLink(c, NS, { name: "va", kind: "veth", peerName: "vb", peerNetns: null, mac: null });
  return { c, va: findLink(c, NS, "va")!, vb: findLink(c, NS, "vb")! };
}

export function addr(c: Config, link: LinkConfig, cidr: string, scope: Scope = "global"): void {
  const [a, len] = cidr.split("/");
  addAddress(c, link, { addr: ip(a!), plen: Number(len), broadcast: 0, scope });
}

/** One route in the words of `ip route show table all` (without proto boot and trailing flags). */
function routeText(c: Config, r: RouteConfig): string {
  const type = r.type === "unicast" ? "" : `${r.type} `;
  const dst = r.plen === 32 ? formatIPv4(r.dst) : r.plen === 0 ? "default" : `${formatIPv4(r.dst)}/${r.plen}`;
  const parts = [`${type}${dst}`];
  if (r.via !== null) parts.push(`via ${formatIPv4(r.via)}`);
  if (r.dev !== null) parts.push(`dev ${c.links[r.dev]!.name}`);
  if (r.table === RT_TABLE_LOCAL) parts.push("table local");
  else if (r.table !== RT_TABLE_MAIN) parts.push(`table ${r.table}`);
  if (r.proto !== "boot") parts.push(`proto ${r.proto}`);
  if (r.scope !== "global") parts.push(`scope ${r.scope}`);
  if (r.src !== null) parts.push(`src ${formatIPv4(r.src)}`);
  if (r.metric) parts.push(`metric ${r.metric}`);
  return parts.join(" ");
}

/** The namespace's routes through dev (or all, without lo's), sorted, as text. */
export function routes(c: Config, dev?: string): string[] {
  return c.netns[NS]!.routes.filter((r) => (dev === undefined ? r.dev === null || c.links[r.dev]!.name !== "lo" : r.dev !== null && c.links[r.dev]!.name === dev))
    .map((r) => routeText(c, r))
    .sort();
}
