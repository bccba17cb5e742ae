// ipvsadm 1.31's command line (popt): commands, the virtual service, real-server options.
import { ToolError } from "../../tool/tool.ts";
import { serviceKey } from "../config.ts";
import { parseIPv4 } from "../../wire/ipv4.ts";
import { serviceByName } from "../../wire/netdb.ts";
import { IPPROTO_TCP, IPPROTO_UDP } from "../../wire/packet.ts";
import { IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3, type FwdMethod } from "../types.ts";

export type Cmd = "A" | "E" | "D" | "C" | "R" | "S" | "a" | "e" | "d" | "L" | "Z" | "set" | "h" | "v";

export interface Parsed {
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

export const fail = (msg: string) => new ToolError(msg);

// ipvsadm.c parse_service(): the port is a number, else a service name of the service's
// protocol (service_to_port(), getservbyname).
function hostPort(text: string, what: string, needPort: boolean, proto: number = IPPROTO_TCP): [number, number] {
  const m = /^([0-9.]+)(?::([^:]+))?$/.exec(text);
  const addr = m ? parseIPv4(m[1]!) : null;
  if (!m || addr === null) throw fail(`illegal ${what} address[:port] specified`);
  let port = 0;
  if (m[2] !== undefined) {
    const named = /^\d+$/.test(m[2]) ? null : serviceByName(m[2], proto === IPPROTO_UDP ? "udp" : "tcp");
    port = /^\d+$/.test(m[2]) ? Number(m[2]) : (named ?? -1);
  }
  if (port < 0 || port > 65535) throw fail(`illegal ${what} address[:port] specified`);
  if (needPort && m[2] === undefined) return [addr, 0];
  return [addr, port];
}

export function parse(argv: string[]): Parsed {
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
        const [addr, port] = hostPort(val(), "virtual server", true, a === "-u" ? IPPROTO_UDP : IPPROTO_TCP);
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
        const [addr, port] = hostPort(val(), "server", false, p.proto || IPPROTO_TCP);
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


/** The virtual service the command names, as the key of the configuration. */
export function needService(p: Parsed): string {
  if (!p.hasService) throw fail("You must specify a virtual service, with -t, -u or -f");
  return serviceKey(p.proto, p.vaddr, p.vport, p.fwmark);
}
