// ip route: add, del, replace, show, get, flush (ip/iproute.c).
import type { RouteConfig, RouteProto, RouteType, Scope } from "../../config/types.ts";
import { RT_TABLE_LOCAL, RT_TABLE_MAIN } from "../../config/types.ts";
import { addRoute, delRoute } from "../../config/routes.ts";
import { findLink } from "../../config/netns.ts";
import { formatIPv4, parseIPv4, parsePrefix } from "../../wire/ipv4.ts";
import { routeOutput } from "../../dataplane/route.ts";
import { ToolError, type ToolOutput } from "../../tool/tool.ts";
import { Args, cannotFindDevice, type IpContext, matches, netlink } from "./common.ts";
import { dumpOrder, routeLine } from "./format.ts";

export function ipRoute(args: Args, ctx: IpContext): ToolOutput {
  if (args.done) return routeShow(args, ctx);
  const cmd = args.next();
  // iproute.c do_iproute(): the first keyword the word is a prefix of, in this order.
  if (matches(cmd, "add")) return routeModify(args, ctx, "add");
  if (matches(cmd, "change") || cmd === "chg") return routeModify(args, ctx, "replace");
  if (matches(cmd, "replace")) return routeModify(args, ctx, "replace");
  for (const k of ["prepend", "append", "test"]) {
    if (matches(cmd, k)) throw new ToolError(`Error: pktpath does not model "ip route ${k}" yet.`);
  }
  if (matches(cmd, "delete")) return routeModify(args, ctx, "del");
  if (matches(cmd, "list") || matches(cmd, "show") || matches(cmd, "lst")) return routeShow(args, ctx);
  if (matches(cmd, "get")) return routeGet(args, ctx);
  if (matches(cmd, "flush")) return routeFlush(args, ctx);
  for (const k of ["save", "restore", "showdump"]) {
    if (matches(cmd, k)) throw new ToolError(`Error: pktpath does not model "ip route ${k}" yet.`);
  }
  throw new ToolError(`Command "${cmd}" is unknown, try "ip route help".`, 255);
}

const TYPES = new Set<RouteType>(["unicast", "local", "broadcast", "blackhole", "unreachable", "prohibit"]);
const SCOPES: Record<string, Scope> = { global: "global", universe: "global", link: "link", host: "host" };
const PROTOS: Record<string, RouteProto> = { kernel: "kernel", boot: "boot", static: "static" };

/** 0 stands for "all". */
function parseTable(text: string): number {
  if (text === "all") return 0;
  if (text === "main") return RT_TABLE_MAIN;
  if (text === "local") return RT_TABLE_LOCAL;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n === RT_TABLE_MAIN || n === RT_TABLE_LOCAL) return n;
    throw new ToolError("Error: ipv4: FIB table does not exist.\nDump terminated");
  }
  throw new ToolError(`Error: argument "${text}" is wrong: table id value is invalid\n`);
}

interface Parsed {
  type: RouteType;
  dst: { addr: number; plen: number } | null;
  via: number | null;
  dev: string | null;
  src: number | null;
  table: number | null;
  scope: Scope | null;
  proto: RouteProto;
  metric: number | null;
  onlink: boolean;
}

/** iproute_modify() matches "metric"/"priority" before "protocol"; the listing checks "protocol" first. */
function parseRouteArgs(args: Args, list = false): Parsed {
  const p: Parsed = { type: "unicast", dst: null, via: null, dev: null, src: null, table: null, scope: null, proto: "boot", metric: null, onlink: false };
  while (!args.done) {
    const w = args.next();
    if (w === "via") {
      let v = args.value();
      if (v === "inet") v = args.value();
      const gw = parseIPv4(v);
      if (gw === null) throw new ToolError(`Error: inet address is expected rather than "${v}".`);
      p.via = gw;
    } else if (w === "dev" || w === "oif") p.dev = args.value();
    else if (w === "src") {
      const v = args.value();
      const s = parseIPv4(v);
      if (s === null) throw new ToolError(`Error: inet address is expected rather than "${v}".`);
      p.src = s;
    } else if (!list && (matches(w, "metric") || matches(w, "priority") || w === "preference")) {
      const v = args.value();
      if (!/^\d+$/.test(v)) throw new ToolError(`Error: argument "${v}" is wrong: "metric" value is invalid\n`, 255);
      p.metric = Number(v);
    } else if (matches(w, "table")) p.table = parseTable(args.value());
    else if (list && w !== "to" && matches(w, "type")) {
      const v = args.value();
      if (!TYPES.has(v as RouteType)) throw new ToolError(`Error: argument "${v}" is wrong: node type value is invalid\n`, 255);
      p.type = v as RouteType;
    }
    else if (w === "scope" || (list && matches(w, "scope"))) {
      const v = args.value();
      const s = SCOPES[v];
      if (!s) throw new ToolError(`Error: argument "${v}" is wrong: invalid "scope" value`);
      p.scope = s;
    } else if (matches(w, "protocol")) {
      const v = args.value();
      const pr = PROTOS[v];
      if (!pr) throw new ToolError(`Error: argument "${v}" is wrong: "protocol" value is invalid`);
      p.proto = pr;
    } else if (matches(w, "metric") || matches(w, "priority") || w === "preference") {
      const v = args.value();
      if (!/^\d+$/.test(v)) throw new ToolError(`Error: argument "${v}" is wrong: "metric" value is invalid`);
      p.metric = Number(v);
    } else if (w === "onlink") {
      p.onlink = true;
    } else if (w === "linkdown") {
      // a flag ip prints, not one a route is given
    } else if (TYPES.has(w as RouteType) && p.dst === null) {
      p.type = w as RouteType;
    } else {
      const text = w === "to" ? args.value() : w;
      if (p.dst !== null) throw new ToolError(`Error: either "to" is duplicate, or "${text}" is a garbage.`);
      if (text === "default" || text === "all" || text === "any") p.dst = { addr: 0, plen: 0 };
      else {
        const pre = parsePrefix(text);
        if (!pre) throw new ToolError(`Error: any valid prefix is expected rather than "${text}".`);
        p.dst = pre;
      }
    }
  }
  return p;
}

