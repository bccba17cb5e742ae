// Reads a capture from test/fixtures/real: "# cmd: ...", stdout, "# stderr:", stderr, "# exit: N".
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REAL = fileURLToPath(new URL("../fixtures/real/", import.meta.url));

export interface Capture {
  stdout: string;
  stderr: string;
  exit: number;
}

export function capture(name: string): Capture {
  const lines = readFileSync(join(REAL, name), "utf8").split("\n");
  const out: string[] = [];
  const err: string[] = [];
  let exit = 0;
  let inErr = false;
  for (const l of lines) {
    if (l.startsWith("# cmd:") || l.startsWith("# elapsed")) continue;
    if (l === "# stderr:") {
      inErr = true;
      continue;
    }
    const m = /^# exit: (\d+)$/.exec(l);
    if (m) {
      exit = Number(m[1]);
      continue;
    }
    (inErr ? err : out).push(l);
  }
  return { stdout: out.join("\n").replace(/\n+$/, "\n"), stderr: err.join("\n"), exit };
}
