// The inner runner: PID 1 of the run's own PID, mount and network namespaces (started
// by runner.ts through `unshare --net --mount --pid --fork --kill-child --mount-proc`).
// Its network namespace is the scenario's "host". It reads the plan on stdin, runs the
// actions in order with execFile/spawn (never a shell), and prints one result line.
// When it exits, the kernel kills every process of the PID namespace, the mount
// namespace goes with them, and so do the namespaces `ip netns add` made and all links.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, readlinkSync, mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { classifyPing } from "./agent/classify.mjs";
import { EXEC_TIMEOUT_MS, HOST_NS, PIPE_GRACE_MS, SERVER_START_MS, SNAPSHOT_TIMEOUT_MS, probeBoundMs } from "./limits.ts";
import { AT_MARKER, RESULT_MARKER, type ExecAction, type InnerResult, type KernelPlan, type KernelProbeResult, type ProbeAction, type ServerAction, type SnapshotAction } from "./types.ts";

const AGENT_DIR = fileURLToPath(new URL("./agent/", import.meta.url));
const MAX_OUTPUT = 16 * 1024 * 1024;
const ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C", LC_ALL: "C" };

interface Envelope {
  plan: KernelPlan;
  /** The outer runner's network namespace (/proc/self/ns/net link): we must not be in it. */
  outerNetns: string;
  /** pktpath's snapshot script (src/node/snapshot.sh), for a plan with a snapshot action. */
  snapshotScript?: string;
}

/** Where the snapshot action keeps the script and its output: the run's private /run. */
const SNAPSHOT_SH = "/run/pktpath-snapshot.sh";
const SNAPSHOT_JSON = "/run/pktpath-snapshot.json";

interface ServerEvent {
  event: string;
  server?: string;
  port?: number;
  client_ip?: string;
  client_port?: number;
  code?: string;
}

class RunStop extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/** The command as it runs in namespace ns (ip netns exec NS ... outside the host). */
function inNs(ns: string, argv: string[]): string[] {
  return ns === HOST_NS ? argv : ["ip", "netns", "exec", ns, ...argv];
}

/**
 * Runs argv (no shell), stdin from the here-document or /dev/null, in a process group
 * of its own. After timeoutMs the whole group is killed by its PID; the answer never
 * waits on a pipe past that, nor more than PIPE_GRACE_MS past the child's exit (a
 * grandchild holding the pipe is killed with the group).
 */
