// The VM's agent for one shell script (the bench's kernel suite, bench/kernel.ts): the
// host appends this file as /pktpath/guest.mjs in place of the scenario agent, and the
// image's /init starts it (PID 1's child in a throw-away VM with no network device).
// Runs /pktpath/script.sh with the image's sh (busybox) in fresh namespaces of the VM's
// kernel (unshare --net --mount --pid --fork --kill-child), its input files in
// /pktpath/files ($D), killed (SIGKILL) after the host's budget; prints one console line
// with its output: VM_MARKER + JSON. The whole VM is bounded by the host's timeout too.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

const VM_MARKER = "PKTPATH-VM ";
const ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C", LC_ALL: "C", HOME: "/", D: "/pktpath/files" };

function say(event) {
  process.stdout.write(VM_MARKER + JSON.stringify(event) + "\n");
}

function uptime() {
  try {
    return Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  } catch {
    return null;
  }
}

const job = JSON.parse(readFileSync("/pktpath/script.json", "utf8"));
say({ event: "agent", uptime: uptime(), kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim() });
const started = Date.now();
const r = spawnSync(
  "/usr/bin/unshare",
  ["--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private", "--", "/usr/bin/sh", "/pktpath/script.sh"],
  { encoding: "utf8", timeout: job.timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024, env: ENV },
);
say({
  event: "script",
  elapsedMs: Date.now() - started,
  status: r.status,
  timedOut: r.error?.code === "ETIMEDOUT",
  stdout: r.stdout ?? "",
  stderr: (r.stderr ?? "").slice(-2000),
});
say({ event: "done", uptime: uptime() });