function routeModify(args: Args, ctx: IpContext, op: "add" | "replace" | "del"): ToolOutput {
  const p = parseRouteArgs(args);
  if (p.dst === null) throw new ToolError('Error: either "to" is duplicate, or "" is a garbage.');
  const dev = p.dev !== null ? findLink(ctx.host.config, ctx.opts.ns, p.dev) : null;
  if (p.dev !== null && !dev) throw cannotFindDevice(p.dev);
  const table = p.table ?? (p.type === "local" || p.type === "broadcast" ? RT_TABLE_LOCAL : RT_TABLE_MAIN);
  const { addr, plen } = p.dst;
  // fib_check_nh(): onlink without a gateway is refused whatever the device.
  if (op !== "del" && p.onlink && p.via === null && (p.type === "unicast" || p.type === "local")) {
    throw new ToolError("Error: Invalid flags for nexthop - PERVASIVE and ONLINK can not be set.", 2);
  }
  netlink(ctx, (c) => {
    const d = dev ? c.links[dev.id]! : null;
    if (op === "del") delRoute(c, ctx.opts.ns, { table, dst: addr, plen, dev: d, via: p.via, metric: p.metric });
    else {
      if (p.via === null && d === null && (p.type === "unicast" || p.type === "local")) {
        throw new ToolError("RTNETLINK answers: No such device");
      }
      addRoute(
        c,
        ctx.opts.ns,
        { table, type: p.type, dst: addr, plen, dev: d, via: p.via, src: p.src, scope: p.scope, proto: p.proto, metric: p.metric ?? 0, onlink: p.onlink },
        op === "replace",
      );
    }
  });
  return { stdout: "" };
}

function routeShow(args: Args, ctx: IpContext): ToolOutput {
  const p = parseRouteArgs(args, true);
  const nsc = ctx.host.config.netns[ctx.opts.ns]!;
  const all = p.table === 0;
  const table = p.table ?? RT_TABLE_MAIN;
  let routes: RouteConfig[] = nsc.routes.filter((r) => all || r.table === table);
  if (p.dev !== null) {
    const dev = findLink(ctx.host.config, ctx.opts.ns, p.dev);
    if (!dev) throw cannotFindDevice(p.dev);
    routes = routes.filter((r) => r.dev === dev.id);
  }
  if (p.dst !== null) {
    const { addr, plen } = p.dst;
    routes = routes.filter((r) => r.dst === addr && r.plen === plen);
  }
  if (p.type !== "unicast") routes = routes.filter((r) => r.type === p.type);
  const sorted = [...routes].sort((a, b) => a.table - b.table || dumpOrder(a, b));
  const view = ctx.host.dp.view;
  return { stdout: sorted.map((r) => routeLine(view, r, all) + "\n").join("") };
}

// ip route get: the output route the kernel would pick.
function routeGet(args: Args, ctx: IpContext): ToolOutput {
  const p = parseRouteArgs(args);
  if (p.dst === null) throw new ToolError("need at least a destination address");
  const view = ctx.host.dp.view;
  const ns = view.netns.get(ctx.opts.ns)!;
  const r = routeOutput(ns, p.dst.addr, p.src ?? 0);
  if (!r.dst) {
    const words: Record<string, string> = {
      ENETUNREACH: "Network is unreachable",
      EHOSTUNREACH: "No route to host",
      EACCES: "Permission denied",
      EINVAL: "Invalid argument",
    };
    throw new ToolError(`RTNETLINK answers: ${words[r.error!]}`, 2);
  }
  const dev = ns.byId.get(r.dst.dev)!;
  const d = formatIPv4(p.dst.addr);
  const type = r.route?.type === "local" ? "local " : r.route?.type === "broadcast" ? "broadcast " : "";
  const via = r.route?.via !== null && r.route?.via !== undefined ? `via ${formatIPv4(r.route.via)} ` : "";
  const cache = type === "local " ? "<local> " : type === "broadcast " ? "<local,brd> " : "";
  return { stdout: `${type}${d} ${via}dev ${dev.name} src ${formatIPv4(r.dst.src)} uid 0 \n    cache ${cache}\n` };
}

function routeFlush(args: Args, ctx: IpContext): ToolOutput {
  const p = parseRouteArgs(args, true);
  const table = p.table ?? RT_TABLE_MAIN;
  const dev = p.dev !== null ? findLink(ctx.host.config, ctx.opts.ns, p.dev) : null;
  if (p.dev !== null && !dev) throw cannotFindDevice(p.dev);
  netlink(ctx, (c) => {
    const nsc = c.netns[ctx.opts.ns]!;
    nsc.routes = nsc.routes.retain((r) => !(r.table === table && (!dev || r.dev === dev.id) && (p.dst === null || (r.dst === p.dst.addr && r.plen === p.dst.plen))));
  });
  return { stdout: "" };
}
