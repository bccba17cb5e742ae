// Replays command transcripts captured from ipset v7.17 on Linux 6.18 (see
// fixtures/README.md) and compares every line: listings, member order, "Size in memory",
// errors and exit statuses.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { Host } from "../../src/host.ts";
import { ipsetLayer } from "../../src/ipset/api.ts";
import { coreLayer } from "../../src/commands/layer.ts";
import { ipsetCommand, newSession } from "../../src/ipset/command.ts";
import { IpsetError } from "../../src/ipset/errors.ts";
import { ipsetErrorText } from "../../src/ipset/tool.ts";
import { splitLine } from "../../src/tool/shell.ts";

const DIR = "test/ipset/fixtures/";

/** Runs a transcript script the way capture.sh does; each command takes 2 ms. */
export function replay(script: string): string {
  const host = new Host({ layers: [coreLayer] });
  const rt = ipsetLayer.install(host);
  const lines = script.split("\n");
  let out = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    if (line.startsWith("sleep ")) {
      host.advance(Number(line.slice(6)) * 1000);
      continue;
    }
    let stdin: string | null = null;
    let cmd = line;
    const here = /^(.*)<<EOF$/.exec(line);
    if (here) {
      cmd = here[1]!;
      const body: string[] = [];
      while (lines[++i] !== "EOF") body.push(lines[i]!);
      stdin = body.map((l) => l + "\n").join("");
    }
    out += `$ ${line}\n`;
    const s = newSession();
    s.stdin = stdin;
    try {
      const text = ipsetCommand(rt, "host", splitLine(cmd)[0]!.argv.slice(1), s);
      out += text + `[rc=${/ is NOT in set /.test(text) ? 1 : 0}]\n`;
    } catch (e) {
      if (!(e instanceof IpsetError)) throw e;
      out += `${ipsetErrorText(e)}\n[rc=${e.kind === "parameter" ? 2 : 1}]\n`;
    }
    host.advance(2);
  }
  return out;
}

function normalise(text: string): string[] {
  return text.replace(/initval 0x[0-9a-f]{8}/g, "initval 0x?").split("\n");
}

describe("transcripts of ipset 7.17 replay identically", () => {
  for (const name of ["basics", "ports", "nets", "bitmap-list", "resize", "timeouts", "restore", "random-1", "random-4"]) {
    it(name, () => {
      const script = readFileSync(`${DIR}${name}.txt`, "utf8");
      const real = readFileSync(`${DIR}${name}.real`, "utf8");
      expect(normalise(replay(script))).toEqual(normalise(real));
    });
  }
});
