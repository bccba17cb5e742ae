// bridge (iproute2's bridge/link.c and bridge/fdb.c): port flags and the FDB.
import { findLink, linksOf } from "../config/netns.ts";
import { setHairpin } from "../config/links.ts";
import { formatMac } from "../wire/mac.ts";
import { FDB_AGEING_MS } from "../dataplane/bridge.ts";
import { ToolError, type Tool, type ToolOutput, type ToolContext } from "../tool/tool.ts";
import { matches, netlink, parseOnOff } from "./ip/common.ts";
import { linkFlags, linkName } from "./ip/format.ts";

export const bridgeTool: Tool = (argv, ctx) => {
  let i = 1;
  let details = false;
  for (; i < argv.length && argv[i]!.startsWith("-"); i++) {
    const o = argv[i]!;
    if (matches(o, "-details") || o === "-d") details = true;
    else if (matches(o, "-statistics") || o === "-s" || o === "-c" || matches(o, "-color")) continue;
    else throw new ToolError(`Option "${o}" is unknown, try "bridge help".`);
  }
  const obj = argv[i];
  if (obj === undefined) throw new ToolError("Usage: bridge [ OPTIONS ] OBJECT { COMMAND | help }");
  const rest = argv.slice(i + 1);
  if (matches(obj, "link")) return bridgeLink(rest, ctx, details);
  if (matches(obj, "fdb")) return bridgeFdb(rest, ctx);
  if (["mdb", "vlan", "vni", "monitor"].some((k) => matches(obj, k))) throw new ToolError(`Error: pktpath does not model "bridge ${obj}" yet.`);
  throw new ToolError(`Object "${obj}" is unknown, try "bridge help".`);
};

function bridgeLink(args: string[], ctx: ToolContext, details: boolean): ToolOutput {
  const cmd = args[0] ?? "show";
  if (matches(cmd, "show") || matches(cmd, "list") || matches(cmd, "lst")) return bridgeLinkShow(ctx, details);
  if (!matches(cmd, "set")) throw new ToolError(`Command "${cmd}" is unknown, try "bridge link help".`);
  let dev: string | null = null;
  let hairpin: boolean | null = null;
  for (let i = 1; i < args.length; i++) {
    const w = args[i]!;
    const v = args[i + 1];
    if (w === "dev") {
      if (v === undefined) throw new ToolError('Command line is not complete. Try option "help"');
      dev = v;
      i++;
    } else if (w === "hairpin") {
      if (v === undefined) throw new ToolError('Command line is not complete. Try option "help"');
      hairpin = parseOnOff("hairpin", v);
      i++;
    } else if (["guard", "fastleave", "root_block", "learning", "flood", "mcast_flood", "isolated", "cost", "priority", "state"].includes(w)) {
      throw new ToolError(`Error: pktpath does not model bridge port option "${w}" yet.`);
    } else throw new ToolError(BRIDGE_LINK_USAGE);
  }
  if (dev === null) throw new ToolError("Device is a required argument.");
  const link = findLink(ctx.host.config, ctx.ns, dev);
  if (!link) throw new ToolError(`Cannot find bridge device "${dev}"`);
  if (hairpin !== null) {
    const on = hairpin;
    netlink(ctx, (c) => setHairpin(c.links[link.id]!, on));
  }
  return { stdout: "" };
}

function bridgeLinkShow(ctx: ToolContext, details: boolean): ToolOutput {
  const view = ctx.host.dp.view;
  const config = ctx.host.config;
  const lines: string[] = [];
  for (const l of linksOf(config, ctx.ns)) {
    if (l.master === null) continue;
    const br = config.links[l.master]!;
    const lv = view.links.get(l.id)!;
    const state = lv.up && lv.carrier && br.up ? "forwarding" : "disabled";
    lines.push(`${l.ifindex}: ${linkName(config, l)}: ${linkFlags(view, l)} mtu ${l.mtu} master ${br.name} state ${state} priority 32 cost 2 `);
    if (details) {
      lines.push(
        `    hairpin ${l.hairpin ? "on" : "off"} guard off root_block off fastleave off learning on flood on mcast_flood on bcast_flood on mcast_router 1 mcast_to_unicast off neigh_suppress off vlan_tunnel off isolated off locked off `,
      );
    }
  }
  return { stdout: lines.map((l) => l + "\n").join("") };
}

function bridgeFdb(args: string[], ctx: ToolContext): ToolOutput {
  const cmd = args[0] ?? "show";
  if (!(matches(cmd, "show") || matches(cmd, "list"))) throw new ToolError(`Error: pktpath models "bridge fdb show" only.`);
  let brName: string | null = null;
  for (let i = 1; i < args.length; i++) {
    if (args[i] === "br" && args[i + 1] !== undefined) brName = args[++i]!;
    else throw new ToolError(`Error: argument "${args[i]}" is wrong: unknown fdb show option`);
  }
  const dp = ctx.host.dp;
  const ns = dp.view.netns.get(ctx.ns)!;
  const lines: string[] = [];
  // The kernel dumps device by device in ifindex order: a bridge's own multicast entries
  // (IPv4 all-hosts and MRD groups once it is up), then each port's learned entries, its
  // own address, and its all-hosts group.
  for (const dev of ns.links) {
    const br = dev.cfg.kind === "bridge" ? dev : dev.master;
    if (!br || (brName !== null && br.name !== brName)) continue;
    if (dev === br) {
      if (dev.up) lines.push(`01:00:5e:00:00:6a dev ${br.name} self permanent`, `01:00:5e:00:00:01 dev ${br.name} self permanent`);
      continue;
    }
    for (const [mac, e] of dp.fdb.get(br.id) ?? []) {
      if (e.port !== dev.id || dp.now - e.updated >= FDB_AGEING_MS) continue;
      lines.push(`${formatMac(mac)} dev ${dev.name} master ${br.name} `);
    }
    lines.push(`${formatMac(dev.cfg.mac)} dev ${dev.name} master ${br.name} permanent`);
    if (dev.up) lines.push(`01:00:5e:00:00:01 dev ${dev.name} self permanent`);
  }
  if (brName !== null && !ns.byName.has(brName)) throw new ToolError(`Cannot find bridge device "${brName}"`);
  return { stdout: lines.map((l) => l + "\n").join("") };
}

const BRIDGE_LINK_USAGE = `Usage: bridge link set dev DEV [ cost COST ] [ priority PRIO ] [ state STATE ]
                               [ guard {on | off} ]
                               [ hairpin {on | off} ]
                               [ fastleave {on | off} ]
                               [ root_block {on | off} ]
                               [ learning {on | off} ]
                               [ learning_sync {on | off} ]
                               [ flood {on | off} ]
                               [ mcast_router MULTICAST_ROUTER ]
                               [ mcast_flood {on | off} ]
                               [ bcast_flood {on | off} ]
                               [ mcast_to_unicast {on | off} ]
                               [ neigh_suppress {on | off} ]
                               [ vlan_tunnel {on | off} ]
                               [ isolated {on | off} ]
                               [ locked {on | off} ]
                               [ hwmode {vepa | veb} ]
                               [ backup_port DEVICE ] [ nobackup_port ]
                               [ self ] [ master ]
       bridge link show [dev DEV]`;
