// The VM's agent: started by the image's /init (PID 1 of a throw-away VM with no network
// device). Reads the batch the host appended (/pktpath/batch.json), runs each plan with
// the namespaces backend's own inner runner, in fresh namespaces of the VM's kernel, as
// runner.ts does on the machine (unshare --net --mount --pid --fork --kill-child), and
// prints one console line per event: VM_MARKER + JSON. Never a shell; each plan bounded
// by its budget (SIGKILL), the whole VM by the host's timeout. Each scenario starts from
// the kernel state the boot left: after each, the modules it loaded (br_netfilter by
// modprobe, or by xt_physdev; anything a tool auto-loaded) are unloaded again; if one
// cannot be, the agent says so ("dirty") and stops, and the host boots again for the rest.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readlinkSync } from "node:fs";

const VM_MARKER = "PKTPATH-VM ";
const RESULT_MARKER = "PKTPATH-KERNEL-RESULT ";
const ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C", LC_ALL: "C", HOME: "/" };

function say(event) {
  // The console is a tty: writes are synchronous, and lines are never interleaved with ours.
  process.stdout.write(VM_MARKER + JSON.stringify(event) + "\n");
}

function uptime() {
  try {
    return Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  } catch {
    return null;
  }
}

/** Loaded modules: name -> reference count (/proc/modules). */
function modules() {
  const out = new Map();
  for (const line of readFileSync("/proc/modules", "utf8").split("\n")) {
    const f = line.split(" ");
    if (f.length >= 3) out.set(f[0], Number(f[2]));
  }
  return out;
}

const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Unloads every module not loaded at boot, users first; what is left after 20 s. */
function resetModules(boot) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const extra = [...modules()].filter(([name]) => !boot.has(name));
    if (!extra.length || Date.now() > deadline) return extra.map(([name]) => name);
    // A namespace the run made is torn down after it exits: its references go then.
    for (const [name, refs] of extra) if (refs === 0) spawnSync("/usr/sbin/rmmod", [name], { env: ENV, stdio: "ignore", timeout: 10_000 });
    pause(100);
  }
}

const batch = JSON.parse(readFileSync("/pktpath/batch.json", "utf8"));
// pktpath's snapshot script, when the host put it in the archive (a plan that snapshots the node it built).
const snapshotScript = existsSync("/pktpath/snapshot.sh") ? readFileSync("/pktpath/snapshot.sh", "utf8") : undefined;
say({ event: "agent", uptime: uptime(), kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim() });
const bootModules = new Set(modules().keys());
// xt_physdev asks for br_netfilter once per boot (physdev_mt_check, brnf_probed): use
// that one time up here and unload it again, so that in every scenario, the first one
// too, br_netfilter is loaded only by the scenario's own `modprobe br_netfilter`.
spawnSync("/usr/bin/unshare", ["--net", "--", "iptables", "-A", "FORWARD", "-m", "physdev", "--physdev-is-bridged", "-j", "ACCEPT"], { env: ENV, stdio: "ignore", timeout: 20_000 });
const primed = resetModules(bootModules);
if (primed.length) say({ event: "dirty", after: "", modules: primed });
for (const item of batch.items) {
  const started = Date.now();
  const envelope = JSON.stringify({ plan: item.plan, outerNetns: readlinkSync("/proc/self/ns/net"), snapshotScript });
  const r = spawnSync(
    "/usr/bin/unshare",
    ["--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private", "--", "/usr/bin/node", "/pktpath/kernel/inner.mjs"],
    { input: envelope, encoding: "utf8", timeout: item.plan.budgetMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024, env: ENV },
  );
  const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith(RESULT_MARKER));
  const elapsedMs = Date.now() - started;
  if (line) say({ event: "result", id: item.id, elapsedMs, result: JSON.parse(line.slice(RESULT_MARKER.length)) });
  else {
    const why = r.error ? String(r.error.message) : (r.stderr ?? "").trim().split("\n").slice(-5).join("\n") || `exit status ${r.status}`;
    say({ event: "failed", id: item.id, elapsedMs, message: why });
  }
  const left = resetModules(bootModules);
  if (left.length) {
    say({ event: "dirty", after: item.id, modules: left });
    break;
  }
}
say({ event: "done", uptime: uptime() });
