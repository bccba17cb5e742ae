// The kernel-side probe client for curl / wget / nc / nc -z / nc -u: one exchange,
// given up after the probe's own limit (curl -m, nc -w; 1 s by default). Prints one
// JSON line: {outcome, server, client_ip, error, local_port}. Started by inner.ts as:
// [ip netns exec NS] node probe.mjs SPEC
import net from "node:net";
import dgram from "node:dgram";
import { outcomeOfErrno, parseAnswer } from "./classify.mjs";

const spec = JSON.parse(process.argv[2] ?? "{}");
const { kind, daddr, dport, timeoutMs } = spec;
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

if (kind === "udp") {
  const sock = dgram.createSocket("udp4");
  sock.on("error", fail);
  // A connected socket, as nc -u uses: ICMP port unreachable comes back as ECONNREFUSED.
  sock.connect(dport, daddr, (err) => {
    if (err) return fail(err);
    localPort = sock.address().port;
    sock.send("pktpath probe\n", (e) => e && fail(e));
  });
  sock.on("message", (msg) => {
    const a = parseAnswer(msg.toString("latin1"));
    if (a) finish(a.server, a.server, a.client_ip, "");
  });
} else {
  const sock = net.connect({ host: daddr, port: dport });
  let buf = "";
  sock.on("error", fail);
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
