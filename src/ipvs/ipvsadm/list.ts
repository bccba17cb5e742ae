// ipvsadm 1.31's listings (print_title, print_service_entry, print_conn) and -S.
import type { ToolContext } from "../../tool/tool.ts";
import { formatIPv4 } from "../../wire/ipv4.ts";
import { IPPROTO_TCP, IPPROTO_UDP } from "../../wire/packet.ts";
import { allServices, type DestConfig, type ServiceConfig } from "../config.ts";
import type { IpvsRuntime, IpvsServiceRt } from "../runtime.ts";
import { TCP_STATE_NAMES } from "../conn.ts";
import { IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3, type FwdMethod, type IpvsDest } from "../types.ts";
import { fail, needService, type Parsed } from "./parse.ts";


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

/**
 * The runtime destination of the service's i-th configured one: the runtime list is in
 * the configuration's order once synced (runtime.ts resolveDests), else it is looked for.
 */
function runtimeDest(srt: IpvsServiceRt | undefined, i: number, d: DestConfig): IpvsDest | undefined {
  const x = srt?.dests[i];
  if (x && x.addr === d.addr && x.port === d.port) return x;
  return srt?.dests.find((y) => y.addr === d.addr && y.port === d.port);
}

export function listServices(rt: IpvsRuntime, ctx: ToolContext, p: Parsed, rule: boolean): string {
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
  const lines: string[] = rule ? [] : titles(p);
  const numeric = p.numeric || rule;
  for (const s of services) {
    const srt = st.services.get(s.key);
    const name = svcName(s, numeric, rule);
    lines.push(serviceLine(s, srt, name, p, rule));
    const dests = s.dests.map((d, i) => ({ d, drt: runtimeDest(srt, i, d) }));
    // ipvs_cmp_dests(): by address, then port.
    if (p.sort) dests.sort(({ d: a }, { d: b }) => a.addr - b.addr || a.port - b.port);
    for (const { d, drt } of dests) lines.push(destLine(d, drt, name, p, rule, numeric, rt.view(ns)?.local.has(d.addr) === true));
  }
  return lines.map((l) => l + "\n").join("");
}

/** print_title(): list_all() prints the version banner; list_service() (-t/-u/-f given) does not. */
function titles(p: Parsed): string[] {
  const lines: string[] = [];
  if (!p.hasService) lines.push(`IP Virtual Server version 1.2.1 (size=4096)`);
  if (p.stats) lines.push("Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes", "  -> RemoteAddress:Port");
  else if (p.rate) lines.push("Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS", "  -> RemoteAddress:Port");
  else if (p.thresholds) lines.push("Prot LocalAddress:Port", "  -> RemoteAddress:Port            Uthreshold Lthreshold ActiveConn InActConn");
  else if (p.persistentConn) lines.push("Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn ", "  -> RemoteAddress:Port");
  else lines.push("Prot LocalAddress:Port Scheduler Flags", "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn");
  return lines;
}

