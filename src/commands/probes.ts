// Probe clients and servers with the real tools' options: curl, wget, nc, ping, and
// python3 -m http.server / nc -l as listeners. Each probe is one exchange through the
// emulated packet path.
import { IPPROTO_TCP, IPPROTO_UDP } from "../wire/packet.ts";
import { formatIPv4, parseIPv4 } from "../wire/ipv4.ts";
import { pingPlan, type ProbeKind, type ProbeSpec } from "../dataplane/probe.ts";
import type { ServerApp } from "../dataplane/sockets.ts";
import { ToolError, type Tool, type ToolContext, type ToolOutput } from "../tool/tool.ts";

/** A probe's time limit when the command gives none (real-kernel mode uses the same). */
export const DEFAULT_PROBE_TIMEOUT_MS = 1000;
/**
 * The most a probe may ask for: a day of virtual time, and (ping) echo requests. Beyond
 * that the emulator's work or its clock's precision would run away, so it refuses.
 */
export const MAX_PROBE_MS = 86_400_000;
export const MAX_PING_REQUESTS = 100_000;

function tooLong(tool: string, what: string): ToolError {
  return new ToolError(`${tool}: ${what} is not modelled by pktpath (a probe runs for at most ${MAX_PROBE_MS / 1000} s of virtual time)`);
}

function seconds(opt: string, text: string | undefined, tool: string): number {
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text)) throw new ToolError(`${tool}: option ${opt}: expected a number of seconds`);
  const ms = Math.round(Number(text) * 1000);
  if (!(ms <= MAX_PROBE_MS)) throw tooLong(tool, `option ${opt}: a time limit of ${text} s`);
  return ms;
}

function host(text: string, tool: string): number {
  const a = parseIPv4(text);
  if (a === null) throw new ToolError(`${tool}: pktpath resolves no names: give an IPv4 address rather than "${text}"`);
  return a;
}

function port(text: string, tool: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new ToolError(`${tool}: invalid port "${text}"`);
  return Number(text);
}

function runProbe(ctx: ToolContext, spec: ProbeSpec, body: (o: ToolOutput["probe"]) => string): ToolOutput {
  if (ctx.background) throw new ToolError(`a probe cannot run in the background (drop the trailing "&")`);
  const result = ctx.host.probe(ctx.ns, spec);
  const probe = { ns: ctx.ns, spec, result };
  return { stdout: body(probe), probe };
}

function answerBody(p: ToolOutput["probe"]): string {
  const r = p!.result;
  return r.outcome === "answered" ? `${r.server} ${r.clientIp !== null ? formatIPv4(r.clientIp) : "-"}\n` : "";
}

/** Splits "[http://]HOST[:PORT][/PATH]". */
function parseUrl(url: string, tool: string): { addr: number; port: number } {
  const m = /^(?:(https?):\/\/)?([^/:]+)(?::(\d+))?(\/.*)?$/.exec(url);
  if (!m) throw new ToolError(`${tool}: (3) URL using bad/illegal format or missing URL`);
  if (m[1] === "https") throw new ToolError(`${tool}: pktpath does not model TLS: use http://`);
  return { addr: host(m[2]!, tool), port: m[3] ? port(m[3], tool) : 80 };
}

// The probes' and servers' command lines, parsed once for the emulator and for
// real-kernel mode (src/realkernel/plan.ts), which plans from the emulator's parsed ProbeSpec.

/** Where the client binds (nc -s/-p, curl --interface/--local-port); absent: the kernel chooses. */
export interface BindArgs {
  saddr?: number;
  sport?: number;
  sportMax?: number;
  iface?: string;
}

export interface HttpArgs extends BindArgs {
  addr: number;
  port: number;
  timeoutMs: number;
}

// curl --local-port <num>[-num] (tool_getparam.c C_LOCAL_PORT): PARAM_BAD_USE otherwise.
function localPortRange(text: string | undefined): { sport: number; sportMax: number } {
  const m = /^(\d+)(?:\s*-\s*(\d{1,6}))?$/.exec(text ?? "");
  const lo = m ? Number(m[1]) : NaN;
  const hi = m && m[2] !== undefined ? Number(m[2]) : lo;
  if (!m || lo < 1 || lo > 65535 || hi > 65535 || hi < lo) throw new ToolError(`curl: option --local-port: is badly used here`);
  return { sport: lo, sportMax: hi };
}

