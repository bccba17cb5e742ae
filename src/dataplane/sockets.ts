// Sockets of one namespace: listeners (servers the scenario started), TCP connections
// keyed by their 4-tuple in two number-keyed levels, UDP and ping client sockets.

export type ServerApp = "http" | "nc" | "nc-udp";

export interface Listener {
  proto: number;
  /** Bound address, 0 for INADDR_ANY. */
  addr: number;
  port: number;
  app: ServerApp;
}

export type ProbeOutcome = "pending" | "answered" | "timeout" | "refused" | "unreachable" | "reply";

/** What a probe's client saw: filled in by the socket code as packets arrive. */
export interface ClientCtx {
  outcome: ProbeOutcome;
  /** The namespace of the server that answered, and the client address it saw. */
  server: string | null;
  clientIp: number | null;
  /** Why it failed, worded like the tool (curl's error text). */
  error: string;
  /** Ping: replies received. */
  replies: number;
  /** The client's TCP socket, closed when the client gives up. */
  sock?: TcpSock;
}

export const enum TcpState {
  SynSent,
  SynRecv,
  Established,
  FinWait1,
  FinWait2,
  CloseWait,
  LastAck,
  TimeWait,
  Closed,
}

export interface TcpSock {
  state: TcpState;
  laddr: number;
  lport: number;
  raddr: number;
  rport: number;
  /** Client side: the probe waiting on this socket; null on the server side. */
  client: ClientCtx | null;
  /** Client side: send a request once connected (curl) or just close (nc -z). */
  request: boolean;
  /** Server side: the application that accepted it. */
  app: ServerApp | null;
}

function key(addr: number, port: number): number {
  return addr * 65536 + port;
}

export class SocketTable {
  readonly listeners = new Map<number, Listener[]>();
  private readonly tcp = new Map<number, Map<number, TcpSock>>();
  readonly udpClients = new Map<number, ClientCtx>();
  readonly pingClients = new Map<number, ClientCtx>();

  listen(l: Listener): boolean {
    const k = l.proto * 65536 + l.port;
    const list = this.listeners.get(k) ?? [];
    if (list.some((x) => x.addr === l.addr || x.addr === 0 || l.addr === 0)) return false;
    list.push(l);
    this.listeners.set(k, list);
    return true;
  }

  /** inet_lookup_listener(): an exact bound address beats INADDR_ANY. */
  lookupListener(proto: number, daddr: number, dport: number): Listener | null {
    const list = this.listeners.get(proto * 65536 + dport);
    if (!list) return null;
    let any: Listener | null = null;
    for (const l of list) {
      if (l.addr === daddr) return l;
      if (l.addr === 0) any = l;
    }
    return any;
  }

  lookupTcp(laddr: number, lport: number, raddr: number, rport: number): TcpSock | undefined {
    return this.tcp.get(key(raddr, rport))?.get(key(laddr, lport));
  }

  addTcp(s: TcpSock): void {
    const k = key(s.raddr, s.rport);
    let m = this.tcp.get(k);
    if (!m) this.tcp.set(k, (m = new Map()));
    m.set(key(s.laddr, s.lport), s);
  }

  removeTcp(s: TcpSock): void {
    const k = key(s.raddr, s.rport);
    const m = this.tcp.get(k);
    if (!m) return;
    m.delete(key(s.laddr, s.lport));
    if (m.size === 0) this.tcp.delete(k);
  }

  tcpSockets(): TcpSock[] {
    const out: TcpSock[] = [];
    for (const m of this.tcp.values()) out.push(...m.values());
    return out;
  }
}
