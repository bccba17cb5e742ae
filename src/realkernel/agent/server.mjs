// The kernel-side server for `python3 -m http.server`, `nc -l` and `nc -lu`: listens in
// the namespace it was started in and answers every TCP connection / UDP datagram with
// that namespace's name and the client address it saw. Each accept and datagram is
// logged as a JSON line on stdout, so `nc -z` (which sends nothing) can tell which
// server accepted it. Started by inner.ts as: [ip netns exec NS] node server.mjs SPEC
import net from "node:net";
import dgram from "node:dgram";
import { answerBody, plainAddress } from "./classify.mjs";

const spec = JSON.parse(process.argv[2] ?? "{}");
const { name, proto, bind, port, app } = spec;
const host = bind ?? "0.0.0.0";
/** A connection that says nothing for this long is closed (bounded resources). */
const IDLE_MS = 5000;

function log(event) {
  try {
    process.stdout.write(JSON.stringify({ ...event, server: name, port }) + "\n");
  } catch {
    process.exit(0);
  }
}
process.stdout.on("error", () => process.exit(0));

function httpResponse(body) {
  return `HTTP/1.0 200 OK\r\nServer: pktpath\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

if (proto === "udp") {
  const sock = dgram.createSocket("udp4");
  sock.on("error", (e) => {
    log({ event: "error", code: e.code ?? String(e) });
    process.exit(1);
  });
  // Replies leave from the one socket (bound to --bind or 0.0.0.0): the source is the
  // route's, not necessarily the address the datagram came to (no IP_PKTINFO in Node).
  sock.on("message", (_msg, rinfo) => {
    const clientIp = plainAddress(rinfo.address);
    log({ event: "datagram", client_ip: clientIp, client_port: rinfo.port });
    sock.send(answerBody(name, clientIp) + "\n", rinfo.port, rinfo.address);
  });
  sock.bind(port, host, () => log({ event: "listening", bound: sock.address().port }));
} else {
  const server = net.createServer((c) => {
    const clientIp = plainAddress(c.remoteAddress);
    log({ event: "accept", client_ip: clientIp, client_port: c.remotePort });
    c.setTimeout(IDLE_MS, () => c.destroy());
    c.on("error", () => c.destroy());
    let buf = "";
    let answered = false;
    c.on("data", (d) => {
      if (answered) return;
      buf += d.toString("latin1");
      const complete = app === "http" ? buf.includes("\r\n\r\n") || buf.includes("\n\n") || buf.length > 8192 : true;
      if (!complete) return;
      answered = true;
      const body = answerBody(name, clientIp);
      c.end(app === "http" ? httpResponse(body) : body + "\n");
    });
    c.on("end", () => {
      if (!answered) c.end();
    });
  });
  server.on("error", (e) => {
    log({ event: "error", code: e.code ?? String(e) });
    process.exit(1);
  });
  server.listen({ port, host, backlog: 128 }, () => log({ event: "listening", bound: server.address().port }));
}
