// ip address: add, del, show, flush (ip/ipaddress.c).
import type { Scope } from "../../config/types.ts";
import { addAddress, delAddress } from "../../config/addrs.ts";
import { PList } from "../../config/plist.ts";
import { findLink, linksOf } from "../../config/netns.ts";
import { broadcastOf, parseIPv4, parsePrefix } from "../../wire/ipv4.ts";
import { ToolError, type ToolOutput } from "../../tool/tool.ts";
import { Args, byteLength, cannotFindDevice, duparg, duplicateArg, invarg, type IpContext, matches, netlink } from "./common.ts";
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
  label: string | null;
  warnings: string[];
  otherScope: number | null;
  /** The address as typed (without "/len" it is a wildcard for `ip address del`). */
  localText: string | null;
}

// ipaddress.c ifa_flag_data[]: [name, read-only, IPv6 only].
const IFA_FLAGS: [string, boolean, boolean][] = [
  ["secondary", true, false],
  ["temporary", true, false],
  ["primary", true, false],
  ["nodad", false, true],
  ["optimistic", false, true],
  ["dadfailed", true, false],
  ["home", false, true],
  ["deprecated", true, false],
  ["tentative", true, false],
  ["permanent", true, false],
  ["mngtmpaddr", false, true],
  ["noprefixroute", false, false],
  ["autojoin", false, false],
  ["stable-privacy", true, false],
];

// ipaddress.c ipaddr_modify(): the keywords in its order.
function parseAddrArgs(args: Args): AddrArgs {
  const r: AddrArgs = { local: null, dev: null, brd: null, scope: null, label: null, warnings: [], otherScope: null, localText: null };
  while (!args.done) {
    const w = args.next();
    if (w === "peer" || w === "remote" || w === "anycast") {
      args.value();
      throw new ToolError(`Error: pktpath does not model "${w}" on addresses yet.`);
    } else if (matches(w, "broadcast") || w === "brd") {
      const v = args.value();
      if (r.brd !== null) throw duparg("broadcast", v);
      r.brd = v;
    } else if (w === "scope") {
      const s = args.value();
      const scope = SCOPES[s] ?? (/^\d+$/.test(s) ? NUMERIC_SCOPES[Number(s)] : undefined);
      // rt_scopes names pktpath has no Scope for.
      const other = s === "nowhere" ? "255" : s === "site" ? "200" : s;
      if (!scope && /^\d+$/.test(other) && Number(other) < 256) {
        // A scope number pktpath has no name for: only the kernel's refusal of a scope that
        // differs from the subnet's is modelled (checked in addrAdd).
        r.scope = null;
        r.otherScope = Number(other);
      } else if (!scope) throw invarg("invalid scope value.", s);
      else r.scope = scope;
    } else if (w === "dev") r.dev = args.value();
    else if (w === "label") r.label = args.value();
    else if (matches(w, "metric") || matches(w, "priority") || matches(w, "preference")) {
      args.value();
      // It changes the prefix route fib_add_ifaddr() installs.
      throw new ToolError(`Error: pktpath does not model "metric" on addresses yet.`);
    } else if (matches(w, "valid_lft") || matches(w, "preferred_lft")) {
      const key = matches(w, "valid_lft") ? "valid_lft" : "preferred_lft";
      const v = args.value();
      if (v !== "forever") throw new ToolError(`Error: pktpath does not model a finite ${key} yet.`);
    } else if (IFA_FLAGS.some(([n]) => n === w)) {
      const [name, readonly, v6only] = IFA_FLAGS.find(([n]) => n === w)!;
      if (readonly) r.warnings.push(`Warning: ${name} option is not mutable from userspace`);
      else if (v6only) r.warnings.push(`Warning: ${name} option can be set only for IPv6 addresses`);
      else throw new ToolError(`Error: pktpath does not model "${name}" on addresses yet.`);
    } else {
      const text = w === "local" ? args.value() : w;
      if (matches(text, "help")) throw new ToolError("Usage: ip address {add|change|replace} IFADDR dev IFNAME [ LIFETIME ]", 255);
      if (r.local !== null) throw duplicateArg("local", text);
      const p = parsePrefix(text);
      if (!p) throw new ToolError(`Error: any valid prefix is expected rather than "${text}".`);
      r.local = p;
      r.localText = text;
    }
  }
  return r;
}

const NUMERIC_SCOPES: Record<number, Scope> = { 0: "global", 253: "link", 254: "host" };

/** ll_name_to_index(): if_nametoindex() resolves "lo:1" to lo (SIOCGIFINDEX drops the alias). */
function findAddrDev(ctx: IpContext, dev: string) {
  const colon = dev.indexOf(":");
  return findLink(ctx.host.config, ctx.opts.ns, dev) ?? (colon > 0 ? findLink(ctx.host.config, ctx.opts.ns, dev.slice(0, colon)) : undefined);
}

