// ip link: add, delete, set, show (ip/iplink.c).
import type { LinkConfig, LinkKind } from "../../config/types.ts";
import { addLink, delLink, setHairpin, setMaster, setNetns, setUp, recalcBridgeMac } from "../../config/links.ts";
import { allocIfindex, findLink, linksOf } from "../../config/netns.ts";
import { KernelError } from "../../config/errors.ts";
import { parseMac } from "../../wire/mac.ts";
import { ToolError, type ToolOutput } from "../../tool/tool.ts";
import { Args, cannotFindDevice, duparg, duplicateArg, invarg, type IpContext, kernelIfnameOk, matches, netlink, parseOnOff, validAltIfname, validIfname } from "./common.ts";
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

/** What iplink_parse() took from the command line, for one device. */
interface LinkAttrs {
  /** The positional or `dev` name. */
  dev: string | null;
  /** The `name` keyword. */
  name: string | null;
  up: boolean | null;
  mtu: number | null;
  mac: number | null;
  netns: string | null;
  master: string | null;
  nomaster: boolean;
  promisc: boolean | null;
  type: string | null;
  lower: string | null;
  /** Bytes of the last `address`, checked against the device's once it is found. */
  macLen: number | null;
}

// Keywords of iplink_parse() pktpath does not model: [keyword, matched by prefix, takes a value, on/off].
const UNMODELLED_ATTRS: [string, boolean, boolean, boolean][] = [
  ["index", false, true, false],
  ["link", true, true, false],
  ["broadcast", true, true, false],
  ["brd", false, true, false],
  ["txqueuelen", true, true, false],
  ["qlen", false, true, false],
  ["txqlen", true, true, false],
  ["inet", false, true, false],
  ["xdpgeneric", false, true, false],
  ["xdpdrv", false, true, false],
  ["xdpoffload", false, true, false],
  ["xdp", false, true, false],
  ["multicast", false, true, true],
  ["allmulticast", false, true, true],
  ["trailers", false, true, true],
  ["arp", false, true, true],
  ["carrier", false, true, true],
  ["vf", false, true, false],
];
const UNMODELLED_LATE: [string, boolean, boolean, boolean][] = [
  ["dynamic", true, true, true],
  ["alias", true, true, false],
  ["group", false, true, false],
  ["mode", false, true, false],
  ["state", false, true, false],
  ["numtxqueues", true, true, false],
  ["numrxqueues", true, true, false],
  ["addrgenmode", true, true, false],
  ["link-netns", true, true, false],
  ["link-netnsid", true, true, false],
  ["protodown", false, true, true],
  ["protodown_reason", false, true, false],
  ["gso_max_size", false, true, false],
  ["gso_max_segs", false, true, false],
  ["gro_max_size", false, true, false],
  ["gso_ipv4_max_size", false, true, false],
  ["gro_ipv4_max_size", false, true, false],
  ["parentdev", false, true, false],
];

function unmodelled(w: string, table: [string, boolean, boolean, boolean][], args: Args): boolean {
  const hit = table.find(([k, prefix]) => (prefix ? matches(w, k) : w === k));
  if (!hit) return false;
  const [k, , takesValue, onOff] = hit;
  if (takesValue) {
    const v = args.value();
    if (onOff && v !== "on" && v !== "off") parseOnOff(k, v);
    if ((k === "txqueuelen" || k === "qlen" || k === "txqlen") && !/^(0x[0-9a-fA-F]+|\d+)$/.test(v)) throw invarg('Invalid "txqueuelen" value\n', v);
    if ((k === "broadcast" || k === "brd") && !/^[0-9a-fA-F]{1,2}([:.][0-9a-fA-F]{1,2})*$/.test(v)) throw new ToolError(`"${v}" is invalid lladdr.`);
  }
  throw new ToolError(`Error: pktpath does not model "${k}" on links yet.`);
}
function nameAttr(a: LinkAttrs, v: string): void {
  if (a.name !== null) throw duparg("name", v);
  if (!validIfname(v)) throw invarg('"name" not a valid ifname', v);
  a.name = v;
  if (a.dev === null) a.dev = v;
}

function addressAttr(a: LinkAttrs, text: string, create: boolean): void {
  const bytes = lladdrBytes(text);
  a.macLen = bytes;
  a.mac = bytes === 6 ? parseLladdr(text, create) : null;
  // ip link add: the kernel refuses another length (validate_linkmsg).
  if (bytes !== 6 && create) throw new ToolError("RTNETLINK answers: Invalid argument", 2);
}

