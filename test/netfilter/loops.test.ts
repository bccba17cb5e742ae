// Jump loops and jump depth: refused at the command that would make them, in
// iptables-nft's words (test/fixtures/real-nf/07_loops__*, captured by
// _capture_scripts/phase7_loops.sh on a real kernel), and never a runaway walk.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { Host } from "../../src/host.ts";
import { defaultLayers, hostWithLayers } from "../../src/layers.ts";
import { ToolError } from "../../src/tool/tool.ts";
import { JumpGraph, NFT_JUMP_STACK_SIZE } from "../../src/netfilter/loops.ts";
import { indexOf } from "../../src/netfilter/tables.ts";
import { doTable } from "../../src/netfilter/walker.ts";
import { RuleKind } from "../../src/netfilter/compile.ts";
import { TV } from "../../src/netfilter/ext.ts";
import { blankPacket } from "../../src/wire/packet.ts";
import { Hook, type HookState } from "../../src/dataplane/hooks.ts";
import { parseIptables } from "../../src/netfilter/iptables/parse.ts";
import { run } from "../helpers.ts";

const FIX = "test/fixtures/real-nf/";

/** A capture: stdout, stderr and exit status, the "# ..." header lines left out. */
function capture(name: string): { stdout: string; stderr: string; exit: number } {
  const lines = readFileSync(FIX + name, "utf8").split("\n");
  const out: string[] = [];
  const err: string[] = [];
  let exit = 0;
  let inErr = false;
  for (const l of lines) {
    const m = /^# exit: (\d+)$/.exec(l);
    if (m) exit = Number(m[1]);
    else if (l === "# stderr:") inErr = true;
    else if (!l.startsWith("#") && l !== "") (inErr ? err : out).push(l);
  }
  return { stdout: out.join("\n"), stderr: err.join("\n"), exit };
}

function host(): Host {
  return new Host({ layers: defaultLayers() });
}

/** What the emulator answers, in the capture's shape (exit 4 for a commit the kernel refused). */
function ours(h: Host, line: string, stdin: string | null = null): { stdout: string; stderr: string; exit: number } {
  try {
    const stdout = h.exec(line, "host", stdin).map((o) => o.stdout).join("");
    const kept = stdout.split("\n").filter((l) => !l.startsWith("#") && l !== "");
    return { stdout: kept.join("\n"), stderr: "", exit: 0 };
  } catch (e) {
    if (!(e instanceof ToolError)) throw e;
    return { stdout: "", stderr: e.message, exit: 4 };
  }
}

function slug(cmd: string): string {
  return cmd
    .replace(/[^A-Za-z0-9.]+/g, "_")
    .replace(/^_|_$/g, "")
    .toLowerCase();
}

function replay(h: Host, ns: string, cmd: string, call = 1): void {
  const file = `07_loops__${ns}__${slug(cmd)}${call > 1 ? `__call${call}` : ""}.txt`;
  const real = capture(file);
  const got = ours(h, cmd);
  expect(got, `${cmd} (${file})`).toEqual(real);
}

function restore(h: Host, input: string, args = ""): void {
  const cmd = `iptables-restore${args ? " " + args : ""}`;
  const file = `07_loops__netns_loop_d__${slug(`${cmd} < ${input}.rules`)}.txt`;
  const real = capture(file);
  const got = ours(h, cmd, readFileSync(FIX + `_inputs/${input}.rules`, "utf8"));
  expect(got, file).toEqual(real);
}