// curl --interface <name|address>: an IPv4 address binds that address, anything else names an interface.
function curlInterface(text: string | undefined): BindArgs {
  if (text === undefined || text === "") throw new ToolError("curl: option --interface: requires parameter");
  const v = text.replace(/^(if|host)!/, "");
  const a = parseIPv4(v);
  if (a !== null && !text.startsWith("if!")) return { saddr: a };
  if (!/^[A-Za-z0-9_.@:-]{1,15}$/.test(v)) throw new ToolError(`curl: (45) Couldn't bind to '${v}'`);
  return { iface: v };
}

export function parseCurl(argv: string[]): HttpArgs {
  let timeout = DEFAULT_PROBE_TIMEOUT_MS;
  let url: string | null = null;
  let bind: BindArgs = {};
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-m" || a === "--max-time" || a === "--connect-timeout") timeout = seconds(a, argv[++i], "curl");
    else if (a === "--local-port") bind = { ...bind, ...localPortRange(argv[++i]) };
    else if (a === "--interface") bind = { ...bind, ...curlInterface(argv[++i]) };
    else if (a === "-o" || a === "--output" || a === "-w" || a === "--write-out" || a === "-H" || a === "--header") i++;
    else if (/^-[sSvifLk]+$/.test(a) || ["--silent", "--show-error", "--verbose", "--include", "--fail", "--location", "--insecure", "--no-keepalive", "-4"].includes(a)) continue;
    else if (a.startsWith("-")) throw new ToolError(`curl: option ${a}: is unknown`);
    else if (url === null) url = a;
    else throw new ToolError("curl: pktpath probes one URL at a time");
  }
  if (url === null) throw new ToolError("curl: no URL specified!");
  return { ...parseUrl(url, "curl"), timeoutMs: timeout, ...bind };
}

export function parseWget(argv: string[]): HttpArgs {
  let timeout = DEFAULT_PROBE_TIMEOUT_MS;
  let url: string | null = null;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-T" || a === "--timeout") timeout = seconds(a, argv[++i], "wget");
    else if (a.startsWith("--timeout=")) timeout = seconds("--timeout", a.slice(10), "wget");
    else if (a === "-O") i++;
    else if (/^-q?O-?$/.test(a) || a === "-q" || a === "-O-" || a === "--quiet") continue;
    else if (a.startsWith("-")) throw new ToolError(`wget: unrecognized option '${a}'`);
    else url = a;
  }
  if (url === null) throw new ToolError("wget: missing URL");
  return { ...parseUrl(url, "wget"), timeoutMs: timeout };
}

export interface PingArgs {
  addr: number;
  count: number;
  /** -W, or -w when it is given (real-kernel mode's bound). */
  timeoutMs: number;
  /** -i in ms. */
  intervalMs: number;
  /** -w in ms (null: none, or -w 0, which iputils takes as none). */
  deadlineMs: number | null;
  /** -W / -w as given, null when none was. */
  limit: [string, string] | null;
  /** Options passed on unchanged (-i, -s, -t, -I, -q, -O, -4). */
  extra: string[];
  broadcast: boolean;
}

/** iputils' strtoll_or_err() range: "out of range" within a long long, ERANGE beyond. */
function pingInteger(v: string | undefined, min: number, max: string): number {
  const bad = new ToolError(`ping: invalid argument: '${v ?? ""}'`);
  if (v === undefined || !/^[+-]?\d+$/.test(v)) throw bad;
  const n = BigInt(v);
  if (n > 9223372036854775807n || n < -9223372036854775808n) throw new ToolError(`ping: invalid argument: '${v}': Numerical result out of range`);
  if (n < BigInt(min) || n > BigInt(max)) throw new ToolError(`ping: invalid argument: '${v}': out of range: ${min} <= value <= ${max}`);
  return Number(n);
}

