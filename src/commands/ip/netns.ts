// ip netns: add, del, list, exec (ip/ipnetns.c), with its own error wording.
import { addNetns, delNetns } from "../../config/netns.ts";
import { ROOT_NETNS } from "../../config/types.ts";
import { KernelError } from "../../config/errors.ts";
import { ToolError, type ToolOutput } from "../../tool/tool.ts";
import { Args, type IpContext, matches } from "./common.ts";

const NAME_RE = /^[^/]+$/;

export function ipNetns(args: Args, ctx: IpContext): ToolOutput {
  if (args.done) return netnsList(ctx);
  const cmd = args.next();
  if (matches(cmd, "list") || cmd === "show") return netnsList(ctx);
  if (matches(cmd, "add")) return netnsAdd(args, ctx);
  if (matches(cmd, "delete") || cmd === "del") return netnsDel(args, ctx);
  if (matches(cmd, "exec")) return netnsExec(args, ctx);
  throw new ToolError(`Command "${cmd}" is unknown, try "ip netns help".`);
}

function netnsName(args: Args, what: string): string {
  if (args.done) throw new ToolError("No netns name specified");
  const name = args.next();
  if (!NAME_RE.test(name) || name === "." || name === ".." || name === ROOT_NETNS) {
    if (name === ROOT_NETNS) throw new ToolError(`Cannot ${what} namespace "host": pktpath reserves the name for the root namespace`);
    throw new ToolError(`Invalid netns name "${name}"`);
  }
  return name;
}

function netnsAdd(args: Args, ctx: IpContext): ToolOutput {
  const name = netnsName(args, "create");
  try {
    ctx.host.change((c) => addNetns(c, name));
  } catch (e) {
    if (e instanceof KernelError) throw new ToolError(`Cannot create namespace file "/run/netns/${name}": File exists`);
    throw e;
  }
  return { stdout: "" };
}

function netnsDel(args: Args, ctx: IpContext): ToolOutput {
  const name = netnsName(args, "remove");
  try {
    ctx.host.change((c) => delNetns(c, name));
  } catch (e) {
    if (e instanceof KernelError) throw new ToolError(`Cannot remove namespace file "/run/netns/${name}": No such file or directory`);
    throw e;
  }
  return { stdout: "" };
}

function netnsList(ctx: IpContext): ToolOutput {
  const config = ctx.host.config;
  const ids = config.netns[ctx.opts.ns]!.nsids;
  // /run/netns is a tmpfs: readdir returns the newest entry first.
  const names = Object.keys(config.netns).filter((n) => n !== ROOT_NETNS).reverse();
  return { stdout: names.map((n) => (ids[n] !== undefined ? `${n} (id: ${ids[n]})\n` : `${n}\n`)).join("") };
}

function netnsExec(args: Args, ctx: IpContext): ToolOutput {
  if (args.done) throw new ToolError("No netns name specified");
  const name = args.next();
  if (!ctx.host.config.netns[name] || name === ROOT_NETNS) {
    throw new ToolError(`Cannot open network namespace "${name}": No such file or directory`);
  }
  const argv = args.rest();
  if (!argv.length) throw new ToolError("No command specified");
  return ctx.host.execArgv(argv, name, ctx.background, false, ctx.stdin);
}
