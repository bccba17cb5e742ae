// Boots the VM: QEMU with no network device (-nic none), Debian's kernel, the cached
// initramfs with the run's archive appended, console on stdout. KVM is tried first
// (it fails fast where nested KVM is broken) and TCG is the fallback.
//
// Nothing outlives the run:
// - QEMU runs under `setpriv --pdeathsig KILL` (it dies with pktpath, even on SIGKILL),
//   and is killed by its PID (spawnSync's timeout, SIGKILL) after the batch's budget;
// - the initramfs QEMU reads is an unlinked file handed over as its fd 3
//   (/proc/self/fd/3): no path of it exists once QEMU has started, whatever happens;
// - everything the scenarios made lives in the VM's memory, gone when QEMU exits.
import { spawnSync } from "node:child_process";
import { accessSync, closeSync, constants, copyFileSync, fstatSync, mkdtempSync, openSync, rmdirSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { which } from "../runner.ts";
import { parseConsole, type ConsoleReport } from "./console.ts";
import type { VmImage } from "./image.ts";

export type Accel = "kvm" | "tcg";

export const QEMU = "qemu-system-x86_64";
/** Boot (kernel, /init, boot modules, node) on top of the plans' budgets. */
export const BOOT_BUDGET_MS = 90_000;
/** A KVM attempt that has not reached /init by then is given up (TCG follows). */
export const KVM_PROBE_MS = 20_000;

export function qemuArgv(img: Pick<VmImage, "vmlinuz">, initrd: string, accel: Accel): string[] {
  const cpu = accel === "kvm" ? ["-enable-kvm", "-cpu", "host"] : ["-accel", "tcg", "-cpu", "max"];
  return [
    ...cpu,
    "-smp", "2",
    "-m", "1536",
    "-display", "none",
    "-nodefaults",
    "-nic", "none",
    "-no-reboot",
    "-serial", "stdio",
    "-monitor", "none",
    "-kernel", img.vmlinuz,
    "-initrd", initrd,
    "-append", "console=ttyS0 panic=-1 loglevel=3 quiet",
  ];
}

export interface BootResult {
  accel: Accel;
  console: ConsoleReport;
  /** Raw console text (diagnostics). */
  raw: string;
  wallMs: number;
  timedOut: boolean;
  status: number | null;
  error: string | null;
}

/** The initramfs for this run: image + appended archive, as an unlinked file's descriptor. */
function initrdFd(img: VmImage, archive: Buffer | null): number {
  const dir = mkdtempSync(join(tmpdir(), "pktpath-vm-"));
  const path = join(dir, "initrd");
  try {
    copyFileSync(img.initrd, path);
    const fd = openSync(path, "r+");
    if (archive) writeSync(fd, archive, 0, archive.length, fstatSync(fd).size);
    return fd;
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
    rmdirSync(dir);
  }
}

function boot(img: VmImage, fd: number, accel: Accel, timeoutMs: number): BootResult {
  const started = Date.now();
  const setpriv = which("setpriv");
  const qemu = which(QEMU)!;
  const argv = qemuArgv(img, "/proc/self/fd/3", accel);
  const [cmd, args] = setpriv ? [setpriv, ["--pdeathsig", "KILL", "--", qemu, ...argv]] : [qemu, argv];
  const r = spawnSync(cmd, args, {
    stdio: ["ignore", "pipe", "pipe", fd],
    encoding: "utf8",
    timeout: timeoutMs,
    killSignal: "SIGKILL",
    maxBuffer: 256 * 1024 * 1024,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C", LC_ALL: "C" },
  });
  const raw = (r.stdout ?? "") + "";
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
  return {
    accel,
    console: parseConsole(raw),
    raw,
    wallMs: Date.now() - started,
    timedOut,
    status: r.status,
    error: r.error && !timedOut ? String(r.error.message) : (r.stderr ?? "").trim().split("\n").slice(-3).join("\n") || null,
  };
}

function kvmUsable(): boolean {
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

let kvmVerdict: boolean | null = null;

/** Why KVM was not used (for the report), set by the first run of the process. */
export let kvmNote = "";

/**
 * Boots the image with the archive appended and returns what the console said.
 * Tries KVM once per process (a bare boot to /init, bounded); TCG otherwise.
 */
export function runVm(img: VmImage, archive: Buffer, budgetMs: number): BootResult {
  if (kvmVerdict === null) {
    kvmVerdict = false;
    if (!kvmUsable()) kvmNote = "/dev/kvm is not usable";
    else {
      const fd = initrdFd(img, null);
      try {
        const probe = boot(img, fd, "kvm", KVM_PROBE_MS);
        kvmVerdict = probe.console.bootedAt !== null;
        if (!kvmVerdict) kvmNote = `KVM failed (${probe.timedOut ? `no boot within ${KVM_PROBE_MS / 1000} s` : (probe.error ?? `exit ${probe.status}`).split("\n")[0]})`;
      } finally {
        closeSync(fd);
      }
    }
  }
  const fd = initrdFd(img, archive);
  try {
    return boot(img, fd, kvmVerdict ? "kvm" : "tcg", budgetMs + BOOT_BUDGET_MS);
  } finally {
    closeSync(fd);
  }
}
