// The libipset side of a set type (struct ipset_type in lib/ipset_*.c): how each
// dimension of an element parses and prints, and which keywords each command takes,
// in the order the listing prints them. Keywords are lib/args.c's ipset_args[].
import { IpsetError, notModelled, syntaxError } from "../errors.ts";
import { Opt, type UserData } from "./data.ts";
import * as P from "./parse.ts";
import { printComment, printHex, printIp, printNumber, printPort } from "./print.ts";

export type ParseFn = (d: UserData, opt: Opt, str: string) => void;
export type PrintFn = (d: UserData, opt: Opt) => string;

export interface Keyword {
  readonly name: readonly string[];
  readonly hasArg: boolean;
  readonly opt: Opt;
  readonly parse: ParseFn;
  /** null: never printed (aliases, backward-compatible spellings). */
  readonly print: PrintFn | null;
}

export interface ElemSpec {
  readonly parse: ParseFn;
  readonly print: PrintFn;
  readonly opt: Opt;
}

export interface CmdSpec {
  readonly args: readonly Keyword[];
  /** Options that must be present (check_mandatory). */
  readonly need: readonly Opt[];
  /** Options allowed at all (check_allowed). */
  readonly full: readonly Opt[];
}

export interface UserSpec {
  readonly elem: readonly ElemSpec[];
  /** list:set's "NAME,before,NAME" spelling. */
  readonly compatParseElem?: ParseFn;
  readonly create: CmdSpec;
  readonly add: CmdSpec;
  readonly del: CmdSpec;
  readonly test: CmdSpec;
}

const flagSet: ParseFn = (d, opt) => d.setCadt(opt);
const flagPrint: PrintFn = () => "";

function u32(field: "hashsize" | "maxelem" | "size" | "initval"): ParseFn {
  return (d, opt, str) => {
    d[field] = P.parseNumber(str, 0, 0xffffffff);
    d.flag(opt);
  };
}

function u64(field: "packets" | "bytes"): ParseFn {
  return (d, opt, str) => {
    const v = P.numberOrError(str, 0n, (1n << 64n) - 2n);
    if (typeof v === "string") throw new IpsetError(v);
    d[field] = Number(v);
    d.flag(opt);
  };
}

/** ipset_parse_ignored(): a warning, once per option. */
function ignored(name: string): ParseFn {
  return (d, opt, str) => {
    if (!d.ignoredOnce(opt)) d.warnings.push(`Option '--${name} ${str}' is ignored. Please upgrade your syntax.`);
  };
}

function unmodelled(what: string): ParseFn {
  return () => {
    throw notModelled(what);
  };
}

const family: ParseFn = (d, opt, str) => {
  P.parseFamily(d, opt, str);
  if (d.family !== 2) throw notModelled(`family ${str}`);
};

function kw(name: string, hasArg: boolean, opt: Opt, parse: ParseFn, print: PrintFn | null = null): Keyword {
  return { name: [name], hasArg, opt, parse, print };
}