function mtuAttr(a: LinkAttrs, v: string): void {
  if (a.mtu !== null) throw duparg("mtu", v);
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(v) || Number(v) > 0xffffffff) throw invarg('Invalid "mtu" value\n', v);
  a.mtu = Number(v);
}

function netnsAttr(a: LinkAttrs, v: string, ctx: IpContext): void {
  if (a.netns !== null) throw duparg("netns", v);
  if (!ctx.host.config.netns[v]) throw invarg('Invalid "netns" value\n', v);
  a.netns = v;
}

/** The device, named by `dev NAME` or by a bare word. */
function devAttr(a: LinkAttrs, v: string): void {
  if (a.dev !== a.name) throw duplicateArg("dev", v);
  if (!validAltIfname(v)) throw invarg('"dev" not a valid ifname', v);
  a.dev = v;
}


// ip/iplink.c iplink_parse(): the keywords in its order (the first one the word matches wins).
function parseLinkAttrs(args: Args, ctx: IpContext, create: boolean): LinkAttrs {
  const a: LinkAttrs = { dev: null, name: null, up: null, mtu: null, mac: null, netns: null, master: null, nomaster: false, promisc: null, type: null, lower: null, macLen: null };
  while (!args.done) {
    const w = args.next();
    if (w === "up") a.up = true;
    else if (w === "down") a.up = false;
    else if (w === "name") nameAttr(a, args.value());
    else if (unmodelled(w, UNMODELLED_ATTRS.slice(0, 1), args)) {
      // refused above
    } else if (matches(w, "link")) {
      // The lower device, which only link types pktpath does not model use; refused once the device is known.
      a.lower = args.value();
    } else if (matches(w, "address")) addressAttr(a, args.value(), create);
    else if (unmodelled(w, UNMODELLED_ATTRS.slice(2), args)) {
      // refused above
    } else if (w === "mtu") mtuAttr(a, args.value());
    else if (w === "netns") netnsAttr(a, args.value(), ctx);
    else if (w === "promisc") {
      a.promisc = parseOnOff("promisc", args.value());
    } else if (matches(w, "master")) {
      const v = args.value();
      if (!findLink(ctx.host.config, ctx.opts.ns, v)) throw invarg("Device does not exist\n", v);
      a.master = v;
    } else if (w === "vrf") {
      args.value();
      throw new ToolError('Error: pktpath does not model "vrf" yet.');
    } else if (matches(w, "nomaster")) {
      a.nomaster = true;
    } else if (matches(w, "dynamic")) {
      unmodelled(w, UNMODELLED_LATE, args);
    } else if (matches(w, "type")) {
      a.type = args.value();
      break;
    } else if (unmodelled(w, UNMODELLED_LATE, args)) {
      // refused above
    } else {
      if (matches(w, "help")) return usageLink();
      devAttr(a, w === "dev" ? args.value() : w);
    }
  }
  if (a.lower !== null && (a.dev !== null || create)) throw new ToolError('Error: pktpath does not model "link" (a lower device) yet.');
  if (create && a.name !== null && a.dev !== a.name && a.dev !== null) {
    throw new ToolError('both "name" and "dev" cannot be used when creating devices.', 255);
  }
  return a;
}

function usageLink(): never {
  throw new ToolError("Usage: ip link add [link DEV | parentdev NAME] [ name ] NAME\n\t\t    [ txqueuelen PACKETS ]\n\t\t    [ address LLADDR ]", 255);
}

/** ll_addr_a2n(): the number of bytes, or iproute2's error for text that is not an address. */
function lladdrBytes(text: string): number {
  const parts = text.split(/[:.]/);
  if (parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p)) || parts.length > 32) throw new ToolError(`"${text}" is invalid lladdr.`);
  return parts.length;
}

/** ll_addr_a2n(): hex bytes separated by ':' (or '.'), each at most two digits. */
function parseLladdr(text: string, create: boolean): number {
  const parts = text.split(/[:.]/);
  if (parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p)) || parts.length > 32) throw new ToolError(`"${text}" is invalid lladdr.`);
  if (parts.length !== 6) {
    // iplink_parse() checks the length against the device's for `set`; the kernel refuses it on create.
    if (!create) throw new ToolError(`Invalid address length ${parts.length} - must be 6 bytes`);
    throw new ToolError("RTNETLINK answers: Invalid argument", 2);
  }
  const mac = parseMac(parts.map((p) => p.padStart(2, "0")).join(":"));
  if (mac === null) throw new ToolError(`"${text}" is invalid lladdr.`);
  return mac;
}

