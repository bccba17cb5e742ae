// fuzz-scenarios: generated scenario TEXT — random command lines of the modelled tools
// with their options, quoting, here-documents, wrappers, shell operators, hostile words
// (files, shells, command substitution), and broken YAML shapes — through the CLI as a
// user runs it. Whatever the text: exit status 0, 1 or 2; a FILE:LINE: message for 2;
// no stack trace; bounded time and memory. In the emulator always; in real-kernel mode
// (as root, namespaces backend) for a few runs, where nothing may appear outside the
// run's private directories either.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { unavailableReason } from "../../src/realkernel/runner.ts";
import { params, timeoutMs } from "./config.ts";

const DIR = mkdtempSync(join(tmpdir(), "pktpath-fuzz-"));
const CANARY = join(DIR, "canary");

const WORDS: Record<string, string[]> = {
  ip: ["link", "addr", "address", "route", "neigh", "netns", "add", "del", "set", "show", "dev", "up", "down", "type", "veth", "bridge", "dummy", "peer", "name", "master", "via", "default", "exec", "lo", "a", "b", "br0", "v0", "v1", "10.0.0.1/24", "10.0.0.0/24", "-n", "-br", "-4", "-all", "-b", "-bat", "-force", "netns", "1", "/proc/1/ns/net"],
  bridge: ["link", "fdb", "set", "dev", "v0", "hairpin", "on", "off", "show", "-b", "monitor"],
  sysctl: ["-w", "-q", "-qw", "-n", "-p", "--system", "--load=/etc/sysctl.conf", "net.ipv4.ip_forward=1", "net.ipv4.ip_forward", "net/../kernel/domainname=x", "net.//.kernel.domainname=x", "kernel.domainname=x", "net.bridge.bridge-nf-call-iptables=1"],
  modprobe: ["br_netfilter", "ip_vs", "-r", "-a", "nosuch"],
  iptables: ["-t", "nat", "filter", "-A", "-I", "-D", "-N", "-X", "-F", "-P", "-L", "-S", "-n", "-v", "INPUT", "FORWARD", "POSTROUTING", "PREROUTING", "X", "-s", "10.0.0.0/24", "-p", "tcp", "--dport", "80", "10:5", "-j", "ACCEPT", "DROP", "MASQUERADE", "DNAT", "--to-destination", "10.0.0.2:80", "-m", "comment", "--comment", "-M", "/bin/sh", "--modprobe=/bin/sh", "-g"],
  "iptables-save": ["-c", "-t", "nat", "-f", CANARY, `--file=${CANARY}`],
  ipset: ["create", "add", "del", "test", "list", "save", "flush", "destroy", "s", "hash:ip", "hash:net", "10.0.0.1", "timeout", "5", "-exist", "-file", "-f", CANARY, "comment"],
  ipvsadm: ["-A", "-a", "-D", "-L", "-n", "-t", "-r", "-s", "rr", "10.9.9.9:80", "10.0.0.2:80", "-m", "--start-daemon", "master"],
  conntrack: ["-L", "-F", "-D", "-p", "tcp", "--dport", "80", "abc", "-R", CANARY, "-E"],
  curl: ["-s", "-m", "1", "10.0.0.2:80", "http://10.0.0.1:8080/x", "127.0.0.1:9", "https://x", "-o", CANARY, "$(touch " + CANARY + ")"],
  nc: ["-z", "-u", "-w", "1", "-l", "-p", "10.0.0.2", "80", "8080"],
  ping: ["-c", "1", "2", "-W", "1", "127.0.0.1", "10.0.0.2", "10000000"],
  python3: ["-m", "http.server", "8080", "--bind", "10.0.0.1", "-c", "import os"],
  sleep: ["0.1", "1", "300", "x"],
  sh: ["-c", `'touch ${CANARY}'`],
  touch: [CANARY],
};

const MANGLED = ["", "-", "--", "999999999999999999999", "-1", "10.0.0.256", "'", '"', "\\", "'a b'", "$(whoami)", "`id`", "${HOME}", ";", "&", "&&", "|", ">", CANARY, "<", "ü", "\t", "#", "((((((((((", "x".repeat(300)];

const wrapperArb = fc.constantFrom("", "", "", "sudo ", "ip netns exec a ", "ip netns exec a sudo ", "ip -all netns exec ", "ip netns exec 1 ", "echo x | ");

const commandArb = fc.constantFrom(...Object.keys(WORDS)).chain((tool) =>
  fc
    .record({
      wrapper: wrapperArb,
      words: fc.array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...WORDS[tool]!) }, { weight: 1, arbitrary: fc.constantFrom(...MANGLED) }), { maxLength: 8 }),
      tail: fc.constantFrom("", "", "", " &", " ; ip link", " && true", " # comment", " \\"),
      heredoc: fc.option(fc.constantFrom("*nat\n-A POSTROUTING -j MASQUERADE\nCOMMIT", "*filter\n-A INPUT -M /bin/sh\nCOMMIT", "create s hash:ip\nadd s 10.0.0.1", "netns exec a sh -c id", "garbage"), { freq: 5 }),
    })
    .map(({ wrapper, words, tail, heredoc }) => {
      const head = heredoc !== null ? { iptables: "iptables-restore", ipset: "ipset restore", ipvsadm: "ipvsadm -R", ip: "ip -b -" }[tool] : undefined;
      const line = `${wrapper}${head ?? tool} ${words.join(" ")}${head ? " <<EOF" : tail}`.trimEnd();
      return head ? [line, ...heredoc!.split("\n"), "EOF"] : [line];
    }),
);