function addrAdd(args: Args, ctx: IpContext, cmd: string): ToolOutput {
  const a = parseAddrArgs(args);
  if (a.dev === null) throw new ToolError('Not enough information: "dev" argument is required.');
  if (a.local === null) throw new ToolError("Not enough information: \"local\" argument is required.");
  const link = findAddrDev(ctx, a.dev);
  if (!link) throw cannotFindDevice(a.dev);
  // ifa_ipv4_policy: IFA_LABEL is at most IFNAMSIZ - 1 bytes.
  if (a.label !== null && byteLength(a.label) > 15) throw new ToolError("Error: Attribute failed policy validation.", 2);
  const { addr, plen } = a.local;
  let broadcast = 0;
  if (a.brd === "+") broadcast = broadcastOf(addr, plen);
  else if (a.brd === "-") broadcast = (addr & ~(2 ** (32 - plen) - 1)) >>> 0;
  else if (a.brd !== null) {
    const b = parseIPv4(a.brd);
    if (b === null) throw new ToolError(`Error: inet address is expected rather than "${a.brd}".`);
    broadcast = b;
  }
  if (a.otherScope !== null) {
    const net = (x: number) => (plen === 0 ? 0 : (x >>> (32 - plen)) >>> 0);
    if (link.addrs.some((x) => x.plen === plen && net(x.addr) === net(addr))) throw new ToolError("Error: ipv4: Invalid scope value.", 2);
    throw new ToolError(`Error: pktpath does not model address scope ${a.otherScope} yet.`);
  }
  const scope: Scope = a.scope ?? ((addr >>> 24) === 127 ? "host" : "global");
  const replace = !matches(cmd, "add");
  netlink(ctx, (c) => {
    const l = c.links[link.id]!;
    if (replace && l.addrs.some((x) => x.addr === addr && x.plen === plen)) return;
    addAddress(c, l, { addr, plen, broadcast, scope, ...(a.label !== null && a.label !== l.name ? { label: a.label } : {}) });
  });
  return { stdout: a.warnings.map((w) => w + "\n").join("") };
}

function addrDel(args: Args, ctx: IpContext): ToolOutput {
  const a = parseAddrArgs(args);
  if (a.dev === null) throw new ToolError('Not enough information: "dev" argument is required.');
  const link = findAddrDev(ctx, a.dev);
  if (!link) throw cannotFindDevice(a.dev);
  if (a.local === null) {
    // iproute2 warns and deletes the first address.
    if (!link.addrs.length) throw new ToolError("RTNETLINK answers: Cannot assign requested address");
    const first = link.addrs.at(0)!;
    netlink(ctx, (c) => delAddress(c, c.links[link.id]!, first.addr, first.plen));
    return { stdout: "Warning: Executing wildcard deletion to stay compatible with old scripts.\n         Explicitly specify the prefix length (10.0.0.1/24) to avoid this warning.\n         This special behaviour is likely to disappear in further releases,\n         fix your scripts!\n" };
  }
  const { addr, plen } = a.local;
  if (!a.localText!.includes("/")) {
    // ipaddr_modify(): no prefix length given: iproute2 warns and the kernel deletes the address whatever its length.
    netlink(ctx, (c) => delAddress(c, c.links[link.id]!, addr, null));
    return {
      stdout: `Warning: Executing wildcard deletion to stay compatible with old scripts.\n         Explicitly specify the prefix length (${a.localText}/32) to avoid this warning.\n         This special behaviour is likely to disappear in further releases,\n         fix your scripts!\n`,
    };
  }
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
    // Last first; a primary's secondaries go with it.
    for (const x of l.addrs.toArray().reverse()) if (l.addrs.lastIndexOf(x) >= 0) delAddress(c, l, x.addr, x.plen);
  });
  return { stdout: "" };
}

/** fnmatch() pattern as a regular expression. */
function globRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

function addrShow(args: Args, ctx: IpContext): ToolOutput {
  const config = ctx.host.config;
  let dev: string | null = null;
  let upOnly = false;
  let label: RegExp | null = null;
  while (!args.done) {
    const w = args.next();
    if (w === "dev") dev = args.value();
    else if (w === "up") upOnly = true;
    else if (w === "label") label = globRegExp(args.value());
    else if (w === "scope" || w === "to") args.value();
    else if (dev === null) dev = w;
    else throw new ToolError(`Error: either "dev" is duplicate, or "${w}" is a garbage.`);
  }
  let links = linksOf(config, ctx.opts.ns);
  if (dev !== null) {
    const l = findAddrDev(ctx, dev);
    if (!l) throw new ToolError(`Device "${dev}" does not exist.`);
    links = [l];
  }
  if (upOnly) links = links.filter((l) => l.up);
  // filter.label: only addresses whose label matches (fnmatch), and only links that have one.
  if (label !== null) {
    const re = label;
    links = links.map((l) => ({ ...l, addrs: PList.from(l.addrs.filter((x) => re.test(x.label ?? l.name))) })).filter((l) => l.addrs.length > 0);
  }
  // -4: links without an IPv4 address are left out (ipaddr_filter).
  if (ctx.opts.family === 4) links = links.filter((l) => l.addrs.length > 0);
  if (ctx.opts.family === 6) links = [];
  const view = ctx.host.dp.view;
  // With a label filter iproute2 prints the matching addresses without their link's lines.
  const full = (l: typeof links[number]) => {
    const ls = showAddr(view, l, ctx.opts.family);
    return label === null ? ls : ls.slice(ls.findIndex((x) => x.startsWith("    inet")));
  };
  const lines = ctx.opts.brief ? links.map((l) => briefAddr(view, l)) : links.flatMap(full);
  return { stdout: lines.length ? lines.join("\n") + "\n" : "" };
}