/** dev_validate_mtu(): veth and bridge take 68..65535; lo has no maximum (and no minimum pktpath models). */
function checkMtu(kind: string, mtu: number, create = false): void {
  if (create && kind !== "loopback" && (mtu < 68 || mtu > 65535)) throw new KernelError("EINVAL");
  if (kind === "loopback") {
    if (mtu < 68) throw new ToolError('Error: pktpath does not model an MTU below 68 on lo (IPv4 is removed from the device).');
    if (mtu > 0x7fffffff) throw new KernelError("EINVAL");
    return;
  }
  if (mtu < 68) throw new KernelError("EINVAL", "mtu less than device minimum.");
  if (mtu > 65535) throw new KernelError("EINVAL", "mtu greater than device maximum.");
}

/** The IFLA_IFNAME policy: a name of IFNAMSIZ bytes or more is refused by the kernel. */
function checkKernelName(name: string | null): void {
  if (name === null) return;
  if (!kernelIfnameOk(name)) throw new KernelError("EINVAL", "Attribute failed policy validation.");
  // dev_valid_name(): no ':' and not "." or "..".
  if (name.includes(":") || name === "." || name === "..") throw new KernelError("EINVAL");
}

/** The words after `type KIND`: a veth's `peer` attributes (null when none given); other kinds' options are refused. */
function typeOptions(args: Args, ctx: IpContext, type: string): LinkAttrs | null {
  if (args.done) return null;
  if (type === "veth") {
    // link_veth.c veth_parse_opt(): "peer" and iplink_parse() again for the other end.
    if (args.next() !== "peer") throw new ToolError("Usage: ip link <options> type veth [peer <options>]\nTo get <options> type 'ip link add help'");
    const peer = parseLinkAttrs(args, ctx, true);
    if (peer.type !== null) throw duparg("type", args.done ? peer.type : args.next());
    return peer;
  }
  if (type === "bridge") throw new ToolError(`Error: pktpath does not model bridge option "${args.next()}" yet.`);
  if (KINDS[type]) throw new ToolError(`Garbage instead of arguments "${args.next()} ...". Try "ip link help".`);
  return null;
}

function linkAdd(args: Args, ctx: IpContext): ToolOutput {
  const a = parseLinkAttrs(args, ctx, true);
  if (a.type === null) throw new ToolError('Not enough information: "type" argument is required');
  const type = a.type;
  const peer = typeOptions(args, ctx, type);
  // rtnl_newlink(): an existing name is refused (NLM_F_EXCL) before the kind is looked up.
  if (a.dev !== null && findLink(ctx.host.config, a.netns ?? ctx.opts.ns, a.dev)) throw new ToolError("RTNETLINK answers: File exists", 2);
  const kind = KINDS[type];
  if (!kind) {
    if (KNOWN_UNMODELLED.has(type)) throw new ToolError(`Error: pktpath does not model links of type "${type}" yet.`);
    throw new ToolError("Error: Unknown device type.", 2);
  }
  if (a.nomaster) throw new ToolError('Error: pktpath does not model "nomaster" when creating a link yet.');
  const ns = a.netns ?? ctx.opts.ns;
  const master = a.master !== null ? findLink(ctx.host.config, ctx.opts.ns, a.master)! : null;
  if (peer?.up) {
    // veth_newlink(): the peer is registered and opened first; an up peer whose other end is
    // not yet there is refused (ENOTCONN) after it took an ifindex.
    netlink(ctx, (c) => {
      checkKernelName(a.dev);
      checkKernelName(peer.dev);
      const pns = peer.netns ?? ns;
      allocIfindex(c, pns);
    });
    throw new ToolError("RTNETLINK answers: Transport endpoint is not connected", 2);
  }
  netlink(ctx, (c) => {
    checkKernelName(a.dev);
    checkKernelName(peer?.dev ?? null);
    if (a.mtu !== null) checkMtu(kind, a.mtu, true);
    if (peer?.mtu != null) checkMtu(kind, peer.mtu, true);
    const link = addLink(c, ns, { name: a.dev, kind, peerName: peer?.dev ?? null, peerNetns: peer?.netns ?? (a.netns !== null ? ns : null), mac: a.mac });
    if (a.mtu !== null) link.mtu = a.mtu;
    if (link.peer !== null) {
      const p = c.links[link.peer]!;
      if (peer?.mtu != null) p.mtu = peer.mtu;
      if (peer?.mac != null) {
        p.mac = peer.mac;
        p.macSet = true;
      }
      if (peer?.promisc != null) p.promisc = peer.promisc;
    }
    if (a.promisc !== null) link.promisc = a.promisc;
    // rtnl_newlink_create(): rtnl_configure_link() (up), then do_set_master().
    if (a.up) setUp(c, link, true);
    if (master) {
      const m = Object.values(c.links).find((l) => l.netns === link.netns && l.ifindex === master.ifindex);
      if (!m) throw new KernelError("EINVAL");
      setMaster(c, link, m);
    }
  });
  return { stdout: "" };
}

