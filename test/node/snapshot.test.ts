// pktpath snapshot: the script is POSIX sh, only reads, and (as root, inside namespaces
// this test creates) captures a node that pktpath import rebuilds.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { snapshotScript } from "../../src/node/snapshot.ts";
import { parseSnapshot } from "../../src/node/format.ts";
import { importSnapshot } from "../../src/node/import.ts";
import { main } from "../../src/cli/main.ts";
import { snapshotPlan } from "../../src/node/kernel.ts";
import { runEntries } from "../../src/realkernel/vm/bundle.ts";
import type { KernelPlan } from "../../src/realkernel/types.ts";

const script = snapshotScript();
const dir = mkdtempSync(join(tmpdir(), "pktpath-snapshot-"));
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

describe("the snapshot script", () => {
  it("is valid POSIX sh (dash -n)", () => {
    const f = join(dir, "snap.sh");
    writeFileSync(f, script);
    const shell = has("dash") ? "dash" : "sh";
    const r = spawnSync(shell, ["-n", f], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
  it("holds no command that changes the node", () => {
    const code = script
      .split("\n")
      .filter((l) => !/^\s*#/.test(l))
      .join("\n");
    const writes = [
      /\bip (-\S+ )*(link|l|address|addr|a|route|r|neigh|n|netns|rule) (add|del|delete|set|flush|change|replace|append)\b/,
      /\bbridge (link|fdb|vlan) (set|add|del)\b/,
      /\bsysctl (-w|--write|-p)\b/,
      /\bmodprobe\b|\binsmod\b|\brmmod\b/,
      /\biptables(-legacy|-nft)? (-t \S+ )?-[AIDFXNPRZE]\b/,
      /\b(iptables|ipset|ip6tables)(-legacy|-nft)?-restore\b|\bipset restore\b/,
      /\bipset (add|create|del|flush|destroy|rename|swap|-A|-N|-D|-F|-X)\b/,
      /\bipvsadm (-[AaEeDdCRZ]|--set|--add|--edit|--delete|--clear|--restore)\b/,
      /\bnft (add|create|insert|replace|delete|destroy|flush|reset|-f)\b/,
      /\bconntrack (-[DFIU]|--delete|--flush|--create|--update)\b/,
      /\btee\b|\bdd\b|\bmount\b|\bumount\b|\bunshare\b|\bkill\b/,
    ];
    for (const w of writes) expect(code).not.toMatch(w);
    // The only redirections: the output file, /dev/null and standard error (awk's too,
    // through `| "cat 1>&2"`; a number after ">" is one of awk's comparisons).
    const targets = [...code.matchAll(/[^<>&2-]>{1,2}\s*("[^"]*"|[^\s;"]+)/g)].map((m) => m[1]).filter((t) => !/^\d+\)?$/.test(t!));
    expect(new Set(targets)).toEqual(new Set(['"$OUT"', "/dev/null", "&2"]));
  });
  it("lists what it reads at its top", () => {
    for (const cmd of ["ip -j -d link show", "ip -j address show", "ip -j route show table all", "ip -j neigh show", "bridge -j link show", "iptables-save -c", "iptables -V", "ipset save", "ipvsadm -Sn", "ipvsadm -Ln --timeout", "nft list tables", "conntrack -L"]) {
      expect(script.slice(0, script.indexOf("set -u"))).toContain(`#   ${cmd}`);
    }
  });
  it("pktpath snapshot prints it; -o writes it", () => {
    let out = "";
    let err = "";
    expect(main(["snapshot"], { out: (s) => (out += s), err: (s) => (err += s) })).toBe(0);
    expect(out).toBe(script);
    const f = join(dir, "s.sh");
    expect(main(["snapshot", "-o", f], { out: (s) => (out += s), err: (s) => (err += s) })).toBe(0);
    expect(readFileSync(f, "utf8")).toBe(script);
    expect(err).toContain(`pktpath snapshot: wrote ${f}; run it as root on the node`);
  });
});

describe("snapshot --kernel: the plan and the VM archive", () => {
  const plan: KernelPlan = {
    file: "n.yaml",
    budgetMs: 1,
    actions: [
      { kind: "exec", line: 2, text: "ip link add dev br0 type bridge", ns: "host", argv: ["ip", "link", "add", "dev", "br0", "type", "bridge"], stdin: null, listing: false },
      { kind: "server", line: 3, text: "python3 -m http.server 80 &", ns: "host", proto: "tcp", bind: null, port: 80, app: "http", tool: "python3" },
      { kind: "note", line: 4, text: "cat f", ns: "host", note: "not run (touches only files): cat f" },
      { kind: "sleep", line: 5, text: "sleep 1", ns: "host", ms: 1000 },
      { kind: "probe", line: 6, text: "curl 10.0.0.1", ns: "host", rep: 0, probe: {} as never },
    ],
  };
  it("keeps the setup commands, leaves out servers, probes and sleeps, and ends with the one snapshot action", () => {
    const p = snapshotPlan(plan);
    expect(p.actions.map((a) => a.kind)).toEqual(["exec", "note", "snapshot"]);
    expect(p.actions[2]).toMatchObject({ kind: "snapshot", line: 6, ns: "host" });
    expect(p.budgetMs).toBeGreaterThan(240_000);
  });
  it("--kernel: a missing file, a folder and a bad line are refused with exit 2, no stack", () => {
    const run = (f: string) => {
      let err = "";
      const code = main(["snapshot", "--kernel", f], { out: () => {}, err: (x) => (err += x) });
      return { code, err };
    };
    expect(run(join(dir, "none.yaml"))).toEqual({ code: 2, err: `pktpath snapshot: ${join(dir, "none.yaml")}: No such file or directory\n` });
    expect(run(dir)).toEqual({ code: 2, err: `pktpath snapshot: ${dir}: a folder, not a scenario file\n` });
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "name: x\nsteps:\n  - run: ip link add dev x type bogus\n");
    expect(run(bad)).toEqual({ code: 2, err: `pktpath snapshot: ${bad}:3: Error: Unknown device type.\n` });
  });
  it("the VM archive carries pktpath's script only for a snapshot run", () => {
    const paths = (e: { path: string }[]) => e.map((x) => x.path);
    expect(paths(runEntries([{ id: "a", plan }], "// inner"))).not.toContain("pktpath/snapshot.sh");
    const withScript = runEntries([{ id: "a", plan: snapshotPlan(plan) }], "// inner", script);
    expect(withScript.find((e) => e.path === "pktpath/snapshot.sh")?.data).toBe(script);
  });
});

