// ipvsadm 1.31: services and real servers, save/restore, --set timeouts; errors worded
// as ipvs_strerror() words them. Options in ./parse.ts (the lines ipvsadm -S writes in
// ./fast.ts), listings in ./list.ts, the copy-on-write edit in ../ops.ts.
import { ToolError, type Tool, type ToolContext } from "../../tool/tool.ts";
import { KernelError } from "../../config/errors.ts";
import type { DestConfig, ServiceConfig } from "../config.ts";
import { IpvsEdit } from "../ops.ts";
import type { IpvsRuntime } from "../runtime.ts";
import { IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT } from "../types.ts";
import { SCHEDULERS } from "../schedulers/index.ts";
import { ShellSyntaxError, splitLine } from "../../tool/shell.ts";
import { fastParse } from "./fast.ts";

import { type Cmd, fail, needService, parse, type Parsed } from "./parse.ts";
import { listConnections, listServices } from "./list.ts";

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
    const cmd = p.cmd ?? "L";
    if (!EDITS.has(cmd)) return run(rt, ctx, p, cmd);
    const edit = new IpvsEdit(ctx.host.config.netns[ctx.ns]!.ext.ipvs);
    applyEdit(edit, p, cmd);
    commit(ctx, edit);
    return { stdout: "" };
  };
  return tool;
}

/** The commands that change the configuration (one IpvsEdit each, or one per -R file). */
const EDITS: ReadonlySet<Cmd> = new Set<Cmd>(["A", "E", "D", "C", "a", "e", "d", "set"]);

/** The edit becomes the snapshot (one change), unless it changed nothing. */
function commit(ctx: ToolContext, edit: IpvsEdit): void {
  const next = edit.finish();
  if (next) ctx.host.change((c) => void (c.netns[ctx.ns]!.ext.ipvs = next));
}

/** One command that changes the configuration, on `edit`; kernel errors in ipvsadm's words. */
function applyEdit(edit: IpvsEdit, p: Parsed, cmd: Cmd): void {
  try {
    if (cmd === "A" || cmd === "E") editService(edit, p, cmd);
    else if (cmd === "D") edit.delService(needService(p));
    else if (cmd === "C") edit.clear();
    else if (cmd === "set") setTimeouts(edit, p.set!);
    else editDest(edit, p, cmd);
  } catch (e) {
    if (e instanceof KernelError) throw new ToolError(strerror(cmd, e));
    throw e;
  }
}

// ip_vs_add_service() / ip_vs_edit_service().
function editService(edit: IpvsEdit, p: Parsed, cmd: "A" | "E"): void {
  const key = needService(p);
  const sched = p.sched ?? (cmd === "A" ? "wlc" : null);
  if (sched !== null && !SCHEDULERS.has(sched)) throw new KernelError("ENOENT");
  if (!p.fwmark && p.vport === 0 && p.persistent === null) throw fail("Zero port specified for non-persistent service");
  // ip_vs_sched() gives UDP connections of an -o service IP_VS_CONN_F_ONE_PACKET (never
  // hashed, so replies are not un-NATed): not in the packet path yet, so refused.
  if (p.ops) throw fail("pktpath does not model one-packet scheduling (-o, --ops) yet");
  const flags = (p.persistent !== null ? IP_VS_SVC_F_PERSISTENT : 0) | (p.schedFlags ?? 0) | (p.ops ? IP_VS_SVC_F_ONEPACKET : 0);
  const timeout = p.persistent ?? 0;
  const netmask = p.netmask ?? 0xffffffff;
  if (cmd === "A") {
    const proto = p.fwmark ? 0 : p.proto;
    const svc: ServiceConfig = { key, proto, addr: p.vaddr, port: p.vport, fwmark: p.fwmark, scheduler: sched!, flags, timeout, netmask, dests: [] };
    edit.addService(svc);
    return;
  }
  // ipvsadm -E sends the whole service: what the command does not give takes its
  // default again (wlc, not persistent, mask 255.255.255.255, no flags).
  const old = edit.service(key);
  const scheduler = sched ?? "wlc";
  if (old.scheduler === scheduler && old.flags === flags && old.timeout === timeout && old.netmask === netmask) return;
  Object.assign(edit.writable(key), { scheduler, flags, timeout, netmask });
}

