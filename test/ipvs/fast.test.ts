// ipvsadm -R's fast path (src/ipvs/ipvsadm/fast.ts) against the whole parser, and a
// restore file against the same lines run one command at a time: the same state, or the
// same error at the same line with nothing changed.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Host } from "../../src/host.ts";
import { defaultLayers } from "../../src/layers.ts";
import { ToolError } from "../../src/tool/tool.ts";
import { splitLine } from "../../src/tool/shell.ts";
import { fastParse } from "../../src/ipvs/ipvsadm/fast.ts";
import { parse, type Parsed } from "../../src/ipvs/ipvsadm/parse.ts";
import { params, timeoutMs } from "../props/config.ts";

const addr = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.constantFrom(80, 443, 8080, 0)).map(([k, p]) => `10.0.0.${k}:${p}`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "010.0.0.1:80",
      "10.0.0.256:80",
      "10.0.0:80",
      "10.0.0.1.1:80",
      "10.0.0.1:",
      "10.0.0.1:http",
      "10.0.0.1:65536",
      "10.0.0.1:00080",
      "10.0.0.1",
      "10.0.0.1:80:1",
      ":80",
      "10..0.1:80",
      "1000.0.0.1:80",
      "10.0.0.1:123456",
      "-m",
    ),
  },
);
const num = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }).map(String) },
  { weight: 2, arbitrary: fc.constantFrom("65535", "65536", "70000", "007", "300", "999999999", "1000000000") },
  { weight: 1, arbitrary: fc.constantFrom("-1", "x", "1e3", "", "9999999999", "0x10") },
);

const option = fc.oneof(
  { weight: 4, arbitrary: addr.map((a) => ["-t", a]) },
  { weight: 1, arbitrary: addr.map((a) => ["-u", a]) },
  { weight: 3, arbitrary: addr.map((a) => ["-r", a]) },
  { weight: 2, arbitrary: fc.constantFrom("rr", "wrr", "wlc", "sh", "nosuch", "-m", "RR").map((s) => ["-s", s]) },
  { weight: 3, arbitrary: fc.constantFrom(["-m"], ["-g"], ["-i"], ["--masquerading"], ["-p"], ["-6"], ["-Q"], ["'-m'"], ['"-w"', "1"], ["-mw", "2"], ["-f", "7"]) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom("-w", "-x", "-y", "-p", "-M"), num).map(([o, v]) => [o, v]) },
);

/** Words joined with odd blanks, with blanks or none at either end. */
function spaced(words: string[], seps: string[], edge: string): string {
  return edge + words.map((w, i) => (i ? seps[i % seps.length]! + w : w)).join("") + edge;
}
const blanks = fc.array(fc.constantFrom(" ", "  ", "\t", " \t "), { minLength: 8, maxLength: 8 });
const edges = fc.constantFrom("", " ", "\t", "  ");

/** Any options after any command. */
const anyLine = fc
  .tuple(fc.constantFrom("-A", "-a", "-e", "-E", "-d", "-D", "-C", "--add-server", "-Z", "-L", "-S", ""), fc.array(option, { maxLength: 6 }), blanks, edges)
  .map(([cmd, opts, seps, edge]) => spaced([cmd, ...opts.flat()].filter((w) => w !== ""), seps, edge));

/** The lines ipvsadm -S writes, their options shuffled, some values wrong. */
const saveLine = fc
  .tuple(
    fc.boolean(),
    fc.constantFrom("-t", "-t", "-u"),
    addr,
    addr,
    fc.constantFrom("rr", "wrr", "nosuch"),
    fc.constantFrom(["-m"], ["-g"], ["-i"], []),
    num,
    fc.constantFrom([], ["-x", "10", "-y", "5"], ["-p", "300"], ["-p", "0"]),
    fc.boolean(),
    blanks,
    edges,
  )
  .map(([svc, flag, vip, rip, sched, fwd, w, extra, shuffle, seps, edge]) => {
    const opts = svc ? [[flag, vip], ["-s", sched], extra] : [[flag, vip], ["-r", rip], fwd, ["-w", w], extra];
    if (shuffle) opts.reverse();
    return spaced([svc ? "-A" : "-a", ...opts.flat()], seps, edge);
  });

const line = fc.oneof({ weight: 3, arbitrary: saveLine }, { weight: 2, arbitrary: anyLine });