/** lib/args.c ipset_args[] */
export const K = {
  family: kw("family", true, Opt.FAMILY, family, () => "inet"),
  inet: kw("-4", false, Opt.FAMILY, (d, o) => family(d, o, "-4")),
  inet6: kw("-6", false, Opt.FAMILY, (d, o) => family(d, o, "-6")),
  hashsize: kw("hashsize", true, Opt.HASHSIZE, u32("hashsize"), (d) => printNumber(d.hashsize)),
  maxelem: kw("maxelem", true, Opt.MAXELEM, u32("maxelem"), (d) => printNumber(d.maxelem)),
  probes: kw("probes", true, Opt.PROBES, ignored("probes")),
  resize: kw("resize", true, Opt.RESIZE, ignored("resize")),
  gc: kw("gc", true, Opt.GC, ignored("gc")),
  ignoredFrom: kw("from", true, Opt.IP, ignored("from")),
  ignoredTo: kw("to", true, Opt.IP_TO, ignored("to")),
  ignoredNetwork: kw("network", true, Opt.IP, ignored("network")),
  size: kw("size", true, Opt.SIZE, u32("size"), (d) => printNumber(d.size)),
  iprange: kw("range", true, Opt.IP, P.parseNetrange, printIp),
  netmask: kw("netmask", true, Opt.NETMASK, P.parseNetmask, (d) => printNumber(d.netmask)),
  portrange: kw("range", true, Opt.PORT, P.parseTcpUdpPort, printPort),
  before: kw("before", true, Opt.NAMEREF, P.parseBefore),
  after: kw("after", true, Opt.NAMEREF, P.parseAfter),
  fromIp: kw("from", true, Opt.IP, P.parseSingleIp),
  toIp: kw("to", true, Opt.IP_TO, P.parseSingleIp),
  network: kw("network", true, Opt.IP, (d, o, s) => {
    if (P.sepIndex(s, "/") < 0) throw syntaxError(`IP/netblock must be supplied: ${s}`);
    P.parseAnyIp(d, o, s);
  }),
  fromPort: kw("from", true, Opt.PORT, (d, _o, s) => {
    d.port = P.parseNumber(s, 0, 65535);
    d.flag(Opt.PORT);
  }),
  toPort: kw("to", true, Opt.PORT_TO, (d, _o, s) => {
    d.portTo = P.parseNumber(s, 0, 65535);
    d.flag(Opt.PORT_TO);
  }),
  forceadd: kw("forceadd", false, Opt.FORCEADD, flagSet, flagPrint),
  markmask: kw("markmask", true, Opt.MARKMASK, unmodelled("markmask")),
  nomatch: kw("nomatch", false, Opt.NOMATCH, flagSet, flagPrint),
  wildcard: kw("wildcard", false, Opt.IFACE_WILDCARD, flagSet, flagPrint),
  timeout: kw("timeout", true, Opt.TIMEOUT, P.parseTimeout, (d) => printNumber(d.timeout)),
  counters: kw("counters", false, Opt.COUNTERS, flagSet, flagPrint),
  packets: kw("packets", true, Opt.PACKETS, u64("packets"), (d) => printNumber(d.packets)),
  bytes: kw("bytes", true, Opt.BYTES, u64("bytes"), (d) => printNumber(d.bytes)),
  comment: kw("comment", false, Opt.CREATE_COMMENT, flagSet, flagPrint),
  adtComment: kw("comment", true, Opt.ADT_COMMENT, P.parseComment, printComment),
  skbinfo: kw("skbinfo", false, Opt.SKBINFO, unmodelled("skbinfo")),
  skbmark: kw("skbmark", true, Opt.SKBMARK, unmodelled("skbmark")),
  skbprio: kw("skbprio", true, Opt.SKBPRIO, unmodelled("skbprio")),
  skbqueue: kw("skbqueue", true, Opt.SKBQUEUE, unmodelled("skbqueue")),
  bucketsize: kw("bucketsize", true, Opt.BUCKETSIZE, (d, o, s) => {
    d.bucketsize = P.parseNumber(s, 0, 255);
    d.flag(o);
  }, (d) => printNumber(d.bucketsize)),
  initval: kw("initval", true, Opt.INITVAL, u32("initval"), (d) => printHex(d.initval)),
  bitmask: kw("bitmask", true, Opt.BITMASK, unmodelled("bitmask")),
} as const;

/** The usual extension keywords of an add, in lib/ipset_*.c order. */
export const ADD_EXT: readonly Keyword[] = [K.timeout, K.packets, K.bytes, K.adtComment, K.skbmark, K.skbprio, K.skbqueue];
export const ADD_EXT_NOMATCH: readonly Keyword[] = [K.timeout, K.nomatch, K.packets, K.bytes, K.adtComment, K.skbmark, K.skbprio, K.skbqueue];

/** Create keywords every hash type takes, up to initval. */
export const HASH_CREATE: readonly Keyword[] = [
  K.family, K.inet, K.inet6, K.hashsize, K.maxelem, K.timeout, K.counters, K.comment, K.forceadd, K.skbinfo, K.bucketsize, K.initval,
];
/** Backward-compatible create options the hash types still accept and ignore. */
export const HASH_IGNORED: readonly Keyword[] = [K.probes, K.resize, K.ignoredFrom, K.ignoredTo, K.ignoredNetwork];
