// ip link: add, delete, set, show (ip/iplink.c).
import type { LinkKind } from "../../config/types.ts";
import { addLink, delLink, setHairpin, setMaster, setNetns, setUp, recalcBridgeMac } from "../../config/links.ts";
import { findLink, linksOf } from "../../config/netns.ts";
import { KernelError } from "../../config/errors.ts";
import { parseMac } from "../../wire/mac.ts";
import { ToolError, type ToolOutput } from "../tool.ts";
import { Args, cannotFindDevice, type IpContext, matches, netlink, parseOnOff } from "./common.ts";
import { briefLink, showLink } from "./format.ts";

const KINDS: Record<string, Exclude<LinkKind, "loopback">> = { veth: "veth", bridge: "bridge", dummy: "dummy" };
const KNOWN_UNMODELLED = new Set(["vlan", "vxlan", "macvlan", "ipvlan", "bond", "team", "gre", "ipip", "tun", "tap", "geneve", "vrf", "wireguard", "ifb", "nlmon", "sit", "vti"]);

export function ipLink(args: Args, ctx: IpContext): ToolOutput {
  if (args.done) return linkShow(args, ctx);
  const cmd = args.next();
  if (matches(cmd, "add")) return linkAdd(args, ctx);
  if (matches(cmd, "delete") || cmd === "del") return linkDel(args, ctx);
  if (matches(cmd, "set") || matches(cmd, "change")) return linkSet(args, ctx);
  if (matches(cmd, "show") || matches(cmd, "list") || matches(cmd, "lst")) return linkShow(args, ctx);
  if (matches(cmd, "help")) return { stdout: "Usage: ip link add [link DEV] [ name ] NAME type TYPE [ ARGS ]\n" };
  throw new ToolError(`Command "${cmd}" is unknown, try "ip link help".`);
}

function linkAdd(args: Args, ctx: IpContext): ToolOutput {
  let name: string | null = null;
  let type: string | null = null;
  let mac: number | null = null;
  let peerName: string | null = null;
  let peerNs: string | null = null;
  while (!args.done) {
    const w = args.next();
    if (w === "type") {
      type = args.value();
      if (type === "veth" && !args.done && args.peek() === "peer") {
        args.next();
        while (!args.done) {
          const p = args.next();
          if (p === "name") peerName = args.value();
          else if (p === "netns") peerNs = args.value();
          else if (p === "address") args.value();
          else if (peerName === null) peerName = p;
          else throw new ToolError(`Error: argument "${p}" is wrong: unknown veth peer option`);
        }
      }
    } else if (w === "name" || w === "dev") {
      name = args.value();
    } else if (w === "address") {
      const text = args.value();
      mac = parseMac(text);
      if (mac === null) throw new ToolError(`"${text}" is invalid lladdr.`);
    } else if (w === "mtu" || w === "txqueuelen" || w === "qlen") {
      args.value();
    } else if (name === null) {
      name = w;
    } else {
      throw new ToolError(`Error: either "dev" is duplicate, or "${w}" is a garbage.`);
    }
  }
  if (type === null) throw new ToolError('Not enough information: "type" argument is required');
  if (name !== null && name.length > 15) throw new ToolError(`Error: argument "${name}" is wrong: "name" not a valid ifname`);
  const kind = KINDS[type];
  if (!kind) {
    if (KNOWN_UNMODELLED.has(type)) throw new ToolError(`Error: pktpath does not model links of type "${type}" yet.`);
    throw new ToolError("Error: Unknown device type.");
  }
  if (peerNs !== null && !ctx.host.config.netns[peerNs]) throw new ToolError(`Cannot open network namespace "${peerNs}": No such file or directory`);
  netlink(ctx, (c) => {
    addLink(c, ctx.opts.ns, { name, kind, peerName, peerNetns: peerNs, mac });
  });
  return { stdout: "" };
}

function linkDel(args: Args, ctx: IpContext): ToolOutput {
  let name: string | null = null;
  while (!args.done) {
    const w = args.next();
    if (w === "dev") name = args.value();
    else if (name === null) name = w;
    else throw new ToolError(`Error: either "dev" is duplicate, or "${w}" is a garbage.`);
  }
  if (name === null) throw new ToolError('Not enough information: "dev" argument is required.');
  const link = findLink(ctx.host.config, ctx.opts.ns, name);
  if (!link) throw cannotFindDevice(name);
  netlink(ctx, (c) => delLink(c, c.links[link.id]!));
  return { stdout: "" };
}

