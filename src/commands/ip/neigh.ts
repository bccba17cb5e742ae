// ip neigh show (ip/ipneigh.c): the neighbour table the dataplane filled in.
import { findLink } from "../../config/netns.ts";
import { formatIPv4 } from "../../wire/ipv4.ts";
import { formatMac } from "../../wire/mac.ts";
import { parseIPv4 } from "../../wire/ipv4.ts";
import { parseMac } from "../../wire/mac.ts";
import { neighStateNow, NUD_FAILED, NUD_INCOMPLETE, NUD_PERMANENT, NUD_REACHABLE, NUD_STALE } from "../../dataplane/neigh.ts";
import { ToolError, type ToolOutput } from "../../tool/tool.ts";
import { Args, cannotFindDevice, type IpContext, matches } from "./common.ts";

const STATE_WORD: Record<number, string> = {
  [NUD_INCOMPLETE]: "INCOMPLETE",
  [NUD_REACHABLE]: "REACHABLE",
  [NUD_STALE]: "STALE",
  [NUD_FAILED]: "FAILED",
  [NUD_PERMANENT]: "PERMANENT",
};

export function ipNeigh(args: Args, ctx: IpContext): ToolOutput {
  if (!args.done) {
    const cmd = args.next();
    if (matches(cmd, "add")) return neighModify(args, ctx, "add");
    if (matches(cmd, "replace") || matches(cmd, "change")) return neighModify(args, ctx, "replace");
    if (matches(cmd, "delete") || cmd === "del") return neighModify(args, ctx, "del");
    if (matches(cmd, "flush")) return neighFlush(args, ctx);
    if (!(matches(cmd, "show") || matches(cmd, "list") || matches(cmd, "lst"))) {
      throw new ToolError(`Command "${cmd}" is unknown, try "ip neigh help".`);
    }
  }
  let devId: number | null = null;
  while (!args.done) {
    const w = args.next();
    const name = w === "dev" ? args.value() : w;
    const l = findLink(ctx.host.config, ctx.opts.ns, name);
    if (!l) throw cannotFindDevice(name);
    devId = l.id;
  }
  const dp = ctx.host.dp;
  const ns = dp.view.netns.get(ctx.opts.ns)!;
  // The kernel dumps its hash table; newest entries come out first here.
  const entries = dp.state(ns).neigh.entries().reverse();
  const lines: string[] = [];
  for (const e of entries) {
    if (devId !== null && e.dev !== devId) continue;
    const dev = ns.byId.get(e.dev);
    if (!dev) continue;
    const state = neighStateNow(e, dp.now);
    const ll = state === NUD_INCOMPLETE || state === NUD_FAILED ? "" : `lladdr ${formatMac(e.mac)} `;
    // print_neigh(): the device is left out when the listing was filtered by it (filter.index).
    lines.push(`${formatIPv4(e.ip)} ${devId !== null ? "" : `dev ${dev.name} `}${ll}${STATE_WORD[state]} \n`);
  }
  return { stdout: lines.join("") };
}

const NUD_WORDS: Record<string, number> = { permanent: NUD_PERMANENT, reachable: NUD_REACHABLE, stale: NUD_STALE };

// neigh_add() / neigh_delete(): static entries (PERMANENT unless nud says otherwise).
function neighModify(args: Args, ctx: IpContext, op: "add" | "replace" | "del"): ToolOutput {
  let addr: number | null = null;
  let mac: number | null = null;
  let dev: string | null = null;
  let nud = NUD_PERMANENT;
  while (!args.done) {
    const w = args.next();
    if (w === "lladdr") {
      const v = args.value();
      mac = parseMac(v);
      if (mac === null) throw new ToolError(`"${v}" is invalid lladdr.`);
    } else if (w === "dev") dev = args.value();
    else if (w === "nud") {
      const v = args.value();
      const n = NUD_WORDS[v];
      if (n === undefined) throw new ToolError(`Error: argument "${v}" is wrong: nud state is bad`);
      nud = n;
    } else {
      const text = w === "to" ? args.value() : w;
      addr = parseIPv4(text);
      if (addr === null) throw new ToolError(`Error: any valid address is expected rather than "${text}".`);
    }
  }
  if (addr === null || dev === null) throw new ToolError("Device and destination are required arguments.");
  const link = ctx.host.dp.view.netns.get(ctx.opts.ns)!.byName.get(dev);
  if (!link) throw cannotFindDevice(dev);
  const table = ctx.host.dp.state(link.ns).neigh;
  const cur = table.get(link.id, addr);
  if (op === "del") {
    if (!cur) throw new ToolError("RTNETLINK answers: No such file or directory");
    table.byDev.get(link.id)!.delete(addr);
    return { stdout: "" };
  }
  if (cur && op === "add") throw new ToolError("RTNETLINK answers: File exists");
  if (mac === null) throw new ToolError("RTNETLINK answers: Invalid argument");
  const e = cur ?? table.create(link.id, addr);
  e.mac = mac;
  e.state = nud;
  e.confirmed = ctx.host.now;
  return { stdout: "" };
}

function neighFlush(args: Args, ctx: IpContext): ToolOutput {
  let dev: string | null = null;
  while (!args.done) {
    const w = args.next();
    dev = w === "dev" ? args.value() : w;
  }
  if (dev === null) throw new ToolError("Flush requires arguments.");
  const link = ctx.host.dp.view.netns.get(ctx.opts.ns)!.byName.get(dev);
  if (!link) throw cannotFindDevice(dev);
  const m = ctx.host.dp.state(link.ns).neigh.byDev.get(link.id);
  if (m) for (const [ip, e] of m) if (e.state !== NUD_PERMANENT) m.delete(ip);
  return { stdout: "" };
}