function linkDel(args: Args, ctx: IpContext): ToolOutput {
  let name: string | null = null;
  while (!args.done) {
    const w = args.next();
    if (w === "dev") name = args.value();
    else if (name === null) name = w;
    else throw duplicateArg("dev", w);
  }
  if (name === null) throw new ToolError('Not enough information: "dev" argument is required.', 255);
  const link = findLink(ctx.host.config, ctx.opts.ns, name);
  if (!link) throw cannotFindDevice(name);
  netlink(ctx, (c) => delLink(c, c.links[link.id]!));
  return { stdout: "" };
}

function linkSet(args: Args, ctx: IpContext): ToolOutput {
  const a = parseLinkAttrs(args, ctx, false);
  let hairpin: boolean | null = null;
  if (a.type !== null) {
    if (a.type !== "bridge_slave") throw new ToolError(`Error: pktpath does not model "ip link set ... type ${a.type}" yet.`);
    while (!args.done) {
      const k = args.next();
      if (k === "hairpin") hairpin = parseOnOff("hairpin", args.value());
      else throw new ToolError(`Error: pktpath does not model bridge_slave option "${k}" yet.`);
    }
  }
  if (a.dev === null) throw new ToolError('Not enough information: "dev" argument is required.', 255);
  const link = findLink(ctx.host.config, ctx.opts.ns, a.dev);
  // iplink_parse(): the address length is checked against the device's (nl_get_ll_addr_len) before the lookup.
  const halen = link ? 6 : -1; // every link type pktpath models has a 6-byte address
  if (a.macLen !== null && halen >= 0 && a.macLen !== halen) throw new ToolError(`Invalid address length ${a.macLen} - must be ${halen} bytes`);
  if (!link) throw cannotFindDevice(a.dev);
  const rename = a.name !== null && a.name !== a.dev ? a.name : null;
  const master = a.master !== null ? findLink(ctx.host.config, ctx.opts.ns, a.master)! : null;
  netlink(ctx, (c) => {
    const l = c.links[link.id]!;
    // do_setlink()'s order: namespace, address, MTU, name, flags, master, bridge port data.
    if (a.netns !== null) {
      if (l.kind === "loopback") throw new KernelError("EINVAL", "The interface netns is immutable.");
      setNetns(c, l, a.netns);
    }
    if (a.mac !== null) {
      l.mac = a.mac;
      l.macSet = true;
      if (l.master !== null) recalcBridgeMac(c, c.links[l.master]!);
    }
    if (a.mtu !== null) checkMtu(l.kind, a.mtu);
    if (a.mtu !== null) l.mtu = a.mtu;
    if (rename !== null) {
      if (l.up) throw new KernelError("EBUSY");
      checkKernelName(rename);
      if (findLink(c, l.netns, rename)) throw new KernelError("EEXIST");
      l.name = rename;
      renameLabels(l);
    }
    if (a.up !== null) setUp(c, l, a.up);
    if (a.promisc !== null) l.promisc = a.promisc;
    if (master) setMaster(c, l, c.links[master.id]!);
    else if (a.nomaster) setMaster(c, l, null);
    if (hairpin !== null) setHairpin(l, hairpin);
  });
  return { stdout: "" };
}

// devinet.c inetdev_changename(): labels follow the new name; the first address takes it
// whole, the others keep their ":suffix" (or get ":N").
function renameLabels(l: LinkConfig): void {
  let named = 0;
  for (const ifa of l.addrs) {
    const old = ifa.label ?? l.name;
    if (named++ === 0) {
      delete ifa.label;
      continue;
    }
    const colon = old.indexOf(":");
    const dot = colon >= 0 ? old.slice(colon) : `:${named}`;
    ifa.label = l.name.length + dot.length < 16 ? l.name + dot : l.name.slice(0, 16 - dot.length - 1) + dot;
  }
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