/** Lines that mostly work: services 10.0.0.1-4:80 (1-3 are there first), their real servers. */
const goodLine = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom(80, 8080), fc.integer({ min: 0, max: 4 }), blanks, edges)
  .map(([kind, v, r, port, w, seps, edge]) =>
    spaced(kind === 0 ? ["-A", "-t", `10.0.0.${v}:80`, "-s", "rr"] : ["-a", "-t", `10.0.0.${v}:80`, "-r", `10.0.1.${r}:${port}`, "-m", "-w", String(w)], seps, edge),
  );

/** parse() of a line as restore splits it, or the message it fails with. */
function full(l: string): Parsed | string {
  try {
    return parse(splitLine(l, { literal: true })[0]?.argv ?? []);
  } catch (e) {
    if (e instanceof ToolError) return e.message;
    throw e;
  }
}

function host(): Host {
  return new Host({ layers: defaultLayers() });
}

/** The lines run as separate commands: the first error and its line, or null. */
function oneByOne(h: Host, lines: string[]): { msg: string; n: number; line: string } | null {
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (!l || l.startsWith("#")) continue;
    try {
      h.exec(`ipvsadm ${l}`);
    } catch (e) {
      if (e instanceof ToolError) return { msg: e.message, n: i + 1, line: l };
      throw e;
    }
  }
  return null;
}

describe("ipvsadm -R fast path", () => {
  it("takes the lines ipvsadm -S writes", () => {
    expect(fastParse("-A -t 10.96.0.1:443 -s rr")).toEqual(full("-A -t 10.96.0.1:443 -s rr"));
    expect(fastParse("-a -t 10.96.0.1:443 -r 10.244.1.2:6443 -m -w 1")).toEqual(full("-a -t 10.96.0.1:443 -r 10.244.1.2:6443 -m -w 1"));
    expect(fastParse("-a  -u\t10.96.0.10:53 -r 10.244.1.3:53 -g -w 0 -x 10 -y 5")).not.toBeNull();
    expect(fastParse("-A -t 10.96.0.1:443 -s rr -p 600")).not.toBeNull();
    expect(fastParse("-a -t 10.96.0.1:443 -r 10.244.1.2:6443 -m -w 65536")).toBeNull();
    expect(fastParse("-a -t 10.96.0.1:443 -r '10.244.1.2:6443' -m")).toBeNull();
  });

  it(
    "gives what the whole parser gives whenever it takes a line",
    () => {
      let taken = 0;
      fc.assert(
        fc.property(line, (l) => {
          const t = l.trim();
          const f = fastParse(t);
          if (f !== null) {
            taken++;
            expect(f).toEqual(full(t));
          }
        }),
        params(3000),
      );
      // The property says something only if the fast path takes many of the lines.
      expect(taken).toBeGreaterThan(300);
    },
    timeoutMs(60_000),
  );

  it(
    "a restore file does what its lines do one command at a time, or fails at the same line changing nothing",
    () => {
      const head = ["-A -t 10.0.0.1:80 -s rr", "-A -t 10.0.0.2:80 -s wrr", "-A -t 10.0.0.3:80 -s rr"];
      const body = fc.array(
        fc.oneof({ weight: 20, arbitrary: goodLine }, { weight: 2, arbitrary: line }, { weight: 1, arbitrary: fc.constantFrom("", "# comment", "  ") }),
        { maxLength: 16 },
      );
      const file = fc.tuple(fc.boolean(), body).map(([h, b]) => (h ? [...head, ...b] : b));
      let failed = 0;
      let loaded = 0;
      fc.assert(
        fc.property(file, (lines) => {
          const ref = host();
          const bad = oneByOne(ref, lines);
          const h = host();
          h.exec("ipvsadm -Sn"); // loads ip_vs, which stays loaded whatever -R does
          const before = h.config;
          let msg: string | null = null;
          try {
            h.exec("ipvsadm -R", "host", lines.join("\n") + "\n");
          } catch (e) {
            if (!(e instanceof ToolError)) throw e;
            msg = e.message;
          }
          if (bad) {
            failed++;
            expect(msg).toBe(`${bad.msg}\nipvsadm: line ${bad.n}: ${bad.line}`);
            expect(h.config).toBe(before);
          } else {
            loaded += lines.length > 3 ? 1 : 0;
            expect(msg).toBeNull();
            expect(h.exec("ipvsadm -Sn")[0]!.stdout).toBe(ref.exec("ipvsadm -Sn")[0]!.stdout);
          }
        }),
        params(300),
      );
      // Both outcomes are exercised: files that load, and files that fail on a line.
      expect(failed).toBeGreaterThan(15);
      expect(loaded).toBeGreaterThan(15);
    },
    timeoutMs(120_000),
  );
});
