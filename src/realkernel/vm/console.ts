// Reading the VM's serial console (QEMU's stdout with -nographic): BIOS escapes, kernel
// messages and the init's lines, among which the guest agent's events, one a line, each
// after VM_MARKER. Lines cut or garbled by anything else are ignored.
import type { InnerResult } from "../types.ts";

export const VM_MARKER = "PKTPATH-VM ";

export type GuestEvent =
  | { event: "agent"; uptime: number | null; kernel: string }
  | { event: "result"; id: string; elapsedMs: number; result: InnerResult }
  | { event: "failed"; id: string; elapsedMs: number; message: string }
  | { event: "dirty"; after: string; modules: string[] }
  | { event: "done"; uptime: number | null }
  /** A script's run (script-guest.mjs): its stdout, the tail of its stderr. */
  | { event: "script"; elapsedMs: number; status: number | null; timedOut: boolean; stdout: string; stderr: string };

export interface ConsoleReport {
  events: GuestEvent[];
  /** Kernel uptime (s) when /init started, and when the boot modules were loaded. */
  bootedAt: number | null;
  modulesAt: number | null;
  /** Boot modules that did not load. */
  modulesFailed: string[];
  /** The image had no agent (a run without the appended archive). */
  noAgent: boolean;
  /** The agent said it finished the batch. */
  done: boolean;
  /** The console's last lines that were not events (for error messages). */
  tail: string[];
}

export function parseConsole(text: string): ConsoleReport {
  const r: ConsoleReport = { events: [], bootedAt: null, modulesAt: null, modulesFailed: [], noAgent: false, done: false, tail: [] };
  const other: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r/g, "");
    const at = line.indexOf(VM_MARKER);
    if (at >= 0) {
      try {
        const ev = JSON.parse(line.slice(at + VM_MARKER.length)) as GuestEvent;
        if (ev && typeof ev === "object" && typeof ev.event === "string") {
          r.events.push(ev);
          if (ev.event === "done") r.done = true;
          continue;
        }
      } catch {
        // garbled: fall through
      }
    }
    let m: RegExpExecArray | null;
    if ((m = /PKTPATH-VM-BOOTED ([\d.]+)/.exec(line))) r.bootedAt = Number(m[1]);
    else if ((m = /PKTPATH-VM-MODULES ([\d.]+)/.exec(line))) r.modulesAt = Number(m[1]);
    else if ((m = /PKTPATH-VM-MODULES-FAILED (.*)$/.exec(line))) r.modulesFailed = m[1]!.trim().split(/\s+/);
    else if (line.includes("PKTPATH-VM-NO-AGENT")) r.noAgent = true;
    else if (line.trim()) other.push(line.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g, "").trim());
  }
  r.tail = other.filter(Boolean).slice(-8);
  return r;
}
