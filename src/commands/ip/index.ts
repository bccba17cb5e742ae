// ip: global options and the object dispatch of ip/ip.c.
import { ROOT_NETNS } from "../../config/types.ts";
import { ToolError, type Tool, type ToolOutput } from "../../tool/tool.ts";
import { Args, type IpContext, type IpOptions, matches } from "./common.ts";
import { ipLink } from "./link.ts";
import { ipAddr } from "./addr.ts";
import { ipRoute } from "./route.ts";
import { ipNeigh } from "./neigh.ts";
import { ipNetns } from "./netns.ts";

type Handler = (args: Args, ctx: IpContext) => ToolOutput;

// The order of ip.c's cmds[]: the first keyword the typed word is a prefix of wins.
const OBJECTS: [string, Handler | null][] = [
  ["address", ipAddr],
  ["addrlabel", null],
  ["maddress", null],
  ["route", ipRoute],
  ["rule", null],
  ["neighbor", ipNeigh],
  ["neighbour", ipNeigh],
  ["ntable", null],
  ["link", ipLink],
  ["l2tp", null],
  ["fou", null],
  ["tunnel", null],
  ["tuntap", null],
  ["monitor", null],
  ["xfrm", null],
  ["mroute", null],
  ["mrule", null],
  ["netns", ipNetns],
  ["netconf", null],
  ["vrf", null],
  ["nexthop", null],
];

export const ipTool: Tool = (argv, ctx) => {
  const opts: IpOptions = { family: 0, brief: false, stats: 0, details: false, oneline: false, json: false, ns: ctx.ns };
  let i = 1;
  for (; i < argv.length && argv[i]!.startsWith("-") && argv[i] !== "-"; i++) {
    let o = argv[i]!;
    if (o.startsWith("--")) o = o.slice(1);
    if (o === "-4") opts.family = 4;
    else if (o === "-6") opts.family = 6;
    else if (o === "-0") opts.family = 0;
    else if (matches(o, "-family") && o.length > 2) {
      const f = argv[++i];
      if (f === "inet") opts.family = 4;
      else if (f === "inet6") opts.family = 6;
      else throw new ToolError(`Error: argument "${f}" is wrong: invalid protocol family`);
    } else if (matches(o, "-stats") || matches(o, "-statistics")) opts.stats++;
    else if (matches(o, "-details")) opts.details = true;
    else if (matches(o, "-oneline")) opts.oneline = true;
    else if (matches(o, "-brief") && o.length > 2) opts.brief = true;
    else if (matches(o, "-json")) throw new ToolError("Error: pktpath does not model ip's JSON output yet.");
    else if (matches(o, "-netns") || o === "-n") {
      const ns = argv[++i];
      if (ns === undefined) throw new ToolError("Command line is not complete. Try option \"help\"");
      if (!ctx.host.config.netns[ns] || ns === ROOT_NETNS) throw new ToolError(`Cannot open network namespace "${ns}": No such file or directory`, 255);
      opts.ns = ns;
    } else if (matches(o, "-color") || o.startsWith("-color=") || o === "-c") {
      // colours are off when not on a terminal
    } else if (matches(o, "-pretty") || matches(o, "-human") || matches(o, "-resolve") || matches(o, "-Numeric")) {
      // no effect on what we print
    } else if (matches(o, "-Version") || o === "-V") {
      return { stdout: "ip utility, iproute2-6.1.0, libbpf 1.1.2\n" };
    } else throw new ToolError(`Option "${argv[i]}" is unknown, try "ip -help".`);
  }
  if (i >= argv.length) throw new ToolError("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }");
  const obj = argv[i]!;
  const entry = OBJECTS.find(([name]) => matches(obj, name));
  if (!entry) throw new ToolError(`Object "${obj}" is unknown, try "ip help".`);
  if (!entry[1]) throw new ToolError(`Error: pktpath does not model "ip ${entry[0]}" yet.`);
  if ((opts.stats || opts.details) && (entry[0] === "link" || entry[0] === "address")) {
    throw new ToolError(`Error: pktpath does not model ${opts.stats ? "interface statistics (ip -s)" : "link details (ip -d)"} yet.`);
  }
  return entry[1](new Args(argv.slice(i + 1)), { ...ctx, opts });
};
