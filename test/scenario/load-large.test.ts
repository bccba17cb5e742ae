// Large scenario files load in time proportional to their size (issue 14). Counted,
// not timed: the loader's meter counts what it goes over (its loops and the YAML
// lexer's lines), and doubling a file may at most ~2.5x that count. What speed this
// gives is in bench/load.ts. The inputs are megabytes: the generous time limit is only
// there so a loaded machine does not fail them (no test here depends on speed).
const LARGE = { timeout: 120_000 };
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { generateKubeProxy } from "../../src/gen/index.ts";
import { loadScenario, PROGRESS_FROM_BYTES, type LoadMeter } from "../../src/scenario/load.ts";
import { ScenarioError, type RunStep } from "../../src/scenario/types.ts";

function ops(text: string): number {
  const meter: LoadMeter = { ops: 0 };
  loadScenario("s.yaml", text, { meter });
  return meter.ops;
}

/** `iptables-restore <<EOF` with n rules. */
function heredoc(n: number, open = "<<EOF"): string {
  const l = ["name: big", "steps:", "  - run: |", `      iptables-restore ${open}`, "      *filter"];
  for (let i = 0; i < n; i++) l.push(`      -A INPUT -s 10.0.${(i >> 8) & 255}.${i & 255}/32 -m comment --comment "rule ${i}" -j ACCEPT`);
  l.push("      COMMIT", "      EOF", "");
  return l.join("\n");
}

function loadError(text: string): string {
  try {
    loadScenario("s.yaml", text);
  } catch (e) {
    if (e instanceof ScenarioError) return e.message;
    throw e;
  }
  return "(no error)";
}

describe("loading grows with the file, not faster", LARGE, () => {
  it("a here-document twice as long costs at most ~2.5x", () => {
    const a = ops(heredoc(20_000));
    const b = ops(heredoc(40_000));
    expect(a).toBeGreaterThan(20_000);
    expect(b / a).toBeLessThanOrEqual(2.5);
  });
  it("a generated node with twice the services costs at most ~2.5x", () => {
    const y1 = generateKubeProxy({ mode: "iptables", services: 200, endpoints: 10, probes: true }).yaml;
    const y2 = generateKubeProxy({ mode: "iptables", services: 400, endpoints: 10, probes: true }).yaml;
    expect(y2.length / y1.length).toBeGreaterThan(1.9);
    expect(ops(y2) / ops(y1)).toBeLessThanOrEqual(2.5);
  });
  it("twice the steps cost at most ~2.5x", () => {
    const steps = (n: number) => "name: many\nsteps:\n" + Array.from({ length: n }, (_, i) => `  - run: ip link add dev d${i} type bridge\n`).join("");
    expect(ops(steps(4000)) / ops(steps(2000))).toBeLessThanOrEqual(2.5);
  });
  it("a mapping twice as large costs at most ~2.5x; duplicate keys are found by hash, at their line", () => {
    // yaml's own duplicate-key check compares each key with all before it.
    const keys = (n: number, extra = "") => "name: x\nsteps:\n  - run: ip a\n    why: w\n    expect: {" + Array.from({ length: n }, (_, i) => `k${i}: v`).join(", ") + extra + "}\n";
    const err = (t: string) => {
      const meter: LoadMeter = { ops: 0 };
      try {
        loadScenario("s.yaml", t, { meter });
      } catch (e) {
        if (e instanceof ScenarioError) return { ops: meter.ops, message: e.message };
        throw e;
      }
      return { ops: meter.ops, message: "(no error)" };
    };
    const a = err(keys(20_000));
    const b = err(keys(40_000));
    expect(a.message).toBe('s.yaml:5: expect: unknown key "k0" (expected server, client_ip)');
    expect(b.ops / a.ops).toBeLessThanOrEqual(2.5);
    expect(err(keys(40_000, ", k7: again")).message).toBe("s.yaml:5: invalid YAML: Map keys must be unique");
    expect(loadError("name: x\nsteps:\n  - run: ip a\n    why: a\n    why: b\n")).toBe("s.yaml:5: invalid YAML: Map keys must be unique");
    expect(loadError("name: x\nsteps:\n  - {run: ip a, 1: a, '1': b}\n")).toMatch(/^s\.yaml:3: unknown step key "1"/);
  });
  it("a long run of blanks before a continuation or a here-document opener is read once", () => {
    // Regular expressions with a lazy prefix took the square of such a line.
    const line = (k: number) => `name: l\nsteps:\n  - run: |\n      echo a${" ".repeat(k)}b \\\n      c${" ".repeat(k)}d <<'EOF'\n      x\n      EOF\n`;
    const a = ops(line(200_000));
    expect(ops(line(400_000)) / a).toBeLessThanOrEqual(2.5);
    const s = loadScenario("s.yaml", line(1_000_000)).steps[0] as RunStep;
    expect(s.commands.map((c) => [c.line, c.text.replace(/ +/g, " "), c.stdin])).toEqual([[4, "echo a b c d", "x\n"]]);
  });
});

