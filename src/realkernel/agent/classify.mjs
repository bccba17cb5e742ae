// Outcome vocabulary of docs/scenarios.md for what a real client saw: shared by the probe
// client (probe.mjs), the server (server.mjs) and the inner runner. Plain JS: these
// run as short-lived processes inside the run's namespaces, where start-up time counts.

/** errno of a failed connect/send/recv -> outcome and the client's own words. */
const ERRNO = {
  ECONNREFUSED: ["refused", "Connection refused"],
  ECONNRESET: ["refused", "Connection reset by peer"],
  EPIPE: ["refused", "Broken pipe"],
  ENETUNREACH: ["unreachable", "Network is unreachable"],
  EHOSTUNREACH: ["unreachable", "No route to host"],
  EHOSTDOWN: ["unreachable", "Host is down"],
  // Local errors the emulator also reports as unreachable (dataplane/probe.ts ROUTE_ERRORS).
  EACCES: ["unreachable", "Permission denied"],
  EPERM: ["unreachable", "Operation not permitted"],
  EINVAL: ["unreachable", "Invalid argument"],
  EADDRNOTAVAIL: ["unreachable", "Cannot assign requested address"],
  ETIMEDOUT: ["timeout", "Connection timed out"],
};

export function outcomeOfErrno(code) {
  const e = ERRNO[code];
  return e ? { outcome: e[0], error: e[1] } : { outcome: "unreachable", error: String(code) };
}

/** What a server sends back: its namespace and the client address it saw. */
export function answerBody(server, clientIp) {
  return JSON.stringify({ server, client_ip: clientIp });
}

/** IPv4-mapped IPv6 (::ffff:10.0.0.1) as plain IPv4. */
export function plainAddress(addr) {
  return typeof addr === "string" && addr.startsWith("::ffff:") ? addr.slice(7) : (addr ?? null);
}

/** The server's answer inside a reply (HTTP response or bare line), or null. */
export function parseAnswer(text) {
  const body = text.includes("\r\n\r\n") ? text.slice(text.indexOf("\r\n\r\n") + 4) : text;
  const start = body.indexOf("{");
  const end = body.lastIndexOf("}");
  if (start < 0 || end < start) return null;
  try {
    const v = JSON.parse(body.slice(start, end + 1));
    if (typeof v.server !== "string") return null;
    return { server: v.server, client_ip: typeof v.client_ip === "string" ? v.client_ip : null };
  } catch {
    return null;
  }
}

/**
 * iputils ping's exit status and words -> outcome. 0: some reply came back; the
 * "From X ... Unreachable" lines are ICMP errors; "connect: Network is unreachable"
 * is the local route lookup failing.
 */
export function classifyPing(status, stdout, stderr) {
  const text = `${stdout}\n${stderr}`;
  if (status === 0 && / bytes from /.test(stdout)) return { outcome: "reply", error: "" };
  const icmp = /From \S+ icmp_seq=\d+ (Destination (Host|Net|Network) Unreachable|Destination (Host|Net) Prohibited|Packet filtered|Destination Port Unreachable|Destination Protocol Unreachable)/.exec(text);
  if (icmp) return { outcome: "unreachable", error: icmp[1] };
  const local = /ping: (?:connect|sendmsg|sendto): (.*)/.exec(text);
  if (local) return { outcome: "unreachable", error: local[1].trim() };
  return { outcome: "timeout", error: "no reply" };
}
