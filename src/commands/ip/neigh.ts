// ip neigh show (ip/ipneigh.c): the neighbour table the dataplane filled in.
import { findLink } from "../../config/netns.ts";
import { formatIPv4 } from "../../wire/ipv4.ts";
import { formatMac } from "../../wire/mac.ts";
import { neighStateNow, NUD_FAILED, NUD_INCOMPLETE, NUD_PERMANENT, NUD_REACHABLE, NUD_STALE } from "../../dataplane/neigh.ts";
import { ToolError, type ToolOutput } from "../tool.ts";
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
    if (!(matches(cmd, "show") || matches(cmd, "list") || matches(cmd, "lst"))) {
      if (["add", "del", "delete", "replace", "change", "flush"].some((k) => matches(cmd, k))) {
        throw new ToolError(`Error: pktpath models "ip neigh show" only; static neighbour entries are not modelled yet.`);
      }
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
    lines.push(`${formatIPv4(e.ip)} dev ${dev.name} ${ll}${STATE_WORD[state]} \n`);
  }
  return { stdout: lines.join("") };
}
