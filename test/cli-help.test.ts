// The CLI as a guide: --help per subcommand with examples, trace views, JSON trace,
// colours and progress only on a terminal, and a text report linear in its probes.
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../src/cli/main.ts";
import type { Io } from "../src/cli/io.ts";
import { formatReport } from "../src/cli/format.ts";
import type { ScenarioReport } from "../src/scenario/run.ts";

function cli(args: string[], extra: Partial<Io> = {}): { code: number; out: string; err: string } {
  let out = "";
  let err = "";
  const code = main(args, { out: (s) => (out += s), err: (s) => (err += s), ...extra });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), "pktpath-cli-help-"));
const ok = join(dir, "ok.yaml");
writeFileSync(
  ok,
  `name: tiny
steps:
  - run: |
      ip netns add a
      ip link add dev va type veth peer name vb
      ip link set vb netns a
      ip address add 192.168.7.1/24 dev va
      ip link set va up
      ip netns exec a ip address add 192.168.7.2/24 dev vb
      ip netns exec a ip link set vb up
      ip netns exec a nc -l 7000 &
  - run: curl 192.168.7.2:7000
    expect: a
  - run: nc -z 192.168.7.2 7001
    expect: refused
`,
);

describe("pktpath --help", () => {
  it("lists the subcommands and exits 0", () => {
    const r = cli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: pktpath COMMAND/);
    for (const c of ["run", "check", "gen"]) expect(r.out).toMatch(new RegExp(`^  ${c} `, "m"));
    expect(r.out).toContain("Examples:");
    expect(cli(["help", "run"]).out).toBe(cli(["run", "--help"]).out);
  });
  it("prints the usage and exits 2 with no command", () => {
    const r = cli([]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^Usage: pktpath/);
  });
  it("run --help names every option, with examples", () => {
    const r = cli(["run", "--help"]);
    expect(r.code).toBe(0);
    for (const o of ["--kernel", "--trace[=brief]", "--json", "--pcap <dir>", "--html <dir>", "--quiet"]) expect(r.out).toContain(o);
    expect(r.out).toContain("pktpath run --pcap out/ --html out/ scenarios/ipvs/walkthrough.yaml");
    expect(r.out).not.toContain("--trace-view");
  });
  it("check --help and gen kube-proxy --help", () => {
    const c = cli(["check", "--help"]);
    expect(c.code).toBe(0);
    expect(c.out).toContain("--html <dir>");
    expect(c.out).toContain("sudo pktpath check scenarios/");
    const g = cli(["gen", "kube-proxy", "--help"]);
    expect(g.code).toBe(0);
    for (const o of ["--mode <mode>", "--services <n>", "--endpoints <m>", "--nodeports", "-o, --output <file>"]) expect(g.out).toContain(o);
    expect(cli(["gen", "--help"]).out).toContain("kube-proxy");
  });
  it("unknown commands and options exit 2 with a pointer to --help", () => {
    const a = cli(["frob"]);
    expect(a.code).toBe(2);
    expect(a.err).toContain("pktpath: unknown command 'frob'");
    const b = cli(["run", "--frob", ok]);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/unknown option '--frob'[\s\S]*--help/);
    expect(cli(["run"]).code).toBe(2);
    expect(cli(["run", "--trace=loud", ok]).code).toBe(2);
    expect(cli(["run", "--kernel", "--pcap", dir, ok]).code).toBe(2);
  });
  it("a bare --trace never takes the path after it as its value", () => {
    const r = cli(["run", "--trace", ok]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("ARP who-has");
  });
});

describe("trace views", () => {
  it("--trace=brief prints the first packet and the first reply only", () => {
    const full = cli(["run", "--trace", ok]).out;
    const brief = cli(["run", "--trace=brief", ok]);
    expect(brief.code).toBe(0);
    const lines = brief.out.split("\n").filter((l) => /^ +#\d+ /.test(l));
    expect(lines.length).toBeLessThan(full.split("\n").filter((l) => /^ +#\d+ /.test(l)).length);
    // curl: the SYN reaches the listener, the SYN-ACK comes back; no ARP, no FIN.
    expect(brief.out).toMatch(/tx +TCP 192\.168\.7\.1:\d+ > 192\.168\.7\.2:7000 \[SYN\]/);
    expect(brief.out).toMatch(/listener 0\.0\.0\.0:7000 accepts/);
    expect(brief.out).toMatch(/TCP 192\.168\.7\.2:7000 > 192\.168\.7\.1:\d+ \[SYN,ACK\]/);
    expect(brief.out).not.toMatch(/ARP who-has|\[FIN/);
    // nc -z to a closed port: the SYN and the RST that decides "refused".
    expect(brief.out).toMatch(/no socket for TCP port 7001: reset/);
    expect(brief.out).toMatch(/\[RST,ACK\]/);
    expect(brief.out.trimEnd().split("\n").pop()).toBe("2 passed, 0 failed");
  });
  it("--json --trace includes the events (docs/trace.md), --json alone does not", () => {
    const plain = JSON.parse(cli(["run", "--json", ok]).out);
    expect(plain[0].probes[0].trace).toBeUndefined();
    const data = JSON.parse(cli(["run", "--json", "--trace", ok]).out);
    const ev = data[0].probes[0].trace;
    expect(ev.length).toBeGreaterThan(5);
    for (const e of ev) expect(Object.keys(e)).toEqual(["t", "pkt", "ns", "dev", "step", "detail"]);
    expect(ev).toContainEqual(expect.objectContaining({ ns: "a", dev: "vb", step: "rx" }));
    const brief = JSON.parse(cli(["run", "--json", "--trace=brief", ok]).out);
    expect(brief[0].probes[0].trace.length).toBeLessThan(ev.length);
  });
});

describe("colours and progress", () => {
  it("colours only on a terminal and never with NO_COLOR", () => {
    expect(cli(["run", ok]).out).not.toContain("\x1b[");
    expect(cli(["run", ok], { outTTY: true, env: {} }).out).toMatch(/\x1b\[32m pass/);
    expect(cli(["run", ok], { outTTY: true, env: { NO_COLOR: "1" } }).out).not.toContain("\x1b[");
  });
  it("progress on stderr only on a terminal, and not with --quiet", () => {
    expect(cli(["run", ok]).err).toBe("");
    expect(cli(["run", ok], { errTTY: true }).err).toContain(`run [1/1] ${ok}`);
    expect(cli(["run", "--quiet", ok], { errTTY: true }).err).toBe("");
  });
});

describe("the text report is linear in its probes", () => {
  it("formats 100,000 probes in about the time JSON takes", () => {
    const probes = Array.from({ length: 100_000 }, (_, i) => ({
      line: 10 + i, command: `curl 10.0.${i >> 8}.${i & 255}:80`, netns: "host", outcome: i % 7 ? "a" : "timeout",
      server: i % 7 ? "a" : null, client_ip: i % 7 ? "10.0.0.1" : null, expected: "a", pass: i % 7 !== 0, why: null, error: "",
    }));
    const r: ScenarioReport = { file: "x.yaml", name: "x", mode: "emulator", probes, passed: 0, failed: 0, notes: [], listings: [], error: null };
    let t = performance.now();
    const text = formatReport(r, false);
    const textMs = performance.now() - t;
    t = performance.now();
    JSON.stringify(probes, null, 2);
    const jsonMs = performance.now() - t;
    expect(text.split("\n").length).toBe(100_002);
    // The cli-table3 version took 36 s for 20,000 rows; now it is JSON's order of magnitude.
    expect(textMs).toBeLessThan(Math.max(5000, 10 * jsonMs));
  }, 60_000);
});