function linkSet(args: Args, ctx: IpContext): ToolOutput {
  let name: string | null = null;
  const ops: ((c: import("../../config/types.ts").Config, id: number) => void)[] = [];
  while (!args.done) {
    const w = args.next();
    if (w === "dev") name = args.value();
    else if (w === "up" || w === "down") {
      const up = w === "up";
      ops.push((c, id) => setUp(c, c.links[id]!, up));
    } else if (w === "master") {
      const br = args.value();
      const master = findLink(ctx.host.config, ctx.opts.ns, br);
      if (!master) throw new ToolError(`Error: argument "${br}" is wrong: Device does not exist\n`);
      ops.push((c, id) => setMaster(c, c.links[id]!, c.links[master.id]!));
    } else if (w === "nomaster") {
      ops.push((c, id) => setMaster(c, c.links[id]!, null));
    } else if (w === "netns") {
      const ns = args.value();
      if (!ctx.host.config.netns[ns]) throw new ToolError(`Error: argument "${ns}" is wrong: Invalid "netns" value\n`);
      ops.push((c, id) => setNetns(c, c.links[id]!, ns));
    } else if (w === "promisc") {
      const on = parseOnOff("promisc", args.value());
      ops.push((c, id) => {
        c.links[id]!.promisc = on;
      });
    } else if (w === "address") {
      const text = args.value();
      const mac = parseMac(text);
      if (mac === null) throw new ToolError(`"${text}" is invalid lladdr.`);
      ops.push((c, id) => {
        const l = c.links[id]!;
        l.mac = mac;
        l.macSet = true;
        if (l.master !== null) recalcBridgeMac(c, c.links[l.master]!);
      });
    } else if (w === "mtu") {
      const v = args.value();
      const mtu = Number(v);
      if (!/^\d+$/.test(v)) throw new ToolError(`Error: argument "${v}" is wrong: Invalid "mtu" value`);
      ops.push((c, id) => {
        if (mtu < 68) throw new KernelError("EINVAL", "mtu less than device minimum.");
        if (mtu > (c.links[id]!.kind === "loopback" ? 65536 : 65535)) throw new KernelError("EINVAL", "mtu greater than device maximum.");
        c.links[id]!.mtu = mtu;
      });
    } else if (w === "name") {
      const newName = args.value();
      ops.push((c, id) => {
        const l = c.links[id]!;
        if (l.up) throw new KernelError("EBUSY");
        if (findLink(c, l.netns, newName)) throw new KernelError("EEXIST");
        l.name = newName;
      });
    } else if (w === "type" && args.peek() === "bridge_slave") {
      args.next();
      while (!args.done) {
        const k = args.next();
        if (k === "hairpin") {
          const on = parseOnOff("hairpin", args.value());
          ops.push((c, id) => setHairpin(c.links[id]!, on));
        } else throw new ToolError(`Error: argument "${k}" is wrong: unknown bridge_slave option`);
      }
    } else if (name === null) {
      name = w;
    } else {
      throw new ToolError(`Error: either "dev" is duplicate, or "${w}" is a garbage.`);
    }
  }
  if (name === null) throw new ToolError('Not enough information: "dev" argument is required.');
  const link = findLink(ctx.host.config, ctx.opts.ns, name);
  if (!link) throw cannotFindDevice(name);
  netlink(ctx, (c) => {
    for (const op of ops) op(c, link.id);
  });
  return { stdout: "" };
}

function linkShow(args: Args, ctx: IpContext): ToolOutput {
  const config = ctx.host.config;
  let dev: string | null = null;
  let master: string | null = null;
  let type: string | null = null;
  let upOnly = false;
  while (!args.done) {
    const w = args.next();
    if (w === "dev") dev = args.value();
    else if (w === "master") master = args.value();
    else if (w === "type") type = args.value();
    else if (w === "up") upOnly = true;
    else if (dev === null) dev = w;
    else throw new ToolError(`Error: either "dev" is duplicate, or "${w}" is a garbage.`);
  }
  let links = linksOf(config, ctx.opts.ns);
  if (dev !== null) {
    const l = findLink(config, ctx.opts.ns, dev);
    if (!l) throw new ToolError(`Device "${dev}" does not exist.`);
    links = [l];
  }
  if (master !== null) {
    const m = findLink(config, ctx.opts.ns, master);
    if (!m) throw new ToolError(`Device "${master}" does not exist.`);
    links = links.filter((l) => l.master === m.id);
  }
  if (type !== null) links = links.filter((l) => l.kind === type);
  if (upOnly) links = links.filter((l) => l.up);
  const view = ctx.host.dp.view;
  const lines = ctx.opts.brief ? links.map((l) => briefLink(view, l)) : links.flatMap((l) => showLink(view, l));
  return { stdout: lines.length ? lines.join("\n") + "\n" : "" };
}
