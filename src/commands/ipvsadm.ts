// ipvsadm 1.31: services and real servers, listings (-L, -Lc, --stats, --rate, -S) in its
// exact formats, save/restore, --set timeouts; errors worded as ipvs_strerror() words them.
import { ToolError, type Tool, type ToolContext } from "./tool.ts";
import { KernelError } from "../config/errors.ts";
import { formatIPv4, parseIPv4 } from "../wire/ipv4.ts";
import { IPPROTO_TCP, IPPROTO_UDP } from "../wire/packet.ts";
import { allServices, type DestConfig, type ServiceConfig, serviceKey } from "../ipvs/config.ts";
import { addDest, addService, clearServices, delDest, delService, editDest, getService, ipvsOf } from "../ipvs/ops.ts";
import type { IpvsRuntime } from "../ipvs/runtime.ts";
import { TCP_STATE_NAMES } from "../ipvs/conn.ts";
import { IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3, type FwdMethod } from "../ipvs/types.ts";
import { SCHEDULERS } from "../ipvs/schedulers/index.ts";
import { splitLine } from "./shell.ts";

type Cmd = "A" | "E" | "D" | "C" | "R" | "S" | "a" | "e" | "d" | "L" | "Z" | "set" | "h" | "v";

interface Parsed {
  cmd: Cmd | null;
  proto: number;
  vaddr: number;
  vport: number;
  fwmark: number;
  hasService: boolean;
  sched: string | null;
  persistent: number | null;
  netmask: number | null;
  schedFlags: number | null;
  ops: boolean;
  raddr: number | null;
  rport: number;
  fwd: FwdMethod | null;
  weight: number | null;
  uThr: number | null;
  lThr: number | null;
  numeric: boolean;
  connections: boolean;
  stats: boolean;
  rate: boolean;
  exact: boolean;
  thresholds: boolean;
  persistentConn: boolean;
  timeoutList: boolean;
  sort: boolean;
  set: [number, number, number] | null;
}

const LONG: Record<string, string> = {
  "--add-service": "-A",
  "--edit-service": "-E",
  "--delete-service": "-D",
  "--clear": "-C",
  "--restore": "-R",
  "--save": "-S",
  "--add-server": "-a",
  "--edit-server": "-e",
  "--delete-server": "-d",
  "--list": "-L",
  "--zero": "-Z",
  "--tcp-service": "-t",
  "--udp-service": "-u",
  "--fwmark-service": "-f",
  "--scheduler": "-s",
  "--persistent": "-p",
  "--netmask": "-M",
  "--real-server": "-r",
  "--gatewaying": "-g",
  "--ipip": "-i",
  "--masquerading": "-m",
  "--weight": "-w",
  "--u-threshold": "-x",
  "--l-threshold": "-y",
  "--numeric": "-n",
  "--connection": "-c",
  "--sched-flags": "-b",
  "--ops": "-o",
  "--help": "-h",
  "--version": "-v",
};

const fail = (msg: string) => new ToolError(msg);

function hostPort(text: string, what: string, needPort: boolean): [number, number] {
  const m = /^([0-9.]+)(?::(\d+))?$/.exec(text);
  const addr = m ? parseIPv4(m[1]!) : null;
  if (!m || addr === null) throw fail(`illegal ${what} address[:port] specified`);
  const port = m[2] !== undefined ? Number(m[2]) : 0;
  if (port > 65535) throw fail(`illegal ${what} address[:port] specified`);
  if (needPort && m[2] === undefined) return [addr, 0];
  return [addr, port];
}