// Runs on this machine's kernel inside namespaces this test creates (root, unshare).
const canRun = process.getuid?.() === 0 && has("unshare") && has("ip") && has("iptables-save");
describe.skipIf(!canRun)("the snapshot script on a real kernel (namespaces made here)", () => {
  it("captures every namespace, veth peers across them, routes and iptables rules", () => {
    const setup = `set -e
mkdir -p /run/netns; mount -t tmpfs none /run/netns
ip link set lo up
ip link add dev br0 type bridge
ip address add 10.1.0.1/24 dev br0
ip link set br0 up
ip netns add pod
ip link add dev vpod type veth peer name eth0 netns pod
ip link set vpod master br0
ip link set vpod up
ip -n pod link set eth0 up
ip -n pod address add 10.1.0.2/24 dev eth0
ip -n pod route add default via 10.1.0.1
iptables -t nat -A POSTROUTING -s 10.1.0.0/24 ! -o br0 -j MASQUERADE
`;
    writeFileSync(join(dir, "setup.sh"), setup);
    writeFileSync(join(dir, "snap.sh"), script);
    const out = join(dir, "node.json");
    const r = spawnSync("unshare", ["--net", "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c", `sh ${dir}/setup.sh && sh ${dir}/snap.sh ${out}`], { encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`pktpath-snapshot: wrote ${out}`);
    const snap = parseSnapshot(out, readFileSync(out, "utf8"));
    expect(snap.netns.map((n) => n.name)).toEqual(["host", "pod"]);
    const imp = importSnapshot(snap);
    expect(imp.yaml).toMatch(/ip link add dev vpod address \S+ type veth peer name eth0 netns pod\n/);
    expect(imp.yaml).toContain("ip -n pod route add default via 10.1.0.1 dev eth0\n");
    expect(imp.yaml).toContain("-A POSTROUTING -s 10.1.0.0/24 ! -o br0 -j MASQUERADE\n");
  }, 90_000);
  it("names the tools that are missing, and still writes the file", () => {
    const bin = join(dir, "bin");
    const tools = ["sh", "awk", "sed", "tr", "grep", "readlink", "ls", "cat", "date", "uname", "head", "ip", "nsenter", "test"];
    spawnSync("sh", ["-c", `mkdir -p ${bin} && for t in ${tools.join(" ")}; do p=$(command -v $t) && ln -sf "$p" ${bin}/$t; done`]);
    const out = join(dir, "min.json");
    const r = spawnSync("unshare", ["--net", "--mount", "--pid", "--fork", "--mount-proc", "env", `PATH=${bin}`, "sh", join(dir, "snap.sh"), out], { encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("pktpath-snapshot: host: iptables-save: not installed\n");
    expect(r.stderr).toContain("pktpath-snapshot: host: bridge: not installed\n");
    const snap = parseSnapshot(out, readFileSync(out, "utf8"));
    expect(snap.netns[0]!.iptables_save).toBeNull();
    expect(importSnapshot(snap).notModelled).toContain("the snapshot could not read: host: iptables-save: not installed");
  }, 90_000);
  it.skipIf(!has("busybox"))("runs under busybox sh, with iproute2's ip (not busybox's applet) and the tools by their path", () => {
    // The VM backend's shell is busybox: its sh runs its own applets before $PATH.
    const out = join(dir, "bb.json");
    const setup = "mkdir -p /run/netns; mount -t tmpfs none /run/netns; ip netns add pod; ip link add dev v0 type veth peer name eth0 netns pod";
    const r = spawnSync("unshare", ["--net", "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c", `${setup} && busybox sh ${join(dir, "snap.sh")} ${out}`], { encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(0);
    const snap = parseSnapshot(out, readFileSync(out, "utf8"));
    expect(snap.netns.map((n) => n.name)).toEqual(["host", "pod"]);
    expect(snap.netns[0]!.link!.rc).toBe(0);
    expect(snap.netns[1]!.link!.out).toContain('"ifname":"eth0"');
  }, 90_000);
});