describe("here-documents read in one slice keep their meaning", LARGE, () => {
  it("the body is the lines between opener and terminator, each with its newline", () => {
    const s = loadScenario("s.yaml", heredoc(3)).steps[0] as RunStep;
    expect(s.commands).toEqual([
      {
        line: 4,
        text: "iptables-restore",
        stdin: '*filter\n-A INPUT -s 10.0.0.0/32 -m comment --comment "rule 0" -j ACCEPT\n-A INPUT -s 10.0.0.1/32 -m comment --comment "rule 1" -j ACCEPT\n-A INPUT -s 10.0.0.2/32 -m comment --comment "rule 2" -j ACCEPT\nCOMMIT\n',
      },
    ]);
  });
  it("<<- strips leading tabs, the terminator may be indented with tabs, commands follow", () => {
    const s = loadScenario("s.yaml", 'name: t\nsteps:\n  - run: "cat <<-END\\n\\t\\ta\\n\\tb\\n\\tEND\\nip link set lo up"\n').steps[0] as RunStep;
    expect(s.commands).toEqual([
      { line: 3, text: "cat", stdin: "a\nb\n" },
      { line: 3 + 4, text: "ip link set lo up" },
    ]);
  });
  it("an expansion deep in a large unquoted here-document names its own line; quoted, it is kept", () => {
    // rule k is on line 6 + k
    const text = heredoc(50_000).replace('--comment "rule 40000"', '--comment "rule $N"');
    expect(loadError(text)).toBe(
      "s.yaml:40006: parameter expansion $N is not modelled by pktpath (shell variables are not kept): write the value (in a here-document; quote its delimiter, <<'EOF', to keep the text as written)",
    );
    const quoted = (loadScenario("s.yaml", text.replace("<<EOF", "<<'EOF'")).steps[0] as RunStep).commands[0]!;
    expect(quoted.stdin).toContain('--comment "rule $N"');
    // An escaped $ is kept as written.
    expect(loadError(text.replace("$N", "\\$N"))).toBe("(no error)");
  });
  it("an unterminated here-document names its opener; an expansion in it is reported first", () => {
    const open = "name: t\nsteps:\n  - run: |\n      ip link set lo up\n      cat <<EOF\n      a\n      b\n";
    expect(loadError(open)).toBe('s.yaml:5: here-document not terminated: no line "EOF" before the end of the run: block');
    expect(loadError(open + "      `date`\n")).toMatch(/^s\.yaml:8: command substitution `\.\.\.` is not modelled by pktpath/);
  });
});

describe("progress while loading a large file", LARGE, () => {
  it("is told how far the YAML is read, for files from a few MB on, and not for small ones", () => {
    const small: string[] = [];
    loadScenario("s.yaml", heredoc(100), { progress: (m) => small.push(m) });
    expect(small).toEqual([]);
    const big = heredoc(Math.ceil(PROGRESS_FROM_BYTES / 70) + 1000);
    const seen: string[] = [];
    loadScenario("big.yaml", big, { progress: (m) => seen.push(m) });
    expect(seen[0]).toMatch(/^big\.yaml: checking the YAML's nesting \(\d+ MB\)$/);
    expect(seen.some((m) => /^big\.yaml: reading the YAML, \d+ of \d+ MB$/.test(m))).toBe(true);
  });
  it("pktpath run shows it on a terminal and clears it before the FILE:LINE: message; not with -q", () => {
    const file = join(mkdtempSync(join(tmpdir(), "pktpath-load-large-")), "big.yaml");
    // A large here-document, then a bad step: the run stops after loading.
    writeFileSync(file, heredoc(Math.ceil(PROGRESS_FROM_BYTES / 70) + 1000) + "  - runn: ip a\n");
    const run = (args: string[]) => {
      let err = "";
      const code = main(args, { out: () => {}, err: (s) => (err += s), errTTY: true });
      return { code, err };
    };
    const r = run(["run", file]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`loading ${file}: reading the YAML, 0 of `);
    const lastLine = `${file}:${Math.ceil(PROGRESS_FROM_BYTES / 70) + 1000 + 8}: unknown step key "runn" (expected run, expect, repeat, why, advance)\n`;
    expect(r.err.endsWith(`\r\x1b[K${lastLine}`)).toBe(true);
    expect(run(["run", "-q", file]).err).toBe(lastLine);
  });
});