export function parsePing(argv: string[]): PingArgs {
  let count: number | null = null;
  let timeout = DEFAULT_PROBE_TIMEOUT_MS;
  let interval = 1000;
  let deadline: number | null = null;
  let limit: [string, string] | null = null;
  let target: string | null = null;
  let broadcast = false;
  const extra: string[] = [];
  const bad = (v: string | undefined) => new ToolError(`ping: invalid argument: '${v ?? ""}'`);
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-c") {
      count = pingInteger(argv[++i], 1, "9223372036854775807");
    } else if (a === "-w") {
      const v = argv[++i];
      const d = pingInteger(v, 0, "2147483647");
      if (d * 1000 > MAX_PROBE_MS) throw tooLong("ping", `a deadline of ${v} s`);
      if (d > 0) timeout = deadline = d * 1000;
      limit = [a, v!];
    } else if (a === "-W") {
      const v = argv[++i];
      // iputils: the linger time in ms must fit an int.
      if (v !== undefined && /^-?\d+(\.\d+)?$/.test(v) && (v.startsWith("-") || Number(v) >= 2147484)) throw new ToolError(`ping: bad linger time: ${v}`);
      timeout = seconds(a, v, "ping");
      limit = [a, v!];
    } else if (a === "-i") {
      const v = argv[++i];
      if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) throw bad(v);
      if (Number(v) >= 2147484) throw new ToolError(`ping: bad timing interval: ${v}`);
      interval = Math.round(Number(v) * 1000);
      extra.push(a, v);
    } else if (a === "-s" || a === "-t") {
      const v = argv[++i];
      if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) throw bad(v);
      extra.push(a, v);
    } else if (a === "-I") {
      const v = argv[++i];
      if (v === undefined || !/^[A-Za-z0-9_.@:-]{1,32}$/.test(v)) throw bad(v);
      extra.push(a, v);
    } else if (/^-[qnO4b]+$/.test(a)) {
      if (a.includes("b")) broadcast = true;
      const flags = a.slice(1).replace(/[nb]/g, "");
      if (flags) extra.push(`-${flags}`);
    } else if (a.startsWith("-")) throw new ToolError(`ping: invalid option -- '${a.slice(1)}'`);
    else target = a;
  }
  if (target === null) throw new ToolError("ping: usage error: Destination address required");
  if (count === null) throw new ToolError("ping: give -c N: a ping without a count never ends");
  // What the real ping would do within its limits: -w ends it early; without -w it sends every request.
  const plan = pingPlan({ kind: "ping", daddr: 0, dport: 0, timeoutMs: timeout, count, intervalMs: interval, deadlineMs: deadline ?? undefined });
  if (plan.requests > MAX_PING_REQUESTS) {
    throw new ToolError(`ping: ${plan.requests} echo requests in one probe are not modelled by pktpath (at most ${MAX_PING_REQUESTS}: lower -c, or give a -w deadline)`);
  }
  if (plan.untilMs > MAX_PROBE_MS) throw tooLong("ping", `-c ${count} at ${interval / 1000} s intervals (${plan.untilMs / 1000} s)`);
  return { addr: host(target, "ping"), count, timeoutMs: timeout, intervalMs: interval, deadlineMs: deadline, limit, extra, broadcast };
}

export type NcArgs =
  | { mode: "listen"; proto: "tcp" | "udp"; bind: number; port: number; app: ServerApp }
  | ({ mode: "probe"; kind: ProbeKind; addr: number; port: number; timeoutMs: number } & BindArgs);

export function parseNc(argv: string[]): NcArgs {
  let listenMode = false;
  let udp = false;
  let zero = false;
  let timeout = DEFAULT_PROBE_TIMEOUT_MS;
  let lport: string | null = null;
  let saddr: string | null = null;
  const pos: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-w") timeout = seconds(a, argv[++i], "nc");
    else if (a === "-p") lport = argv[++i] ?? null;
    else if (a === "-s") saddr = argv[++i] ?? null;
    else if (/^-[lukvnzkN]+$/.test(a)) {
      if (a.includes("l")) listenMode = true;
      if (a.includes("u")) udp = true;
      if (a.includes("z")) zero = true;
    } else if (a.startsWith("-")) throw new ToolError(`nc: invalid option -- '${a.slice(1)}'`);
    else pos.push(a);
  }
  if (listenMode) {
    const p = lport ?? pos[pos.length - 1];
    if (p === undefined) throw new ToolError("nc: missing port number");
    const bind = pos.length > 1 || (lport !== null && pos.length === 1) ? host(pos[0]!, "nc") : 0;
    return { mode: "listen", proto: udp ? "udp" : "tcp", bind, port: port(p, "nc"), app: udp ? "nc-udp" : "nc" };
  }
  if (pos.length !== 2) throw new ToolError("nc: missing hostname and port");
  const bind: BindArgs = {};
  if (lport !== null) bind.sport = bind.sportMax = port(lport, "nc");
  if (saddr !== null) bind.saddr = host(saddr, "nc");
  return { mode: "probe", kind: udp ? "udp" : zero ? "tcp" : "http", addr: host(pos[0]!, "nc"), port: port(pos[1]!, "nc"), timeoutMs: timeout, ...bind };
}

export function parsePython(argv: string[]): { bind: number; port: number } {
  if (argv[1] !== "-m" || argv[2] !== "http.server") {
    throw new ToolError(`${argv[0]}: pktpath models only "python3 -m http.server [PORT] [--bind ADDR]"`);
  }
  let p = 8000;
  let bind = 0;
  for (let i = 3; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--bind" || a === "-b") bind = host(argv[++i] ?? "", "python3");
    else if (a === "--directory" || a === "-d") i++;
    else if (a === "--cgi") continue;
    else if (/^\d+$/.test(a)) p = port(a, "python3");
    else throw new ToolError(`usage: server.py [-h] [--cgi] [--bind ADDRESS] [--directory DIRECTORY] [port]\nserver.py: error: unrecognized arguments: ${a}`);
  }
  return { bind, port: p };
}

