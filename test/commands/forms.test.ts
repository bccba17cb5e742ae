// Command forms users type, each file run through the emulator and compared with what the
// real tools printed for the same lines (test/fixtures/forms/*.real.txt, captured in a fresh
// network namespace): output, error text and exit status, line by line.
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { emulatorTranscript, normalise } from "./transcript.ts";

const DIR = "test/fixtures/forms/";

/** The first line of a transcript that differs, for a readable failure. */
function firstDifference(ours: string, real: string): string | null {
  const a = ours.split("\n");
  const b = real.split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return `line ${i + 1}: ours ${JSON.stringify(a[i])}, real ${JSON.stringify(b[i])}`;
  return null;
}

describe("command forms agree with the real tools", () => {
  for (const file of readdirSync(DIR).filter((f) => f.endsWith(".cmds"))) {
    const name = file.slice(0, -".cmds".length);
    it(name, () => {
      const lines = readFileSync(DIR + file, "utf8").split("\n");
      const ours = normalise(emulatorTranscript(lines));
      const real = normalise(readFileSync(`${DIR}${name}.real.txt`, "utf8"));
      expect(firstDifference(ours, real)).toBeNull();
      expect(ours).toBe(real);
    });
  }
});