describe("jump loops are refused as iptables 1.8.9 (nf_tables) refuses them", () => {
  it("a chain jumping to itself, and a loop through two chains, once INPUT reaches them", () => {
    const h = host();
    for (const c of ["iptables -N A", "iptables -A INPUT -j A", "iptables -A A -j A", "iptables -N B", "iptables -A A -j B", "iptables -A B -j A", "iptables -A B -g A", "iptables -S"]) replay(h, "netns_loop_a", c);
  });
  it("a loop no base chain reaches is accepted; the jump that would reach it is refused (-A, -I, -R, any table)", () => {
    const h = host();
    const before = () => h.config;
    replay(h, "netns_loop_b", "iptables -N C");
    replay(h, "netns_loop_b", "iptables -A C -j C");
    const snap = before();
    replay(h, "netns_loop_b", "iptables -A INPUT -j C");
    replay(h, "netns_loop_b", "iptables -I INPUT -j C");
    expect(h.config).toBe(snap);
    for (const c of ["iptables -A INPUT -j ACCEPT", "iptables -R INPUT 1 -j C", "iptables -t nat -N C", "iptables -t nat -A C -g C", "iptables -t nat -A OUTPUT -j C", "iptables -S"]) replay(h, "netns_loop_b", c);
  });
  it("nesting: a chain 16 jumps or gotos below a base chain is refused", () => {
    const h = host();
    for (let i = 1; i <= 16; i++) h.exec(`iptables -N D${i}`);
    h.exec("iptables -A INPUT -j D1");
    for (let i = 1; i <= 14; i++) h.exec(`iptables -A D${i} -j D${i + 1}`);
    replay(h, "netns_loop_c", "iptables -A D15 -j D16");
    replay(h, "netns_loop_c", "iptables -A D15 -g D16");
    for (let i = 1; i <= 17; i++) h.exec(`iptables -N E${i}`);
    for (let i = 1; i <= 16; i++) h.exec(`iptables -A E${i} -j E${i + 1}`);
    replay(h, "netns_loop_c", "iptables -A OUTPUT -j E2");
    replay(h, "netns_loop_c", "iptables -A OUTPUT -j E3");
  });
  it("iptables-restore fails at the rule that closes the loop, naming its line, and changes nothing", () => {
    const h = host();
    const empty = h.config;
    restore(h, "loop_two_chains");
    restore(h, "loop_self_goto");
    expect(h.config).toBe(empty);
    restore(h, "loop_unreferenced");
    expect(ours(h, "iptables-save")).toEqual(capture("07_loops__netns_loop_d__iptables_save__call3.txt"));
    restore(h, "loop_depth16");
    restore(h, "loop_noflush_attach", "--noflush");
    expect(ours(h, "iptables-save")).toEqual(capture("07_loops__netns_loop_d__iptables_save__call5.txt"));
  });
  it("iptables-restore checks a flushed table's jumps at COMMIT, yet names the line a rule-by-rule check names", () => {
    const h = host();
    const empty = h.config;
    const loop = ["*filter", ":A - [0:0]", ":B - [0:0]", "-A INPUT -j A", "-A A -j B", "-A B -j A"];
    // The refused rule is line 6, whatever follows it: a later bad line, a -D, or nothing before COMMIT.
    for (const rest of [["COMMIT"], ["-A INPUT --bogus", "COMMIT"], ["-D INPUT 1", "COMMIT"], ["COMMIT", "*nat", "COMMIT"], []]) {
      const got = ours(h, "iptables-restore", [...loop, ...rest, ""].join("\n"));
      expect(got.stderr).toBe("iptables-restore v1.8.9 (nf_tables): \nline 6: RULE_APPEND failed (Too many links): rule in chain B");
      expect(h.config).toBe(empty);
    }
    // A bad line before the loop is the answer; a loop no base chain reaches is kept.
    expect(ours(h, "iptables-restore", ["*filter", ":A - [0:0]", "-A INPUT --bogus", "-A A -j A", "COMMIT", ""].join("\n")).stderr).toContain("line: 3");
    expect(ours(h, "iptables-restore", ["*filter", ":A - [0:0]", ":B - [0:0]", "-A A -j B", "-A B -j A", "COMMIT", ""].join("\n")).exit).toBe(0);
    expect(indexOf(h.config.netns["host"]!.ext.netfilter!.tables.filter!).graph.refs("A")).toBe(1);
  });
  it("-E, -F, -D and -X keep the check in step with the table", () => {
    const h = host();
    run(h, "iptables -N C\niptables -A C -j C\niptables -E C C2");
    expect(ours(h, "iptables -A INPUT -j C2").stderr).toContain("Too many links");
    run(h, "iptables -F C2\niptables -A INPUT -j C2");
    expect(ours(h, "iptables -A C2 -j C2").stderr).toContain("Too many links");
    run(h, "iptables -D INPUT -j C2\niptables -A C2 -j C2\niptables -D C2 1\niptables -A INPUT -j C2\niptables -N X\niptables -A C2 -j X");
    expect(ours(h, "iptables -A X -g C2").stderr).toContain("RULE_APPEND failed (Too many links): rule in chain X");
    run(h, "iptables -F\niptables -X\niptables -N C2\niptables -A C2 -j C2");
    expect(ours(h, "iptables -A INPUT -j C2").stderr).toContain("Too many links");
  });
});