// ip_vs_add_dest() / ip_vs_edit_dest() / ip_vs_del_dest().
function editDest(edit: IpvsEdit, p: Parsed, cmd: Cmd): void {
  const key = needService(p);
  if (p.raddr === null) throw fail("You need to supply the 'real-server' option for this command");
  const addr = p.raddr;
  const port = p.rport || p.vport;
  if (cmd === "d") return edit.delDest(key, addr, port);
  const fwd = p.fwd ?? "droute";
  if (fwd === "tunnel") throw fail("pktpath does not model IPIP tunnelling (-i) yet");
  if (fwd === "masq" && !p.fwmark && port === 0) throw fail("Zero port specified for non-persistent service");
  const old = cmd === "e" ? edit.service(key).dests.find((d) => d.addr === addr && d.port === port) : undefined;
  const d: DestConfig = {
    addr,
    port,
    weight: p.weight ?? old?.weight ?? 1,
    fwd: p.fwd ?? old?.fwd ?? "droute",
    uThreshold: p.uThr ?? old?.uThreshold ?? 0,
    lThreshold: p.lThr ?? old?.lThreshold ?? 0,
  };
  if (cmd === "a") edit.addDest(key, d);
  else edit.editDest(key, d);
}

/** --set TCP TCPFIN UDP: a zero leaves that timeout as it is. */
function setTimeouts(edit: IpvsEdit, [tcp, tcpfin, udp]: [number, number, number]): void {
  if (!tcp && !tcpfin && !udp && edit.existed) return;
  const t = edit.timeouts();
  if (tcp) t.tcp = tcp;
  if (tcpfin) t.tcpfin = tcpfin;
  if (udp) t.udp = udp;
}

const VERSION = "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n";

/** The commands that read: listings, counters, the version; -R. */
function run(rt: IpvsRuntime, ctx: ToolContext, p: Parsed, cmd: Cmd): { stdout: string } {
  const ns = ctx.ns;
  switch (cmd) {
    case "h":
    case "v":
      return { stdout: VERSION };
    case "Z":
      zero(rt, ctx, p);
      return { stdout: "" };
    case "S":
      return { stdout: listServices(rt, ctx, p, true) };
    case "R":
      return restore(rt, ctx);
    default:
      if (p.connections) return { stdout: listConnections(rt, ctx, p) };
      if (p.timeoutList) {
        const t = rt.timeouts(ns);
        return { stdout: `Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpfin} ${t.udp}\n` };
      }
      return { stdout: listServices(rt, ctx, p, false) };
  }
}

/** -Z: the counters of every service, or of the one named, back to zero. */
function zero(rt: IpvsRuntime, ctx: ToolContext, p: Parsed): void {
  const st = rt.sync(ctx.ns, ctx.host.config);
  for (const s of st.services.values()) {
    if (p.hasService && s.key !== needService(p)) continue;
    s.stats = { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
    for (const d of s.dests) d.stats = { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
  }
}

/**
 * ipvsadm -R: the lines of the here-document in order, as one edit that becomes the
 * snapshot once, at the end; a failing line names itself and leaves the table as it was.
 * (ipvsadm.c restore_table() runs process_options() per line; pktpath keeps its rule
 * that bad input changes nothing.)
 */
function restore(rt: IpvsRuntime, ctx: ToolContext): { stdout: string } {
  if (ctx.stdin === null) throw fail("ipvsadm -R: give the rules as a here-document (ipvsadm -R <<EOF ... EOF)");
  const edit = new IpvsEdit(ctx.host.config.netns[ctx.ns]!.ext.ipvs);
  const text = ctx.stdin;
  let n = 0;
  for (let at = 0; at <= text.length; ) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    n++;
    const line = text.slice(at, end).trim();
    at = end + 1;
    if (!line || line.startsWith("#")) continue;
    try {
      restoreLine(rt, ctx, edit, line);
    } catch (e) {
      if (e instanceof ToolError || e instanceof ShellSyntaxError) throw fail(`${e.message}\nipvsadm: line ${n}: ${line}`);
      throw e;
    }
  }
  commit(ctx, edit);
  return { stdout: "" };
}

/**
 * One line of -R: the lines -S writes take the fast path, any other the whole parser.
 * A listing's output is dropped; a listing of one service still fails when the file,
 * as of that line, has no such service.
 */
function restoreLine(rt: IpvsRuntime, ctx: ToolContext, edit: IpvsEdit, line: string): void {
  const p = fastParse(line) ?? parse(splitLine(line, { literal: true })[0]?.argv ?? []);
  const cmd = p.cmd ?? "L";
  if (EDITS.has(cmd)) applyEdit(edit, p, cmd);
  else if (cmd === "S" || (cmd === "L" && !p.connections && !p.timeoutList)) {
    if (p.hasService && !edit.find(needService(p))) throw fail("No such service");
  } else if (cmd !== "L") run(rt, { ...ctx, stdin: null }, p, cmd);
}
