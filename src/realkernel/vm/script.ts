// One shell script in the VM (the bench's kernel suite: bench/kernel.ts times IPVS there,
// which this machine's kernel lacks). The same boot as the scenario backend (runVm: no
// network device, QEMU killed by its PID after the budget, unlinked initramfs), with a
// different per-run archive: script-guest.mjs as the guest agent, the script and its
// input files. The script runs in fresh namespaces of the VM's kernel under busybox sh.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cpioGz, type CpioEntry } from "./cpio.ts";
import type { VmImage } from "./image.ts";
import { kvmNote, runVm, type Accel } from "./qemu.ts";

const SCRIPT_GUEST = fileURLToPath(new URL("./script-guest.mjs", import.meta.url));
/** Where the guest finds the input files ($D of the script). */
export const VM_SCRIPT_DIR = "/pktpath/files";
/** The guest's start-up (node under TCG) and its report, on top of the script's budget. */
const SCRIPT_SLACK_MS = 30_000;

export interface VmScriptJob {
  /** Shell text run by the image's sh (busybox ash) in fresh namespaces; $D names VM_SCRIPT_DIR. */
  script: string;
  /** Input files, name -> text (plain names: no "/"). */
  files: Record<string, string>;
  /** The script is killed (SIGKILL) after this long in the guest. */
  timeoutMs: number;
}

export interface VmScriptResult {
  /** The script's stdout, or null when it never reported (then error says why). */
  stdout: string | null;
  stderr: string;
  status: number | null;
  /** Killed by the guest after timeoutMs. */
  timedOut: boolean;
  error: string | null;
  accel: Accel;
  /** Why not KVM, when TCG ran. */
  accelNote: string;
  kernel: string;
  /** The whole QEMU run (boot included), ms. */
  wallMs: number;
  /** Kernel uptime when the agent started (boot, modules, node), s. */
  agentUptime: number | null;
}

/** The per-run archive: the script agent, the job, the script and its files. */
export function scriptEntries(job: VmScriptJob): CpioEntry[] {
  const entries: CpioEntry[] = [
    { path: "pktpath", data: null },
    { path: "pktpath/guest.mjs", data: readFileSync(SCRIPT_GUEST) },
    { path: "pktpath/script.json", data: JSON.stringify({ timeoutMs: job.timeoutMs }) },
    { path: "pktpath/script.sh", data: job.script, mode: 0o755 },
    { path: "pktpath/files", data: null },
  ];
  for (const [name, text] of Object.entries(job.files)) {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name === "." || name === "..") throw new Error(`VM script: bad file name ${JSON.stringify(name)}`);
    entries.push({ path: `pktpath/files/${name}`, data: text });
  }
  return entries;
}

/** Boots the VM once for the script; bounded by timeoutMs plus the boot's budget (QEMU killed). */
export function runVmScript(img: VmImage, job: VmScriptJob): VmScriptResult {
  const r = runVm(img, cpioGz(scriptEntries(job)), job.timeoutMs + SCRIPT_SLACK_MS);
  const agent = r.console.events.find((e) => e.event === "agent");
  const ev = r.console.events.find((e) => e.event === "script");
  const script = ev && ev.event === "script" ? ev : null;
  const error = script
    ? null
    : r.timedOut
      ? "the VM did not finish in time (QEMU killed)"
      : !agent
        ? `the VM's agent never started (${r.console.noAgent ? "no agent in the initramfs" : r.error ?? `QEMU exit ${r.status}`}; console: ${r.console.tail.join(" | ")})`
        : "the VM stopped before the script reported";
  return {
    stdout: script ? script.stdout : null,
    stderr: script ? script.stderr : "",
    status: script ? script.status : null,
    timedOut: script ? script.timedOut : false,
    error,
    accel: r.accel,
    accelNote: r.accel === "tcg" ? kvmNote : "",
    kernel: agent && agent.event === "agent" ? agent.kernel : img.kernel,
    wallMs: r.wallMs,
    agentUptime: agent && agent.event === "agent" ? agent.uptime : null,
  };
}