function parse(argv: string[]): Parsed {
  const p: Parsed = {
    cmd: null,
    proto: 0,
    vaddr: 0,
    vport: 0,
    fwmark: 0,
    hasService: false,
    sched: null,
    persistent: null,
    netmask: null,
    schedFlags: null,
    ops: false,
    raddr: null,
    rport: 0,
    fwd: null,
    weight: null,
    uThr: null,
    lThr: null,
    numeric: false,
    connections: false,
    stats: false,
    rate: false,
    exact: false,
    thresholds: false,
    persistentConn: false,
    timeoutList: false,
    sort: true,
    set: null,
  };
  const args: string[] = [];
  for (const a of argv) {
    // popt bundles short options: -Ln, -Lcn.
    if (/^-[A-Za-z]{2,}$/.test(a)) for (const ch of a.slice(1)) args.push(`-${ch}`);
    else args.push(LONG[a] ?? a);
  }
  const setCmd = (c: Cmd) => {
    if (p.cmd && p.cmd !== c) throw fail("You may specify only one command");
    p.cmd = c;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const val = () => {
      const v = args[++i];
      if (v === undefined) throw fail(`${a}: missing argument`);
      return v;
    };
    switch (a) {
      case "-A":
      case "-E":
      case "-D":
      case "-C":
      case "-R":
      case "-S":
      case "-a":
      case "-e":
      case "-d":
      case "-L":
      case "-l":
      case "-Z":
      case "-h":
      case "-v":
        setCmd((a === "-l" ? "L" : a[1]) as Cmd);
        break;
      case "--set": {
        setCmd("set");
        const t = [val(), val(), val()].map((x) => {
          if (!/^\d+$/.test(x)) throw fail("illegal timeout specified");
          return Number(x);
        });
        p.set = t as [number, number, number];
        break;
      }
      case "-t":
      case "-u":
      case "--sctp-service": {
        const [addr, port] = hostPort(val(), "virtual server", true);
        p.proto = a === "-t" ? IPPROTO_TCP : a === "-u" ? IPPROTO_UDP : 132;
        p.vaddr = addr;
        p.vport = port;
        p.hasService = true;
        break;
      }
      case "-f": {
        const v = val();
        if (!/^\d+$/.test(v) || Number(v) === 0) throw fail("illegal virtual server fwmark specified");
        p.fwmark = Number(v);
        p.hasService = true;
        break;
      }
      case "-s":
        p.sched = val();
        break;
      case "-p": {
        const next = args[i + 1];
        if (next !== undefined && /^\d+$/.test(next)) {
          p.persistent = Number(next);
          i++;
          if (p.persistent < 1) throw fail("illegal timeout for persistent service specified");
        } else p.persistent = 300;
        break;
      }
      case "-M": {
        const v = val();
        const m = parseIPv4(v) ?? (/^\d+$/.test(v) && Number(v) <= 32 ? (Number(v) === 0 ? 0 : (0xffffffff << (32 - Number(v))) >>> 0) : null);
        if (m === null) throw fail("illegal virtual server persistent mask specified");
        p.netmask = m;
        break;
      }
      case "-b": {
        let f = 0;
        for (const flag of val().split(",")) {
          if (flag === "sh-fallback" || flag === "mh-fallback" || flag === "flag-1") f |= IP_VS_SVC_F_SCHED1;
          else if (flag === "sh-port" || flag === "mh-port" || flag === "flag-2") f |= IP_VS_SVC_F_SCHED2;
          else if (flag === "flag-3") f |= IP_VS_SVC_F_SCHED3;
          else throw fail(`invalid scheduling flag: ${flag}`);
        }
        p.schedFlags = f;
        break;
      }
      case "-o":
        p.ops = true;
        break;
      case "-r": {
        const [addr, port] = hostPort(val(), "server", false);
        p.raddr = addr;
        p.rport = port;
        break;
      }
      case "-g":
        p.fwd = "droute";
        break;
      case "-i":
        p.fwd = "tunnel";
        break;
      case "-m":
        p.fwd = "masq";
        break;
      case "-w": {
        const v = val();
        if (!/^\d+$/.test(v) || Number(v) > 65535) throw fail("illegal weight specified");
        p.weight = Number(v);
        break;
      }
      case "-x":
      case "-y": {
        const v = val();
        if (!/^\d+$/.test(v)) throw fail(`illegal ${a === "-x" ? "u_threshold" : "l_threshold"} specified`);
        if (a === "-x") p.uThr = Number(v);
        else p.lThr = Number(v);
        break;
      }
      case "-n":
        p.numeric = true;
        break;
      case "-c":
        p.connections = true;
        break;
      case "--stats":
        p.stats = true;
        break;
      case "--rate":
        p.rate = true;
        break;
      case "--exact":
        p.exact = true;
        break;
      case "--thresholds":
        p.thresholds = true;
        break;
      case "--persistent-conn":
        p.persistentConn = true;
        break;
      case "--timeout":
        p.timeoutList = true;
        break;
      case "--nosort":
        p.sort = false;
        break;
      case "--sort":
        p.sort = true;
        break;
      case "-6":
      case "--ipv6":
        throw fail("pktpath does not model IPv6 services yet");
      default:
        if (a.startsWith("--start-daemon") || a.startsWith("--stop-daemon") || a === "--daemon") throw fail("pktpath does not model the IPVS sync daemon");
        throw fail(`ipvsadm: invalid option -- '${a.replace(/^-+/, "")}'`);
    }
  }
  return p;
}

