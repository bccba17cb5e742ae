// `pktpath check`'s comparison and its table, on reports built by hand.
import { describe, expect, it } from "vitest";
import { compareReports } from "../../src/realkernel/compare.ts";
import { formatCheck } from "../../src/cli/format.ts";
import type { ProbeReport, ScenarioReport } from "../../src/scenario/run.ts";
import type { KernelScenarioReport } from "../../src/realkernel/types.ts";

function probe(line: number, outcome: string, server: string | null = null, client: string | null = null): ProbeReport {
  return { line, command: `curl 10.0.0.${line}:8080`, netns: "host", outcome, server, client_ip: client, expected: null, pass: null, why: null, error: "" };
}

function emu(probes: ProbeReport[], listings: ScenarioReport["listings"] = [], error: string | null = null): ScenarioReport {
  return { file: "s.yaml", name: "s", mode: "emulator", probes, passed: 0, failed: 0, notes: [], listings, error };
}

function ker(probes: ProbeReport[], listings: ScenarioReport["listings"] = [], error: string | null = null, skipped: string | null = null): KernelScenarioReport {
  return { ...emu(probes, listings, error), mode: "kernel", skipped, elapsedMs: 0 };
}

describe("check", () => {
  it("agrees on equal outcomes, servers and client addresses", () => {
    const c = compareReports(emu([probe(5, "a", "a", "10.0.0.1"), probe(7, "refused")]), ker([probe(5, "a", "a", "10.0.0.1"), probe(7, "refused")]));
    expect([c.agreements, c.disagreements]).toEqual([2, 0]);
  });

  it("a different client address is a disagreement, shown side by side", () => {
    const c = compareReports(emu([probe(5, "a", "a", "10.0.0.1")]), ker([probe(5, "a", "a", "10.0.0.21")]));
    expect(c.disagreements).toBe(1);
    const text = formatCheck(c);
    expect(text).toMatch(/ 5 +curl 10\.0\.0\.5:8080 +a +a +a +10\.0\.0\.1 \| 10\.0\.0\.21 +NO/);
    expect(text.split("\n")[1]).toMatch(/line +command +emulator +kernel +server +client address +agree\?/);
  });

  it("pairs repeated probes of one line in order, and a missing side disagrees", () => {
    const c = compareReports(emu([probe(5, "a"), probe(5, "b")]), ker([probe(5, "a"), probe(5, "a"), probe(9, "timeout")]));
    expect(c.probes.map((p) => p.agree)).toEqual([true, false, false]);
  });

  it("compares listings after normalising them, and shows the diff", () => {
    const e = [{ line: 9, command: "ip neigh show", output: "10.0.0.99 dev b INCOMPLETE \n10.0.0.11 dev b lladdr 02:04:78:de:20:2b REACHABLE \n" }];
    const k = [{ line: 9, command: "ip neigh show", output: "10.0.0.11 dev b lladdr c6:5c:e2:d8:77:02 STALE \n10.0.0.99 dev b FAILED \n" }];
    expect(compareReports(emu([], e), ker([], k)).listings[0]!.agree).toBe(true);
    const f = [{ line: 9, command: "bridge fdb show", output: "01:00:5e:00:00:01 dev b self permanent\n" }];
    const c = compareReports(emu([], [{ line: 9, command: "bridge fdb show", output: "" }]), ker([], f));
    expect(c.listings[0]).toMatchObject({ agree: false, diff: ["+ 01:00:5e:00:00:01 dev b self permanent"] });
    expect(formatCheck(c)).toContain("DIFFERS");
  });

  it("stopping at different lines is a disagreement", () => {
    expect(compareReports(emu([], [], "s.yaml:4: x"), ker([], [], null)).disagreements).toBe(1);
    expect(compareReports(emu([], [], "s.yaml:4: x"), ker([], [], "s.yaml:4: y")).disagreements).toBe(0);
  });

  it("after one side stopped, the other's later results are not compared, only counted", () => {
    const c = compareReports(emu([probe(3, "a")], [], "s.yaml:4: Error: not modelled"), ker([probe(3, "a"), probe(5, "b")], [{ line: 6, command: "ip r", output: "x\n" }]));
    expect([c.agreements, c.disagreements, c.uncompared]).toEqual([1, 1, 2]);
    expect(formatCheck(c)).toContain("the two stopped at different lines: DIFFERS (2 probe and listing results after that line not compared)");
    const r = compareReports(emu([], [], "s.yaml:9: iptables: command not found"), ker([probe(3, "a")]), { emulatorRefused: true });
    expect([r.agreements, r.disagreements, r.uncompared]).toEqual([0, 1, 1]);
  });

  it("a skipped kernel side compares nothing and says why", () => {
    const c = compareReports(emu([probe(5, "a")]), ker([], [], null, "needs the VM backend (not built yet): IPVS"));
    expect([c.agreements, c.disagreements]).toEqual([0, 0]);
    expect(formatCheck(c)).toContain("kernel: skipped: needs the VM backend (not built yet): IPVS");
    expect(formatCheck(c)).toMatch(/ 5 +curl 10\.0\.0\.5:8080 +a +skipped/);
  });

  it("a probe where both sides agree but contradict expect: fails, and is shown", () => {
    const failing = (p: ProbeReport): ProbeReport => ({ ...p, expected: "refused", pass: false });
    const c = compareReports(emu([failing(probe(5, "timeout")), probe(7, "a", "a")]), ker([failing(probe(5, "timeout")), probe(7, "a", "a")]));
    expect([c.agreements, c.disagreements, c.failedExpectations, c.passed, c.failed]).toEqual([2, 0, 1, 1, 1]);
    expect(formatCheck(c)).toMatch(/ 5 +curl 10\.0\.0\.5:8080 +timeout +timeout .*yes, both FAIL expect refused/);
  });
});