/** print_service_entry(): the service's line (-S: its -A rule). */
function serviceLine(s: ServiceConfig, srt: IpvsServiceRt | undefined, name: string, p: Parsed, rule: boolean): string {
  let head: string;
  if (rule) {
    head = `-A ${name} -s ${s.scheduler}`;
    if (s.flags & IP_VS_SVC_F_PERSISTENT) head += ` -p ${s.timeout}`;
    if (s.flags & IP_VS_SVC_F_PERSISTENT && s.netmask !== 0xffffffff) head += ` -M ${formatIPv4(s.netmask)}`;
    const f = schedFlags(s.flags, s.scheduler);
    if (f) head += ` -b ${f}`;
    if (s.flags & IP_VS_SVC_F_ONEPACKET) head += " -o";
    return head;
  }
  if (p.stats || p.rate) {
    const stt = srt?.stats ?? { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
    const v = p.stats ? [stt.conns, stt.inpkts, stt.outpkts, stt.inbytes, stt.outbytes] : [0, 0, 0, 0, 0];
    return name.padEnd(33) + v.map((x) => largenum(x, p.exact)).join("");
  }
  // Every format but rule/stats/rate prints the scheduler line.
  head = `${name} ${s.scheduler}`;
  const f = schedFlags(s.flags, s.scheduler);
  if (f) head += ` (${f})`;
  if (s.flags & IP_VS_SVC_F_PERSISTENT) {
    head += ` persistent ${s.timeout}`;
    if (s.netmask !== 0xffffffff) head += ` mask ${formatIPv4(s.netmask)}`;
  }
  if (s.flags & IP_VS_SVC_F_ONEPACKET) head += " ops";
  return head;
}

/** print_service_entry()'s line for one real server (-S: its -a rule). */
function destLine(d: DestConfig, drt: IpvsDest | undefined, name: string, p: Parsed, rule: boolean, numeric: boolean, local: boolean): string {
  const dname = addrPort(d.addr, d.port, numeric);
  if (rule) {
    let l = `-a ${name} -r ${dname} ${FWD_SWITCH[d.fwd]} -w ${d.weight}`;
    if (d.uThreshold) l += ` -x ${d.uThreshold}`;
    if (d.lThreshold) l += ` -y ${d.lThreshold}`;
    return l;
  }
  if (p.stats || p.rate) {
    const stt = drt?.stats ?? { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
    const v = p.stats ? [stt.conns, stt.inpkts, stt.outpkts, stt.inbytes, stt.outbytes] : [0, 0, 0, 0, 0];
    return `  -> ${dname.padEnd(28)}` + v.map((x) => largenum(x, p.exact)).join("");
  }
  if (p.thresholds) {
    return `  -> ${dname.padEnd(28)} ${String(d.uThreshold).padEnd(10)} ${String(d.lThreshold).padEnd(10)} ${String(drt?.activeConns ?? 0).padEnd(10)} ${String(drt?.inactConns ?? 0).padEnd(10)}`;
  }
  if (p.persistentConn) {
    return `  -> ${dname.padEnd(28)} ${String(d.weight).padEnd(9)} ${String(drt?.persistConns ?? 0).padEnd(11)} ${String(drt?.activeConns ?? 0).padEnd(10)} ${String(drt?.inactConns ?? 0).padEnd(10)}`;
  }
  const fwd = d.fwd === "masq" && local ? "Local" : FWD_NAME[d.fwd];
  return `  -> ${dname.padEnd(28)} ${fwd.padEnd(7)} ${String(d.weight).padEnd(6)} ${String(drt?.activeConns ?? 0).padEnd(10)} ${String(drt?.inactConns ?? 0).padEnd(10)}`;
}

export function listConnections(rt: IpvsRuntime, ctx: ToolContext, p: Parsed): string {
  const ns = ctx.ns;
  rt.expireAll(ns);
  const st = rt.state(ns);
  const now = ctx.host.now;
  const lines = ["IPVS connection entries", "pro expire state       source             virtual            destination"];
  for (const c of st.conns.entries()) {
    const secs = Math.max(0, Math.floor((c.expires - now) / 1000));
    const proto = c.proto === IPPROTO_UDP ? "UDP" : c.proto === 132 ? "SCTP" : "TCP";
    // ip_vs_state_name(): a template shows NONE, or ASSURED once a connection it controls was established.
    const state = c.controlled ? (c.assured ? "ASSURED" : "NONE") : c.proto === IPPROTO_TCP ? TCP_STATE_NAMES[c.state]! : c.proto === IPPROTO_UDP ? "UDP" : "NONE";
    const mm = String(Math.floor(secs / 60)).padStart(2, "0");
    const ss = String(secs % 60).padStart(2, "0");
    lines.push(`${proto.padEnd(3)} ${mm}:${ss}  ${state.padEnd(11)} ${addrPort(c.caddr, c.cport, p.numeric).padEnd(18)} ${addrPort(c.vaddr, c.vport, p.numeric).padEnd(18)} ${addrPort(c.daddr, c.dport, p.numeric)}`);
  }
  return lines.map((l) => l + "\n").join("");
}