describe("the loop check costs what the change touches", () => {
  it("levels and validation in the graph, built from a table", () => {
    const g = new JumpGraph("filter");
    const add = (chain: string, target: string) => g.addRule(chain, parseIptables(["-A", chain, "-j", target]).rule);
    add("INPUT", "A");
    add("A", "B");
    expect(g.levelOf("B")).toBe(2);
    expect(g.levelOf("C")).toBe(-1);
    expect(g.tooManyLinks("B", "A")).toBe(true);
    expect(g.tooManyLinks("C", "C")).toBe(false);
    expect(g.tooManyLinks("B", "C")).toBe(false);
  });
  it("the graph is carried from snapshot to snapshot, not rebuilt per command", () => {
    const h = host();
    run(h, "iptables -N A\niptables -A INPUT -j A");
    const filter = () => h.config.netns["host"]!.ext.netfilter!.tables.filter!;
    const g = indexOf(filter()).graph;
    run(h, "iptables -N B\niptables -A A -j B\niptables -D A -j B\niptables -A B -j B\niptables -E B C");
    expect(indexOf(filter()).graph).toBe(g);
    expect(g.levelOf("A")).toBe(1);
    expect(g.levelOf("C")).toBe(-1);
    expect(g.refs("C")).toBe(1);
    expect(() => h.exec("iptables -A A -j C")).toThrow(ToolError);
    expect(indexOf(filter()).graph).toBe(g);
    // A restore that changed the graph and then failed: its changes are undone on the same graph.
    expect(() => h.exec("iptables-restore --noflush", "host", "*filter\n:D - [0:0]\n-A A -j D\n-A A -j C\nCOMMIT\n")).toThrow(ToolError);
    expect(indexOf(filter()).graph).toBe(g);
    expect(g.refs("D")).toBe(0);
    expect(g.refs("C")).toBe(1);
    expect(g.levelOf("A")).toBe(1);
  });
  it("restoring a 2,000-service kube-proxy nat table and appending jumps to it stays linear", () => {
    const h = host();
    const lines = ["*nat", ":KUBE-SERVICES - [0:0]", ":KUBE-MARK-MASQ - [0:0]", "-A PREROUTING -j KUBE-SERVICES", "-A OUTPUT -j KUBE-SERVICES", "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000"];
    const n = 2000;
    for (let i = 0; i < n; i++) lines.push(`:KUBE-SVC-${i} - [0:0]`, `:KUBE-SEP-${i} - [0:0]`);
    for (let i = 0; i < n; i++) {
      lines.push(`-A KUBE-SERVICES -d 10.96.${i >> 8}.${i & 255}/32 -p tcp --dport 80 -j KUBE-SVC-${i}`);
      lines.push(`-A KUBE-SVC-${i} -j KUBE-SEP-${i}`, `-A KUBE-SEP-${i} -j KUBE-MARK-MASQ`, `-A KUBE-SEP-${i} -p tcp -j DNAT --to-destination 10.244.0.1:8080`);
    }
    lines.push("COMMIT", "");
    const t0 = performance.now();
    h.exec("iptables-restore", "host", lines.join("\n"));
    const restoreMs = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 0; i < 200; i++) h.exec(`iptables -t nat -A KUBE-SVC-${i} -j KUBE-SEP-${i + 1}`);
    const perRule = (performance.now() - t1) / 200;
    expect(restoreMs).toBeLessThan(20_000);
    expect(perRule).toBeLessThan(200);
  }, 60_000);
});

describe("the walker never runs away", () => {
  it("a compiled loop (which no command can make) ends in a drop at the jump stack's depth", () => {
    const { host: h, layers } = hostWithLayers();
    run(h, "iptables -N A\niptables -N B\niptables -A A -j B\niptables -A B -g A\niptables -A INPUT -j ACCEPT");
    const compiled = layers.netfilter.compiled("host", "filter")!;
    // Wire the loop in by hand, past the checks: INPUT -> A -> B -g A -> ...
    compiled.chains.get("INPUT")!.rules[0]!.kind = RuleKind.Jump;
    compiled.chains.get("INPUT")!.rules[0]!.jump = compiled.chains.get("A")!;
    const st: HookState = { hook: Hook.LocalIn, ns: "host", inDev: null, outDev: null, reason: "" };
    const seen: string[] = [];
    const v = doTable(compiled.chains.get("INPUT")!, blankPacket(), st, (_r, c, _i, verdict) => seen.push(`${c.name} ${verdict}`));
    expect(v).toBe(TV.Drop);
    expect(seen.length).toBe(NFT_JUMP_STACK_SIZE);
    expect(seen.at(-1)).toMatch(/DROP \(jump stack full\)$/);
  });
});