// ipvs_strerror(): the words libipvs gives each (function, errno) pair.
function strerror(cmd: Cmd, e: KernelError): string {
  const t: Partial<Record<string, string>> = {
    "A:EEXIST": "Service already exists",
    "A:ENOENT": "Scheduler or persistence engine not found",
    "E:ESRCH": "No such service",
    "E:ENOENT": "Scheduler or persistence engine not found",
    "D:ESRCH": "No such service",
    "a:ESRCH": "Service not defined",
    "a:EEXIST": "Destination already exists",
    "e:ESRCH": "Service not defined",
    "e:ENOENT": "No such destination",
    "d:ESRCH": "Service not defined",
    "d:ENOENT": "No such destination",
    "Z:ESRCH": "No such service",
  };
  return t[`${cmd}:${e.errno}`] ?? e.message;
}

export function ipvsadmTool(rt: IpvsRuntime): Tool {
  const tool: Tool = (argv, ctx) => {
    const p = parse(argv.slice(1));
    // The first ipvsadm loads ip_vs (the kernel's request_module).
    if (!ctx.host.config.modules["ip_vs"]) ctx.host.change((c) => void (c.modules["ip_vs"] = true));
    const ns = ctx.ns;
    const cmd = p.cmd ?? "L";
    try {
      return run(rt, ctx, p, cmd, ns);
    } catch (e) {
      if (e instanceof KernelError) throw new ToolError(strerror(cmd, e));
      throw e;
    }
  };
  return tool;
}

function needService(p: Parsed): string {
  if (!p.hasService) throw fail("You must specify a virtual service, with -t, -u or -f");
  return serviceKey(p.proto, p.vaddr, p.vport, p.fwmark);
}