/** A well-formed base the commands can build on: two namespaces and a bridge. */
const BASE = ["ip netns add a", "ip netns add b", "ip link add br0 type bridge", "ip link set br0 up", "ip link set lo up"];

type GenStep = { run: string[] } | { advance: string } | { probe: string[]; expect: string; repeat: number };

const stepArb: fc.Arbitrary<GenStep> = fc.oneof(
  { weight: 6, arbitrary: fc.array(commandArb, { minLength: 1, maxLength: 4 }).map((cmds) => ({ run: cmds.flat() })) },
  { weight: 2, arbitrary: fc.record({ probe: commandArb, expect: fc.constantFrom("timeout", "refused", "refsued", "reply", "a", "host", "{server: a, client_ip: 10.0.0.1}", "{client_ip: 999.1.1.1}", "[a, b]", "{}"), repeat: fc.constantFrom(0, 0, 1, 2, -1) }) },
  { weight: 1, arbitrary: fc.constantFrom("90s", "500ms", "1h", "abc", "-5s", "0s").map((a) => ({ advance: a })) },
);

/** Top-level shapes, good and bad. */
const shapeArb = fc.oneof({ weight: 12, arbitrary: fc.constant("good") }, { weight: 1, arbitrary: fc.constantFrom("no-name", "steps-map", "unknown-key", "tab", "bad-indent", "empty", "scalar", "step-scalar") });

function indentRun(lines: string[]): string {
  return `  - run: |\n${lines.map((l) => `      ${l}`).join("\n")}\n`;
}

function render(shape: string, steps: GenStep[]): string {
  let body = indentRun(BASE);
  for (const st of steps) {
    if ("run" in st) body += indentRun(st.run);
    else if ("advance" in st) body += `  - advance: ${st.advance}\n`;
    else {
      body += indentRun(st.probe) + `    expect: ${st.expect}\n`;
      if (st.repeat) body += `    repeat: ${st.repeat}\n`;
    }
  }
  switch (shape) {
    case "no-name":
      return `steps:\n${body}`;
    case "steps-map":
      return `name: fuzz\nsteps:\n  run: ip link\n`;
    case "unknown-key":
      return `name: fuzz\nstpes: []\nsteps:\n${body}`;
    case "tab":
      return `name: fuzz\nsteps:\n\t- run: ip link\n`;
    case "bad-indent":
      return `name: fuzz\nsteps:\n${body.replace(/\n {6}/, "\n  ")}`;
    case "empty":
      return "";
    case "scalar":
      return "just a string\n";
    case "step-scalar":
      return `name: fuzz\nsteps:\n  - ip link\n${body}`;
    default:
      return `name: fuzz\nsteps:\n${body}`;
  }
}

const scenarioArb = fc.record({ shape: shapeArb, steps: fc.array(stepArb, { maxLength: 5 }) }).map(({ shape, steps }) => render(shape, steps));

let n = 0;
function runCli(mode: string[], text: string): { code: number; out: string; err: string; ms: number; file: string } {
  const file = join(DIR, `s${n++}.yaml`);
  writeFileSync(file, text);
  let out = "";
  let err = "";
  const t = Date.now();
  const code = main([...mode, file], { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err, ms: Date.now() - t, file };
}

function checkRun(r: { code: number; out: string; err: string; ms: number; file: string }, limitMs: number): void {
  const ctx = `${readableText(r.file)}\n--- exit ${r.code}\n${r.err}`;
  expect([0, 1, 2], ctx).toContain(r.code);
  if (r.code === 2) expect(r.err, ctx).toMatch(new RegExp(`^${r.file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+: `, "m"));
  expect(r.err + r.out, ctx).not.toMatch(/\n\s+at \S+ \(|(TypeError|RangeError|ReferenceError|Maximum call stack)/);
  expect(r.ms, ctx).toBeLessThan(limitMs);
  expect(existsSync(CANARY), ctx).toBe(false);
}

function readableText(file: string): string {
  return `scenario ${file}:\n${readFileSync(file, "utf8")}`;
}

describe("fuzz-scenarios", () => {
  it(
    "emulator: any generated scenario text exits 0, 1 or 2 (FILE:LINE: for 2), no stack trace, bounded time and memory",
    () => {
      const heapBefore = process.memoryUsage().heapUsed;
      fc.assert(
        fc.property(scenarioArb, (text) => {
          const r = runCli(["run"], text);
          checkRun(r, 5000);
        }),
        params(200),
      );
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(512 * 1024 * 1024);
    },
    timeoutMs(240_000),
  );

  const why = unavailableReason(["ping"]);
  it.skipIf(why !== null)(
    "real kernel (namespaces backend, as root): the same, and nothing written outside the run",
    () => {
      const kernelRuns = (n: number) => ({ ...params(n), numRuns: Math.min(params(n).numRuns, n) });
      const check = (text: string) => checkRun(runCli(["run", "--kernel"], text), 60_000);
      // Scenarios the emulator accepts whole (these reach the kernel), and raw ones.
      const accepted = scenarioArb.filter((text) => runCli(["run"], text).code !== 2);
      fc.assert(fc.property(accepted, check), kernelRuns(5));
      fc.assert(fc.property(scenarioArb, check), kernelRuns(3));
      // Only the scenario files this test wrote.
      expect(readdirSync(DIR).filter((f) => !/^s\d+\.yaml$/.test(f))).toEqual([]);
    },
    timeoutMs(400_000),
  );
});
