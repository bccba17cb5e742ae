// The QEMU processes this test process started (its children whose command line names
// qemu): the VM tests check that none is left behind.
import { readdirSync, readFileSync } from "node:fs";

export function qemuChildren(): number[] {
  const mine = String(process.pid);
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] === mine && readFileSync(`/proc/${d}/cmdline`, "utf8").includes("qemu");
      } catch {
        return false;
      }
    })
    .map(Number);
}
