// ipvsadm 1.31: services and real servers, save/restore, --set timeouts; errors worded
// as ipvs_strerror() words them. Options in ./parse.ts, listings in ./list.ts.
import { ToolError, type Tool, type ToolContext } from "../../tool/tool.ts";
import { KernelError } from "../../config/errors.ts";
import type { DestConfig, ServiceConfig } from "../config.ts";
import { addDest, addService, clearServices, delDest, delService, editDest, getService, ipvsConfigOf } from "../ops.ts";
import type { IpvsRuntime } from "../runtime.ts";
import { IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT } from "../types.ts";
import { SCHEDULERS } from "../schedulers/index.ts";
import { ShellSyntaxError, splitLine } from "../../tool/shell.ts";

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
      // ip_vs_sched() gives UDP connections of an -o service IP_VS_CONN_F_ONE_PACKET (never
      // hashed, so replies are not un-NATed): not in the packet path yet, so refused.
      if (p.ops) throw fail("pktpath does not model one-packet scheduling (-o, --ops) yet");
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
          // ipvsadm -E sends the whole service: what the command does not give takes its
          // default again (wlc, not persistent, mask 255.255.255.255, no flags).
          const s = getService(nsc, key);
          s.scheduler = sched ?? "wlc";
          s.flags = (p.persistent !== null ? IP_VS_SVC_F_PERSISTENT : 0) | (p.schedFlags ?? 0) | (p.ops ? IP_VS_SVC_F_ONEPACKET : 0);
          s.timeout = p.persistent ?? 0;
          s.netmask = p.netmask ?? 0xffffffff;
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
        const cfg = ipvsConfigOf(c.netns[ns]!);
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
  const stdin = ctx.stdin;
  // One change for the whole file; a failing line leaves the table as it was.
  ctx.host.batch(() => restoreLines(ctx, tool, stdin));
  return { stdout: "" };
}

function restoreLines(ctx: ToolContext, tool: Tool, stdin: string): void {
  let n = 0;
  for (const raw of stdin.split("\n")) {
    n++;
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    try {
      const words = splitLine(line, { literal: true })[0]?.argv ?? [];
      tool(["ipvsadm", ...words], { ...ctx, stdin: null });
    } catch (e) {
      if (e instanceof ToolError || e instanceof ShellSyntaxError) throw fail(`${e.message}\nipvsadm: line ${n}: ${line}`);
      throw e;
    }
  }
}
