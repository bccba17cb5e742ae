// Bad scenario input gets FILE:LINE: and a clear message, before anything runs.
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../src/scenario/load.ts";
import { runScenario } from "../../src/scenario/run.ts";
import { ScenarioError } from "../../src/scenario/types.ts";

function loadError(text: string): string {
  try {
    runScenario(loadScenario("s.yaml", text));
  } catch (e) {
    if (e instanceof ScenarioError) return e.message;
    throw e;
  }
  return "(no error)";
}

describe("loading scenarios", () => {
  it("maps block lines to file lines, joins continuations, drops comments", () => {
    const s = loadScenario("s.yaml", "name: x\nsteps:\n  - run: |\n      ip link add dev br0 \\\n        type bridge\n      # a comment\n      ip link set br0 up\n");
    const step = s.steps[0]!;
    expect(step.kind === "run" && step.commands).toEqual([
      { line: 4, text: "ip link add dev br0 type bridge" },
      { line: 7, text: "ip link set br0 up" },
    ]);
  });
  it("reads advance durations", () => {
    const s = loadScenario("s.yaml", "name: x\nsteps:\n  - advance: 90s\n  - advance: 500ms\n  - advance: 15m\n");
    expect(s.steps.map((x) => x.kind === "advance" && x.ms)).toEqual([90_000, 500, 900_000]);
  });
  it("names file and line of each kind of bad input", () => {
    expect(loadError("name: x\nsteps:\n  - run: frobnicate now\n")).toBe("s.yaml:3: frobnicate: command not found");
    expect(loadError("name: x\nsteps:\n  - run: ip a\n    expect: timeout\n")).toMatch(/^s\.yaml:3: expect: needs a run: of exactly one probe command/);
    expect(loadError("name: x\nsteps:\n  - run: curl 10.0.0.1:80\n    repeat: 2\n    expect: timeout\n")).toBe("s.yaml:5: with repeat: 2, expect: must be a list of 2 outcomes");
    expect(loadError("name: x\nsteps:\n  - advance: soon\n")).toBe('s.yaml:3: advance: "soon" is not a duration like 500ms, 90s or 15m');
    expect(loadError("name: x\nsteps:\n  - runn: ip a\n")).toBe('s.yaml:3: unknown step key "runn" (expected run, expect, repeat, why, advance)');
    expect(loadError("name: x\nsteps: [\n")).toMatch(/^s\.yaml:\d+: invalid YAML/);
    expect(loadError("steps: []\n")).toBe('s.yaml:1: missing "name" (a string)');
    expect(loadError('name: x\nsteps:\n  - run: echo "unterminated\n')).toMatch(/^s\.yaml:3: syntax error/);
  });
  it("stops at the first failing command and says which", () => {
    const r = runScenario(loadScenario("s.yaml", "name: x\nsteps:\n  - run: |\n      ip link add dev br0 type bridge\n      ip link set nosuch up\n      ip link add dev br1 type bridge\n"));
    expect(r.error).toBe('s.yaml:5: Cannot find device "nosuch"');
  });
  it("accepts file-only commands and reports them as not modelled", () => {
    const r = runScenario(loadScenario("s.yaml", "name: x\nsteps:\n  - run: |\n      mkdir -p /etc/netns/a\n      echo nameserver 1.1.1.1 | tee /etc/netns/a/resolv.conf\n"));
    expect(r.error).toBeNull();
    expect(r.notes).toEqual([
      "s.yaml:4: not modelled (touches only files): mkdir -p /etc/netns/a",
      "s.yaml:5: not modelled (touches only files): echo nameserver 1.1.1.1 | tee /etc/netns/a/resolv.conf",
    ]);
  });
});

describe("expectations that cannot hold are bad input, not failed probes", () => {
  it("a misspelt outcome or a namespace the scenario never made: exit 2 at its line, nothing after it runs", () => {
    const r = runScenario(loadScenario("s.yaml", "name: t\nsteps:\n  - run: ip link set lo up\n  - run: curl 127.0.0.1:80\n    expect: refsued\n  - run: curl 127.0.0.1:81\n"));
    expect(r.error).toBe('s.yaml:4: expect: "refsued" is neither an outcome (timeout, refused, unreachable, reply) nor a namespace of this scenario');
    expect(r.probes).toEqual([]);
    const s = runScenario(loadScenario("s.yaml", "name: t\nsteps:\n  - run: ip netns add a\n  - run: curl 127.0.0.1:80\n    expect: {server: b}\n"));
    expect(s.error).toMatch(/^s\.yaml:4: expect: "b" is neither an outcome/);
    // A namespace that exists is an outcome like any other (the probe fails, exit 1).
    const ok = runScenario(loadScenario("s.yaml", "name: t\nsteps:\n  - run: ip netns add a\n  - run: curl 127.0.0.1:80\n    expect: a\n"));
    expect(ok).toMatchObject({ error: null, failed: 1 });
  });
  it("client_ip must be an IPv4 address", () => {
    expect(loadError("name: t\nsteps:\n  - run: curl 127.0.0.1:80\n    expect: {client_ip: 999.1.1.1}\n")).toBe('s.yaml:4: expect: client_ip "999.1.1.1" is not an IPv4 address');
  });
});