function run(rt: IpvsRuntime, ctx: ToolContext, p: Parsed, cmd: Cmd, ns: string): { stdout: string } {
  switch (cmd) {
    case "h":
      return { stdout: "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n" };
    case "v":
      return { stdout: "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n" };
    case "A":
    case "E": {
      const key = needService(p);
      const sched = p.sched ?? (cmd === "A" ? "wlc" : null);
      if (sched !== null && !SCHEDULERS.has(sched)) throw new KernelError("ENOENT");
      if (!p.fwmark && p.vport === 0 && p.persistent === null) throw fail("Zero port specified for non-persistent service");
      ctx.host.change((c) => {
        const nsc = c.netns[ns]!;
        if (cmd === "A") {
          const svc: ServiceConfig = {
            key,
            proto: p.fwmark ? 0 : p.proto,
            addr: p.vaddr,
            port: p.vport,
            fwmark: p.fwmark,
            scheduler: sched!,
            flags: (p.persistent !== null ? IP_VS_SVC_F_PERSISTENT : 0) | (p.schedFlags ?? 0) | (p.ops ? IP_VS_SVC_F_ONEPACKET : 0),
            timeout: p.persistent ?? 0,
            netmask: p.netmask ?? 0xffffffff,
            dests: [],
          };
          addService(nsc, svc);
        } else {
          const s = getService(nsc, key);
          if (sched) s.scheduler = sched;
          if (p.persistent !== null) {
            s.flags |= IP_VS_SVC_F_PERSISTENT;
            s.timeout = p.persistent;
          }
          if (p.netmask !== null) s.netmask = p.netmask;
          if (p.schedFlags !== null) s.flags = (s.flags & ~(IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3)) | p.schedFlags;
        }
      });
      return { stdout: "" };
    }
    case "D": {
      const key = needService(p);
      ctx.host.change((c) => delService(c.netns[ns]!, key));
      return { stdout: "" };
    }
    case "C":
      ctx.host.change((c) => clearServices(c.netns[ns]!));
      return { stdout: "" };
    case "a":
    case "e":
    case "d": {
      const key = needService(p);
      if (p.raddr === null) throw fail("You need to supply the 'real-server' option for this command");
      const port = p.rport || p.vport;
      if (cmd === "d") {
        ctx.host.change((c) => delDest(c.netns[ns]!, key, p.raddr!, port));
        return { stdout: "" };
      }
      const fwd = p.fwd ?? "droute";
      if (fwd === "tunnel") throw fail("pktpath does not model IPIP tunnelling (-i) yet");
      if (fwd === "masq" && !p.fwmark && port === 0) throw fail("Zero port specified for non-persistent service");
      ctx.host.change((c) => {
        const nsc = c.netns[ns]!;
        const old = getService(nsc, key).dests.find((d) => d.addr === p.raddr && d.port === port);
        const d: DestConfig = {
          addr: p.raddr!,
          port,
          weight: p.weight ?? (cmd === "e" && old ? old.weight : 1),
          fwd: p.fwd ?? (cmd === "e" && old ? old.fwd : "droute"),
          uThreshold: p.uThr ?? (old?.uThreshold ?? 0),
          lThreshold: p.lThr ?? (old?.lThreshold ?? 0),
        };
        if (cmd === "a") addDest(nsc, key, d);
        else editDest(nsc, key, d);
      });
      return { stdout: "" };
    }
    case "set":
      ctx.host.change((c) => {
        const cfg = ipvsOf(c.netns[ns]!);
        const [tcp, tcpfin, udp] = p.set!;
        // A zero leaves that timeout as it is.
        if (tcp) cfg.timeouts.tcp = tcp;
        if (tcpfin) cfg.timeouts.tcpfin = tcpfin;
        if (udp) cfg.timeouts.udp = udp;
      });
      return { stdout: "" };
    case "Z": {
      const st = rt.sync(ns, ctx.host.config);
      for (const s of st.services.values()) {
        if (p.hasService && s.key !== needService(p)) continue;
        s.stats = { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
        for (const d of s.dests) d.stats = { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
      }
      return { stdout: "" };
    }
    case "S":
      return { stdout: listServices(rt, ctx, p, true) };
    case "R":
      return restore(ctx);
    case "L":
      if (p.connections) return { stdout: listConnections(rt, ctx, p) };
      if (p.timeoutList) {
        const t = rt.timeouts(ns);
        return { stdout: `Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpfin} ${t.udp}\n` };
      }
      return { stdout: listServices(rt, ctx, p, false) };
  }
}

function restore(ctx: ToolContext): { stdout: string } {
  if (ctx.stdin === null) throw fail("ipvsadm -R: give the rules as a here-document (ipvsadm -R <<EOF ... EOF)");
  const tool = ctx.host.tool("ipvsadm")!;
  let n = 0;
  for (const raw of ctx.stdin.split("\n")) {
    n++;
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const words = splitLine(line)[0]?.argv ?? [];
    try {
      tool(["ipvsadm", ...words], { ...ctx, stdin: null });
    } catch (e) {
      if (e instanceof ToolError) throw fail(`${e.message}\nipvsadm: line ${n}: ${line}`);
      throw e;
    }
  }
  return { stdout: "" };
}

const PORT_NAMES: Record<number, string> = { 21: "ftp", 22: "ssh", 25: "smtp", 53: "domain", 80: "http", 110: "pop3", 143: "imap2", 443: "https", 3306: "mysql", 5432: "postgresql", 8080: "http-alt" };

function addrPort(addr: number, port: number, numeric: boolean): string {
  return `${formatIPv4(addr)}:${numeric ? port : (PORT_NAMES[port] ?? port)}`;
}

function protoWord(s: ServiceConfig): string {
  return s.proto === IPPROTO_UDP ? "UDP" : s.proto === 132 ? "SCTP" : "TCP";
}

function svcName(s: ServiceConfig, numeric: boolean, rule: boolean): string {
  if (s.fwmark) return rule ? `-f ${s.fwmark}` : `FWM  ${s.fwmark}`;
  const flag = s.proto === IPPROTO_UDP ? "-u" : s.proto === 132 ? "--sctp-service" : "-t";
  return rule ? `${flag} ${addrPort(s.addr, s.port, numeric)}` : `${protoWord(s)}  ${addrPort(s.addr, s.port, numeric)}`;
}

function schedFlags(flags: number, sched: string): string {
  const out: string[] = [];
  const pre = sched === "mh" ? "mh" : "sh";
  if (flags & IP_VS_SVC_F_SCHED1) out.push(sched === "sh" || sched === "mh" ? `${pre}-fallback` : "flag-1");
  if (flags & IP_VS_SVC_F_SCHED2) out.push(sched === "sh" || sched === "mh" ? `${pre}-port` : "flag-2");
  if (flags & IP_VS_SVC_F_SCHED3) out.push("flag-3");
  return out.join(",");
}

// print_largenum(): 9 wide, K/M/G/T past 100 million, unless --exact.
function largenum(n: number, exact: boolean): string {
  if (exact) {
    const s = String(n);
    return s.length <= 8 ? s.padStart(9) : ` ${s}`;
  }
  if (n < 100_000_000) return String(n).padStart(9);
  if (n < 1_000_000_000) return `${String(Math.floor(n / 1000)).padStart(8)}K`;
  if (n < 1e12) return `${String(Math.floor(n / 1e6)).padStart(8)}M`;
  return `${String(Math.floor(n / 1e9)).padStart(8)}G`;
}

const FWD_NAME: Record<FwdMethod, string> = { masq: "Masq", droute: "Route", tunnel: "Tunnel" };
const FWD_SWITCH: Record<FwdMethod, string> = { masq: "-m", droute: "-g", tunnel: "-i" };

function listServices(rt: IpvsRuntime, ctx: ToolContext, p: Parsed, rule: boolean): string {
  const ns = ctx.ns;
  rt.expireAll(ns);
  const st = rt.sync(ns, ctx.host.config);
  const cfg = ctx.host.config.netns[ns]!.ext.ipvs;
  let services = allServices(cfg);
  if (p.hasService) {
    const key = needService(p);
    services = services.filter((s) => s.key === key);
    if (!services.length) throw fail("No such service");
  }
  // ipvs_cmp_services(): fwmark, protocol, address, port.
  if (p.sort) services.sort((a, b) => a.fwmark - b.fwmark || a.proto - b.proto || a.addr - b.addr || a.port - b.port);
  const lines: string[] = [];
  const numeric = p.numeric || rule;
  if (!rule) {
    lines.push(`IP Virtual Server version 1.2.1 (size=4096)`);
    if (p.stats) lines.push("Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes", "  -> RemoteAddress:Port");
    else if (p.rate) lines.push("Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS", "  -> RemoteAddress:Port");
    else if (p.thresholds) lines.push("Prot LocalAddress:Port", "  -> RemoteAddress:Port            Uthreshold Lthreshold ActiveConn InActConn");
    else if (p.persistentConn) lines.push("Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn ", "  -> RemoteAddress:Port");
    else lines.push("Prot LocalAddress:Port Scheduler Flags", "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn");
  }
  for (const s of services) {
    const srt = st.services.get(s.key);
    const name = svcName(s, numeric, rule);
    let head: string;
    if (rule) {
      head = `-A ${name} -s ${s.scheduler}`;
      if (s.flags & IP_VS_SVC_F_PERSISTENT) head += ` -p ${s.timeout}`;
      if (s.flags & IP_VS_SVC_F_PERSISTENT && s.netmask !== 0xffffffff) head += ` -M ${formatIPv4(s.netmask)}`;
      const f = schedFlags(s.flags, s.scheduler);
      if (f) head += ` -b ${f}`;
      if (s.flags & IP_VS_SVC_F_ONEPACKET) head += " -o";
    } else if (p.stats || p.rate) {
      const stt = srt?.stats ?? { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
      const v = p.stats ? [stt.conns, stt.inpkts, stt.outpkts, stt.inbytes, stt.outbytes] : [0, 0, 0, 0, 0];
      head = name.padEnd(33) + v.map((x) => largenum(x, p.exact)).join("");
    } else if (p.thresholds || p.persistentConn) {
      head = name;
    } else {
      head = `${name} ${s.scheduler}`;
      const f = schedFlags(s.flags, s.scheduler);
      if (f) head += ` (${f})`;
      if (s.flags & IP_VS_SVC_F_PERSISTENT) {
        head += ` persistent ${s.timeout}`;
        if (s.netmask !== 0xffffffff) head += ` mask ${formatIPv4(s.netmask)}`;
      }
      if (s.flags & IP_VS_SVC_F_ONEPACKET) head += " ops";
    }
    lines.push(head);
    let dests = [...s.dests];
    // ipvs_cmp_dests(): by address, then port.
    if (p.sort) dests.sort((a, b) => a.addr - b.addr || a.port - b.port);
    for (const d of dests) {
      const drt = srt?.destByKey.get(d.addr * 65536 + d.port);
      const dname = addrPort(d.addr, d.port, numeric);
      const local = rt.view(ns)?.local.has(d.addr);
      if (rule) {
        let l = `-a ${name} -r ${dname} ${FWD_SWITCH[d.fwd]} -w ${d.weight}`;
        if (d.uThreshold) l += ` -x ${d.uThreshold}`;
        if (d.lThreshold) l += ` -y ${d.lThreshold}`;
        lines.push(l);
      } else if (p.stats || p.rate) {
        const stt = drt?.stats ?? { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
        const v = p.stats ? [stt.conns, stt.inpkts, stt.outpkts, stt.inbytes, stt.outbytes] : [0, 0, 0, 0, 0];
        lines.push(`  -> ${dname.padEnd(30)}` + v.map((x) => largenum(x, p.exact)).join(""));
      } else if (p.thresholds) {
        lines.push(`  -> ${dname.padEnd(28)} ${String(d.uThreshold).padEnd(10)} ${String(d.lThreshold).padEnd(10)} ${String(drt?.activeConns ?? 0).padEnd(10)} ${String(drt?.inactConns ?? 0).padEnd(10)}`);
      } else if (p.persistentConn) {
        lines.push(`  -> ${dname.padEnd(28)} ${String(d.weight).padEnd(9)} ${String(drt?.persistConns ?? 0).padEnd(11)} ${String(drt?.activeConns ?? 0).padEnd(10)} ${String(drt?.inactConns ?? 0).padEnd(10)}`);
      } else {
        const fwd = d.fwd === "masq" && local ? "Local" : FWD_NAME[d.fwd];
        lines.push(`  -> ${dname.padEnd(28)} ${fwd.padEnd(7)} ${String(d.weight).padEnd(6)} ${String(drt?.activeConns ?? 0).padEnd(10)} ${String(drt?.inactConns ?? 0).padEnd(10)}`);
      }
    }
  }
  return lines.map((l) => l + "\n").join("");
}

function listConnections(rt: IpvsRuntime, ctx: ToolContext, p: Parsed): string {
  const ns = ctx.ns;
  rt.expireAll(ns);
  const st = rt.state(ns);
  const now = ctx.host.now;
  const lines = ["IPVS connection entries", "pro expire state       source             virtual            destination"];
  for (const c of st.conns.entries()) {
    const secs = Math.max(0, Math.ceil((c.expires - now) / 1000));
    const proto = c.proto === IPPROTO_UDP ? "UDP" : c.proto === 132 ? "SCTP" : "TCP";
    const state = c.proto === IPPROTO_TCP ? TCP_STATE_NAMES[c.state]! : c.proto === IPPROTO_UDP ? "UDP" : "NONE";
    const mm = String(Math.floor(secs / 60)).padStart(2, "0");
    const ss = String(secs % 60).padStart(2, "0");
    lines.push(`${proto.padEnd(3)} ${mm}:${ss}  ${state.padEnd(11)} ${addrPort(c.caddr, c.cport, p.numeric).padEnd(18)} ${addrPort(c.vaddr, c.vport, p.numeric).padEnd(18)} ${addrPort(c.daddr, c.dport, p.numeric)}`);
  }
  return lines.map((l) => l + "\n").join("");
}