export function run(argv: string[], timeoutMs: number, stdin: string | null = null): Promise<{ status: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: ENV, stdio: [stdin === null ? "ignore" : "pipe", "pipe", "pipe"], detached: true });
    if (stdin !== null) {
      child.stdin!.on("error", () => {});
      child.stdin!.end(stdin);
    }
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let status: number | null = null;
    let done = false;
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // the group is gone already
      }
    };
    const finish = (extra = "") => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(grace);
      killGroup();
      child.stdout!.destroy();
      child.stderr!.destroy();
      resolve({ status, stdout, stderr: stderr + extra, timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      finish();
    }, timeoutMs);
    let grace: NodeJS.Timeout | undefined;
    child.stdout!.on("data", (d: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += d.toString("utf8");
    });
    child.stderr!.on("data", (d: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += d.toString("utf8");
    });
    child.on("error", (e: NodeJS.ErrnoException) => finish(`${argv[0]}: ${e.code ?? e.message}`));
    child.on("exit", (code) => {
      status = code;
      grace = setTimeout(() => finish(), PIPE_GRACE_MS);
    });
    child.on("close", () => finish());
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class Inner {
  private readonly servers: ChildProcess[] = [];
  private readonly events: ServerEvent[] = [];
  readonly result: InnerResult = { probes: [], listings: [], notes: [], error: null };

  constructor(
    private readonly plan: KernelPlan,
    private readonly snapshotScript: string | null = null,
  ) {}

  async runAll(): Promise<void> {
    for (const a of this.plan.actions) {
      // Where the run is, for the outer runner's message if the run's own bound ends it.
      process.stderr.write(`${AT_MARKER}${a.line}\n`);
      try {
        switch (a.kind) {
          case "exec":
            await this.exec(a);
            break;
          case "server":
            await this.server(a);
            break;
          case "probe":
            this.result.probes.push(await this.probe(a));
            break;
          case "sleep":
            await sleep(a.ms);
            break;
          case "note":
            this.result.notes.push(`${this.plan.file}:${a.line}: ${a.note}`);
            break;
          case "snapshot":
            await this.snapshot(a);
            break;
        }
      } catch (e) {
        if (!(e instanceof RunStop)) throw e;
        // The first bad command stops the scenario, as in the emulator.
        this.result.error = { line: e.line, message: e.message };
        return;
      }
    }
  }

  private async exec(a: ExecAction): Promise<void> {
    const r = await run(inNs(a.ns, a.argv), EXEC_TIMEOUT_MS, a.stdin);
    if (r.timedOut) throw new RunStop(a.line, `${a.argv[0]}: no answer after ${EXEC_TIMEOUT_MS / 1000} s`);
    // A non-zero status the emulator answered too (ipset test of a missing element) is an
    // answer, not a failure: the scenario goes on in both modes.
    const expected = a.status ?? 0;
    if (r.status !== expected) throw new RunStop(a.line, (r.stderr.trim() || r.stdout.trim() || `${a.argv[0]}: exit status ${r.status}${expected ? ` (the emulator answered ${expected})` : ""}`).split("\n").slice(0, 5).join("\n"));
    if (a.listing && r.stdout) this.result.listings.push({ line: a.line, command: a.text, output: r.stdout });
  }

  /** pktpath's read-only snapshot script in the host namespace (it finds the others), bounded. */
  private async snapshot(a: SnapshotAction): Promise<void> {
    if (this.snapshotScript === null) throw new RunStop(a.line, "a snapshot action, but the run was given no snapshot script");
    writeFileSync(SNAPSHOT_SH, this.snapshotScript, { mode: 0o644 });
    const r = await run(["sh", SNAPSHOT_SH, SNAPSHOT_JSON], SNAPSHOT_TIMEOUT_MS);
    if (r.timedOut) throw new RunStop(a.line, `the snapshot script gave no answer after ${SNAPSHOT_TIMEOUT_MS / 1000} s`);
    if (r.status !== 0) throw new RunStop(a.line, r.stderr.trim().split("\n").slice(-5).join("\n") || `the snapshot script: exit status ${r.status}`);
    this.result.snapshot = { json: readFileSync(SNAPSHOT_JSON, "utf8"), stderr: r.stderr };
  }

  private server(a: ServerAction): Promise<void> {
    const spec = JSON.stringify({ name: a.ns, proto: a.proto, bind: a.bind, port: a.port, app: a.app });
    const argv = inNs(a.ns, [process.execPath, `${AGENT_DIR}server.mjs`, spec]);
    // A process group of its own: stopServers kills it, with anything it started, by PID.
    const child = spawn(argv[0]!, argv.slice(1), { env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.servers.push(child);
    return new Promise((resolve, reject) => {
      let settled = false;
      let stderr = "";
      const settle = (err: RunStop | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => settle(new RunStop(a.line, `${a.tool}: did not start listening within ${SERVER_START_MS / 1000} s`)), SERVER_START_MS);
      let pending = "";
      child.stdout!.on("data", (d: Buffer) => {
        pending += d.toString("utf8");
        let nl;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const lineText = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          let ev: ServerEvent;
          try {
            ev = JSON.parse(lineText) as ServerEvent;
          } catch {
            continue;
          }
          if (ev.event === "listening") settle(null);
          else if (ev.event === "error") settle(new RunStop(a.line, serverError(a.tool, ev.code ?? "")));
          else this.events.push(ev);
        }
      });
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
      child.on("exit", (code) => settle(new RunStop(a.line, stderr.trim() || `${a.tool}: exited with status ${code}`)));
    });
  }

  private async probe(a: ProbeAction): Promise<KernelProbeResult> {
    const p = a.probe;
    const base = { line: a.line, rep: a.rep, ns: a.ns, command: a.text };
    if (p.kind === "ping") {
      const r = await run(inNs(a.ns, p.pingArgv), probeBoundMs(p));
      const c = r.timedOut ? { outcome: "timeout", error: "ping gave no answer in time" } : classifyPing(r.status, r.stdout, r.stderr);
      if (r.status !== 0 && r.status !== 1 && c.outcome === "timeout" && r.stderr.trim() && !r.timedOut) {
        // ping exits 2 on its own errors (a bad argument, a missing namespace).
        throw new RunStop(a.line, r.stderr.trim());
      }
      return { ...base, outcome: c.outcome, server: null, client_ip: null, error: c.error };
    }
    const seq = this.events.length;
    // The whole parsed spec: fields the agent knows (source port, address ...) flow through.
    const { pingArgv: _ping, ...spec } = p;
    const r = await run(inNs(a.ns, [process.execPath, `${AGENT_DIR}probe.mjs`, JSON.stringify(spec)]), probeBoundMs(p));
    let out: { outcome: string; server: string | null; client_ip: string | null; error: string; local_port: number | null };
    try {
      out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "");
    } catch {
      if (r.stderr.trim() && !r.timedOut) throw new RunStop(a.line, r.stderr.trim().split("\n").slice(0, 3).join("\n"));
      return { ...base, outcome: "timeout", server: null, client_ip: null, error: "the probe client gave no answer in time" };
    }
    if (out.outcome === "answered") {
      // nc -z sent nothing: the server that logged the accept is the answer.
      const ev = await this.acceptAfter(seq, out.local_port);
      if (ev) return { ...base, outcome: ev.server ?? "answered", server: ev.server ?? null, client_ip: ev.client_ip ?? null, error: "" };
    }
    return { ...base, outcome: out.outcome, server: out.server, client_ip: out.client_ip, error: out.error };
  }

  /** The first accept logged since event seq (the one from our port when NAT left it). */
  private async acceptAfter(seq: number, localPort: number | null): Promise<ServerEvent | null> {
    for (let waited = 0; waited <= 1000; waited += 10) {
      const fresh = this.events.slice(seq).filter((e) => e.event === "accept");
      if (fresh.length) return fresh.find((e) => e.client_port === localPort) ?? fresh[0]!;
      await sleep(10);
    }
    return null;
  }

  stopServers(): void {
    for (const s of this.servers) {
      if (s.pid === undefined) continue;
      try {
        process.kill(-s.pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
  }
}

function serverError(tool: string, code: string): string {
  // Worded as python3 -m http.server / nc say it (commands/probes.ts listen()).
  if (code === "EADDRINUSE") return `${tool}: OSError: [Errno 98] Address already in use`;
  if (code === "EADDRNOTAVAIL") return `${tool}: OSError: [Errno 99] Cannot assign requested address`;
  return `${tool}: ${code}`;
}

/** Private mounts: /run (and /run/netns) on tmpfs, sysfs of this namespace on /sys. */
function prepareMounts(): void {
  execFileSync("mount", ["--make-rprivate", "/"], { env: ENV });
  execFileSync("mount", ["-t", "tmpfs", "-o", "mode=755,size=16m", "pktpath-run", "/run"], { env: ENV });
  mkdirSync("/run/netns", { mode: 0o755 });
  execFileSync("mount", ["-t", "tmpfs", "-o", "mode=755,size=1m", "pktpath-netns", "/run/netns"], { env: ENV });
  execFileSync("mount", ["-t", "sysfs", "sysfs", "/sys"], { env: ENV });
}

/** Refuses to run anywhere but a fresh namespace of our own. */
function assertFresh(outerNetns: string): void {
  const mine = readlinkSync("/proc/self/ns/net");
  if (mine === outerNetns) throw new Error(`refusing to run: this is the caller's network namespace (${mine})`);
  if (process.pid !== 1) throw new Error("refusing to run: not PID 1 of a namespace of our own");
  const links = execFileSync("ip", ["-o", "link", "show"], { env: ENV, encoding: "utf8" }).trim().split("\n");
  if (links.length !== 1 || !/^1: lo:/.test(links[0]!)) throw new Error(`refusing to run: the network namespace is not fresh (${links.length} links)`);
}

async function main(): Promise<void> {
  const env = JSON.parse(readFileSync(0, "utf8")) as Envelope;
  assertFresh(env.outerNetns);
  prepareMounts();
  const inner = new Inner(env.plan, env.snapshotScript ?? null);
  try {
    await inner.runAll();
  } finally {
    inner.stopServers();
  }
  process.stdout.write(RESULT_MARKER + JSON.stringify(inner.result) + "\n", () => process.exit(0));
}

// inner.mjs: the same code bundled into the VM backend's guest (src/realkernel/vm/bundle.ts).
const isEntry = process.argv[1] && /kernel[/\\]inner\.(ts|js|mjs)$/.test(process.argv[1]);
if (isEntry) {
  main().catch((e: unknown) => {
    process.stderr.write(`pktpath kernel runner: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(3);
  });
}

