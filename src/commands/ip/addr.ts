// ip address: add, del, show, flush (ip/ipaddress.c).
import type { Scope } from "../../config/types.ts";
import { addAddress, delAddress } from "../../config/addrs.ts";
import { findLink, linksOf } from "../../config/netns.ts";
import { broadcastOf, parseIPv4, parsePrefix } from "../../wire/ipv4.ts";
import { ToolError, type ToolOutput } from "../tool.ts";
import { Args, cannotFindDevice, type IpContext, matches, netlink } from "./common.ts";
import { briefAddr, showAddr } from "./format.ts";

export function ipAddr(args: Args, ctx: IpContext): ToolOutput {
  if (args.done) return addrShow(args, ctx);
  const cmd = args.next();
  if (matches(cmd, "add") || matches(cmd, "replace") || matches(cmd, "change")) return addrAdd(args, ctx, cmd);
  if (matches(cmd, "delete") || cmd === "del") return addrDel(args, ctx);
  if (matches(cmd, "show") || matches(cmd, "list") || matches(cmd, "lst")) return addrShow(args, ctx);
  if (matches(cmd, "flush")) return addrFlush(args, ctx);
  throw new ToolError(`Command "${cmd}" is unknown, try "ip address help".`);
}

const SCOPES: Record<string, Scope> = { global: "global", universe: "global", link: "link", host: "host" };

interface AddrArgs {
  local: { addr: number; plen: number } | null;
  dev: string | null;
  brd: string | null;
  scope: Scope | null;
}

function parseAddrArgs(args: Args): AddrArgs {
  const r: AddrArgs = { local: null, dev: null, brd: null, scope: null };
  while (!args.done) {
    const w = args.next();
    if (w === "dev") r.dev = args.value();
    else if (w === "brd" || w === "broadcast") r.brd = args.value();
    else if (w === "scope") {
      const s = args.value();
      const scope = SCOPES[s];
      if (!scope) throw new ToolError(`Error: argument "${s}" is wrong: invalid scope value.`);
      r.scope = scope;
    } else if (w === "label" || w === "valid_lft" || w === "preferred_lft") {
      // Only what `ip address show` prints; the packet path does not depend on them.
      args.value();
    } else if (w === "nodad" || w === "home") {
      // IPv6-only flags: the kernel ignores them on an IPv4 address.
    } else if (w === "noprefixroute" || w === "metric") {
      // They change the prefix route fib_add_ifaddr() installs.
      throw new ToolError(`Error: pktpath does not model "${w}" on addresses yet.`);
    } else {
      const text = w === "local" ? args.value() : w;
      if (r.local !== null) throw new ToolError(`Error: either "local" is duplicate, or "${text}" is a garbage.`);
      const p = parsePrefix(text);
      if (!p) throw new ToolError(`Error: any valid prefix is expected rather than "${text}".`);
      r.local = p;
    }
  }
  return r;
}

function addrAdd(args: Args, ctx: IpContext, cmd: string): ToolOutput {
  const a = parseAddrArgs(args);
  if (a.dev === null) throw new ToolError('Not enough information: "dev" argument is required.');
  if (a.local === null) throw new ToolError("Not enough information: \"local\" argument is required.");
  const link = findLink(ctx.host.config, ctx.opts.ns, a.dev);
  if (!link) throw cannotFindDevice(a.dev);
  const { addr, plen } = a.local;
  let broadcast = 0;
  if (a.brd === "+") broadcast = broadcastOf(addr, plen);
  else if (a.brd === "-") broadcast = (addr & ~(2 ** (32 - plen) - 1)) >>> 0;
  else if (a.brd !== null) {
    const b = parseIPv4(a.brd);
    if (b === null) throw new ToolError(`Error: inet address is expected rather than "${a.brd}".`);
    broadcast = b;
  }
  const scope: Scope = a.scope ?? ((addr >>> 24) === 127 ? "host" : "global");
  const replace = !matches(cmd, "add");
  netlink(ctx, (c) => {
    const l = c.links[link.id]!;
    if (replace && l.addrs.some((x) => x.addr === addr && x.plen === plen)) return;
    addAddress(c, l, { addr, plen, broadcast, scope });
  });
  return { stdout: "" };
}

function addrDel(args: Args, ctx: IpContext): ToolOutput {
  const a = parseAddrArgs(args);
  if (a.dev === null) throw new ToolError('Not enough information: "dev" argument is required.');
  const link = findLink(ctx.host.config, ctx.opts.ns, a.dev);
  if (!link) throw cannotFindDevice(a.dev);
  if (a.local === null) {
    // iproute2 warns and deletes the first address.
    if (!link.addrs.length) throw new ToolError("RTNETLINK answers: Cannot assign requested address");
    const first = link.addrs[0]!;
    netlink(ctx, (c) => delAddress(c, c.links[link.id]!, first.addr, first.plen));
    return { stdout: "Warning: Executing wildcard deletion to stay compatible with old scripts.\n         Explicitly specify the prefix length (10.0.0.1/24) to avoid this warning.\n         This special behaviour is likely to disappear in further releases,\n         fix your scripts!\n" };
  }
  const { addr, plen } = a.local;
  netlink(ctx, (c) => delAddress(c, c.links[link.id]!, addr, plen));
  return { stdout: "" };
}

function addrFlush(args: Args, ctx: IpContext): ToolOutput {
  const a = parseAddrArgs(args);
  if (a.dev === null && a.local === null) throw new ToolError("Flush requires arguments.");
  const name = a.dev;
  const link = name !== null ? findLink(ctx.host.config, ctx.opts.ns, name) : null;
  if (name !== null && !link) throw cannotFindDevice(name);
  netlink(ctx, (c) => {
    const l = c.links[link!.id]!;
    for (const x of [...l.addrs].reverse()) if (l.addrs.includes(x)) delAddress(c, l, x.addr, x.plen);
  });
  return { stdout: "" };
}

function addrShow(args: Args, ctx: IpContext): ToolOutput {
  const config = ctx.host.config;
  let dev: string | null = null;
  let upOnly = false;
  while (!args.done) {
    const w = args.next();
    if (w === "dev") dev = args.value();
    else if (w === "up") upOnly = true;
    else if (w === "scope" || w === "label" || w === "to") args.value();
    else if (dev === null) dev = w;
    else throw new ToolError(`Error: either "dev" is duplicate, or "${w}" is a garbage.`);
  }
  let links = linksOf(config, ctx.opts.ns);
  if (dev !== null) {
    const l = findLink(config, ctx.opts.ns, dev);
    if (!l) throw new ToolError(`Device "${dev}" does not exist.`);
    links = [l];
  }
  if (upOnly) links = links.filter((l) => l.up);
  // -4: links without an IPv4 address are left out (ipaddr_filter).
  if (ctx.opts.family === 4) links = links.filter((l) => l.addrs.length > 0);
  if (ctx.opts.family === 6) links = [];
  const view = ctx.host.dp.view;
  const lines = ctx.opts.brief ? links.map((l) => briefAddr(view, l)) : links.flatMap((l) => showAddr(view, l, ctx.opts.family));
  return { stdout: lines.length ? lines.join("\n") + "\n" : "" };
}
