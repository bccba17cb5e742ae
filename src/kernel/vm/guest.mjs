// The VM's agent: started by the image's /init (PID 1 of a throw-away VM with no network
// device). Reads the batch the host appended (/pktpath/batch.json), runs each plan with
// the namespaces backend's own inner runner, in fresh namespaces of the VM's kernel, as
// runner.ts does on the machine (unshare --net --mount --pid --fork --kill-child), and
// prints one console line per event: VM_MARKER + JSON. Never a shell; each plan bounded
// by its budget (SIGKILL), the whole VM by the host's timeout.
import { spawnSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";

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

const batch = JSON.parse(readFileSync("/pktpath/batch.json", "utf8"));
say({ event: "agent", uptime: uptime(), kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim() });
for (const item of batch.items) {
  const started = Date.now();
  const envelope = JSON.stringify({ plan: item.plan, outerNetns: readlinkSync("/proc/self/ns/net") });
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
}
say({ event: "done", uptime: uptime() });
