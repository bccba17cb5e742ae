// The kernel-side server and probe client, on loopback in this process's own namespace
// (no root needed): answers carry the server's name and the client address it saw.
import { describe, expect, it, afterAll } from "vitest";
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const AGENT = fileURLToPath(new URL("../../src/realkernel/agent/", import.meta.url));
const servers: ChildProcess[] = [];

function startServer(spec: object): Promise<{ port: number; events: object[] }> {
  const child = spawn(process.execPath, [`${AGENT}server.mjs`, JSON.stringify(spec)], { stdio: ["ignore", "pipe", "inherit"] });
  servers.push(child);
  const events: object[] = [];
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      for (let nl; (nl = buf.indexOf("\n")) >= 0; buf = buf.slice(nl + 1)) {
        const ev = JSON.parse(buf.slice(0, nl)) as { event: string; bound?: number };
        if (ev.event === "listening") resolve({ port: ev.bound!, events });
        else events.push(ev);
      }
    });
    child.on("exit", (c) => reject(new Error(`server exited ${c}`)));
  });
}

function probe(spec: object): Promise<{ outcome: string; server: string | null; client_ip: string | null; error: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [`${AGENT}probe.mjs`, JSON.stringify(spec)], { timeout: 5000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout));
    });
  });
}

afterAll(() => {
  for (const s of servers) if (s.pid !== undefined && s.exitCode === null) s.kill("SIGKILL");
});

describe("kernel-side server and probe client on loopback", () => {
  it("HTTP: the server names itself and the client address", async () => {
    const s = await startServer({ name: "netns_dustin", proto: "tcp", bind: "127.0.0.1", port: 0, app: "http" });
    const r = await probe({ kind: "http", daddr: "127.0.0.1", dport: s.port, timeoutMs: 1000 });
    expect(r).toMatchObject({ outcome: "netns_dustin", server: "netns_dustin", client_ip: "127.0.0.1" });
    expect(s.events).toEqual([expect.objectContaining({ event: "accept", server: "netns_dustin", client_ip: "127.0.0.1" })]);
  });

  it("nc -z: connects and closes; the server logs the accept", async () => {
    const s = await startServer({ name: "a", proto: "tcp", bind: "127.0.0.1", port: 0, app: "nc" });
    const r = await probe({ kind: "tcp", daddr: "127.0.0.1", dport: s.port, timeoutMs: 1000 });
    expect(r.outcome).toBe("answered");
    await new Promise((res) => setTimeout(res, 100));
    expect(s.events).toEqual([expect.objectContaining({ event: "accept", server: "a" })]);
  });

  it("UDP: one datagram, one answer", async () => {
    const s = await startServer({ name: "b", proto: "udp", bind: "127.0.0.1", port: 0, app: "nc-udp" });
    expect(await probe({ kind: "udp", daddr: "127.0.0.1", dport: s.port, timeoutMs: 1000 })).toMatchObject({ outcome: "b", client_ip: "127.0.0.1" });
  });

  it("nothing listening: TCP and UDP are refused", async () => {
    // A port just freed by a server that exited.
    const s = await startServer({ name: "c", proto: "tcp", bind: "127.0.0.1", port: 0, app: "http" });
    servers.pop()!.kill("SIGKILL");
    await new Promise((res) => setTimeout(res, 100));
    expect(await probe({ kind: "http", daddr: "127.0.0.1", dport: s.port, timeoutMs: 1000 })).toMatchObject({ outcome: "refused", error: "Connection refused" });
    expect(await probe({ kind: "udp", daddr: "127.0.0.1", dport: s.port, timeoutMs: 1000 })).toMatchObject({ outcome: "refused" });
  });
});