/** sleep's interval in ms ("2", "1.5s", "1m"). */
export function parseSleep(argv: string[]): number {
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(argv[1] ?? "");
  if (!m || argv.length !== 2) throw new ToolError(`sleep: invalid time interval '${argv[1] ?? ""}'`);
  const unit = { "": 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2]!]!;
  const ms = Math.round(Number(m[1]) * unit);
  // The virtual clock counts whole milliseconds in a double: keep it exact.
  if (!(ms <= SLEEP_LIMIT_MS)) throw new ToolError(`sleep: an interval of ${argv[1]} is not modelled by pktpath (the virtual clock moves at most ${SLEEP_LIMIT_MS / 86_400_000} days at once)`);
  return ms;
}

/** The longest `sleep` (ten years): far past every kernel timer, far from the clock's precision. */
export const SLEEP_LIMIT_MS = 3650 * 86_400_000;

function bindSpec(a: BindArgs): BindArgs {
  const b: BindArgs = {};
  if (a.saddr !== undefined) b.saddr = a.saddr;
  if (a.sport !== undefined) b.sport = a.sport;
  if (a.sportMax !== undefined) b.sportMax = a.sportMax;
  if (a.iface !== undefined) b.iface = a.iface;
  return b;
}

export const curlTool: Tool = (argv, ctx) => {
  const a = parseCurl(argv);
  return runProbe(ctx, { kind: "http", daddr: a.addr, dport: a.port, timeoutMs: a.timeoutMs, count: 1, ...bindSpec(a) }, answerBody);
};

export const wgetTool: Tool = (argv, ctx) => {
  const a = parseWget(argv);
  return runProbe(ctx, { kind: "http", daddr: a.addr, dport: a.port, timeoutMs: a.timeoutMs, count: 1 }, answerBody);
};

export const pingTool: Tool = (argv, ctx) => {
  const a = parsePing(argv);
  // iputils ping refuses a broadcast destination unless -b is given.
  const nsv = ctx.host.dp.view.netns.get(ctx.ns)!;
  const r = nsv.fib.lookup(a.addr);
  if (!a.broadcast && (a.addr === 0xffffffff || (r && r.type === "broadcast"))) {
    throw new ToolError("ping: Do you want to ping broadcast? Then -b. If not, check your local firewall rules");
  }
  const target = formatIPv4(a.addr);
  const spec: ProbeSpec = { kind: "ping", daddr: a.addr, dport: 0, timeoutMs: a.timeoutMs, count: a.count, intervalMs: a.intervalMs };
  if (a.deadlineMs !== null) spec.deadlineMs = a.deadlineMs;
  return runProbe(ctx, spec, (p) => {
    const res = p!.result;
    return `PING ${target} (${target}) 56(84) bytes of data.\n--- ${target} ping statistics ---\n${res.outcome === "reply" ? "replies received" : "no reply"}\n`;
  });
};

function listen(ctx: ToolContext, proto: number, addr: number, p: number, app: ServerApp, tool: string): ToolOutput {
  const ns = ctx.host.dp.view.netns.get(ctx.ns)!;
  if (addr !== 0 && !ns.local.has(addr)) throw new ToolError(`${tool}: OSError: [Errno 99] Cannot assign requested address`);
  const ok = ctx.host.dp.state(ns).sockets.listen({ proto, addr, port: p, app });
  if (!ok) throw new ToolError(`${tool}: OSError: [Errno 98] Address already in use`);
  return { stdout: "" };
}

export const ncTool: Tool = (argv, ctx) => {
  const a = parseNc(argv);
  if (a.mode === "listen") return listen(ctx, a.proto === "udp" ? IPPROTO_UDP : IPPROTO_TCP, a.bind, a.port, a.app, "nc");
  return runProbe(ctx, { kind: a.kind, daddr: a.addr, dport: a.port, timeoutMs: a.timeoutMs, count: 1, ...bindSpec(a) }, answerBody);
};

export const pythonTool: Tool = (argv, ctx) => {
  const a = parsePython(argv);
  return listen(ctx, IPPROTO_TCP, a.bind, a.port, "http", "python3");
};

export const sleepTool: Tool = (argv, ctx) => {
  const ms = parseSleep(argv);
  // `sleep N &` returns at once: no time passes for the lines after it.
  if (!ctx.background) ctx.host.advance(ms);
  return { stdout: "" };
};
