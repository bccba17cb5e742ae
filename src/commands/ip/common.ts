// Helpers shared by the ip subcommands: iproute2's prefix matching, its argument
// errors, and the errors the kernel answers over netlink.
import { KernelError, strerror } from "../../config/errors.ts";
import { ToolError, type ToolContext } from "../../tool/tool.ts";
import type { Config, LinkConfig } from "../../config/types.ts";
import { findLink } from "../../config/netns.ts";

/** iproute2's matches(): the typed word is a prefix of the keyword. */
export function matches(word: string, keyword: string): boolean {
  return word.length > 0 && keyword.startsWith(word);
}

export interface IpOptions {
  family: 4 | 6 | 0;
  brief: boolean;
  stats: number;
  details: boolean;
  oneline: boolean;
  json: boolean;
  ns: string;
}

export interface IpContext extends ToolContext {
  opts: IpOptions;
}

export class Args {
  private i = 0;
  constructor(private readonly argv: string[]) {}
  get done(): boolean {
    return this.i >= this.argv.length;
  }
  peek(): string | undefined {
    return this.argv[this.i];
  }
  next(): string {
    return this.argv[this.i++]!;
  }
  /** NEXT_ARG(): the value after a keyword, or iproute2's "Command line is not complete." */
  value(): string {
    if (this.i >= this.argv.length) throw new ToolError("Command line is not complete. Try option \"help\"", 255);
    return this.argv[this.i++]!;
  }
  rest(): string[] {
    const r = this.argv.slice(this.i);
    this.i = this.argv.length;
    return r;
  }
}

export function cannotFindDevice(name: string): ToolError {
  return new ToolError(`Cannot find device "${name}"`);
}

export function requireLink(config: Config, ns: string, name: string): LinkConfig {
  const link = findLink(config, ns, name);
  if (!link) throw cannotFindDevice(name);
  return link;
}

/** duparg2(): exits 255. */
export function duplicateArg(key: string, value: string): ToolError {
  return new ToolError(`Error: either "${key}" is duplicate, or "${value}" is a garbage.`, 255);
}

/** duparg(): exits 255. */
export function duparg(key: string, value: string): ToolError {
  return new ToolError(`Error: duplicate "${key}": "${value}" is the second value.`, 255);
}

/** invarg(): exits 255. */
export function invarg(msg: string, arg: string): ToolError {
  return new ToolError(`Error: argument "${arg}" is wrong: ${msg}`, 255);
}

const IFNAMSIZ = 16;
const ALTIFNAMSIZ = 128;

/** Bytes, as the kernel counts a name against IFNAMSIZ. */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** iproute2's check_ifname() / check_altifname(): not empty, no '/' or white space, shorter than the size. */
export function validIfname(name: string, size: number = IFNAMSIZ): boolean {
  return name.length > 0 && byteLength(name) < size && !/[/\s]/.test(name);
}
export function validAltIfname(name: string): boolean {
  return validIfname(name, ALTIFNAMSIZ);
}

/** dev_valid_name() (and the IFLA_IFNAME policy, IFNAMSIZ - 1 bytes): what the kernel accepts as a name. */
export function kernelIfnameOk(name: string): boolean {
  return byteLength(name) < IFNAMSIZ;
}

/** Runs a configuration change; a kernel error becomes iproute2's RTNETLINK message. */
export function netlink(ctx: ToolContext, fn: (draft: Config) => void): void {
  try {
    ctx.host.change(fn);
  } catch (e) {
    if (e instanceof KernelError) throw new ToolError(e.extack ? `Error: ${e.extack}` : `RTNETLINK answers: ${strerror(e.errno)}`, 2);
    throw e;
  }
}

export function parseOnOff(key: string, value: string): boolean {
  if (value === "on") return true;
  if (value === "off") return false;
  throw new ToolError(`Error: argument of "${key}" must be "on" or "off", not "${value}"`, 1);
}
