// The kernel-side probe client for curl / wget / nc / nc -z / nc -u: one exchange,
// given up after the probe's own limit (curl -m, nc -w; 1 s by default). Prints one
// JSON line: {outcome, server, client_ip, error, local_port}. Started by inner.ts as:
// [ip netns exec NS] node probe.mjs SPEC
import net from "node:net";
import dgram from "node:dgram";
import os from "node:os";
import { outcomeOfErrno, parseAnswer } from "./classify.mjs";

const spec = JSON.parse(process.argv[2] ?? "{}");
const { kind, daddr, dport, timeoutMs } = spec;
// Where the client binds (nc -s/-p, curl --interface/--local-port); undefined: the kernel's choice.
let localAddress = spec.saddr;
let noIfaceAddress = false;
if (spec.iface) {
  // curl --interface NAME binds the interface's first IPv4 address (Curl_if2ip).
  const a = (os.networkInterfaces()[spec.iface] ?? []).find((x) => x.family === "IPv4");
  if (a) localAddress = a.address;
  else noIfaceAddress = true;
}
const firstPort = spec.sport ?? 0;
const lastPort = spec.sportMax ?? firstPort;
let done = false;
let localPort = null;

function finish(outcome, server, clientIp, error) {
  if (done) return;
  done = true;
  process.stdout.write(JSON.stringify({ outcome, server, client_ip: clientIp, error, local_port: localPort }) + "\n", () => process.exit(0));
}

function fail(e) {
  const c = outcomeOfErrno(e.code ?? "");
  finish(c.outcome, null, null, c.error);
}

setTimeout(() => finish("timeout", null, null, `Connection timed out after ${timeoutMs} milliseconds`), timeoutMs).unref?.();
// Keep the process alive until the limit even when no handle is left.
const keepAlive = setInterval(() => {}, 1000);

function udpProbe(port) {
  const sock = dgram.createSocket("udp4");
  const start = () => {
    // A connected socket, as nc -u uses: ICMP port unreachable comes back as ECONNREFUSED.
    sock.connect(dport, daddr, (err) => {
      if (err) return fail(err);
      localPort = sock.address().port;
      sock.send("pktpath probe\n", (e) => e && fail(e));
    });
  };
  sock.on("message", (msg) => {
    const a = parseAnswer(msg.toString("latin1"));
    if (a) finish(a.server, a.server, a.client_ip, "");
  });
  if (!port && !localAddress) {
    sock.on("error", fail);
    return start();
  }
  // bind() first; the next port of a --local-port range when this one is taken.
  sock.once("error", (e) => {
    if (e.code === "EADDRINUSE" && port && port < lastPort) return udpProbe(port + 1);
    fail(e);
  });
  sock.bind({ port: port || 0, address: localAddress, exclusive: true }, () => {
    sock.removeAllListeners("error");
    sock.on("error", fail);
    start();
  });
}

function tcpOptions(port) {
  const o = { host: daddr, port: dport };
  if (localAddress) o.localAddress = localAddress;
  if (port) o.localPort = port;
  return o;
}

if (noIfaceAddress) {
  fail({ code: "EADDRNOTAVAIL" });
} else if (kind === "udp") {
  udpProbe(firstPort);
} else {
  tcpProbe(firstPort);
}

function tcpProbe(port) {
  const sock = net.connect(tcpOptions(port));
  let buf = "";
  sock.on("error", (e) => {
    // curl --local-port N-M tries the next port when bind() finds this one taken.
    if (e.code === "EADDRINUSE" && port && port < lastPort && localPort === null) return tcpProbe(port + 1);
    fail(e);
  });
  sock.on("connect", () => {
    localPort = sock.localPort;
    if (kind === "tcp") {
      // nc -z: connect and close; inner.ts reads which server accepted from its log.
      sock.end();
      finish("answered", null, null, "");
      return;
    }
    sock.write(`GET / HTTP/1.0\r\nHost: ${daddr}:${dport}\r\nUser-Agent: pktpath-probe\r\nAccept: */*\r\n\r\n`);
  });
  sock.on("data", (d) => {
    buf += d.toString("latin1");
  });
  sock.on("end", () => {
    const a = parseAnswer(buf);
    if (a) finish(a.server, a.server, a.client_ip, "");
    else finish("refused", null, null, "Empty reply from server");
  });
}
void keepAlive;
