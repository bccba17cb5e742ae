// reach against the real kernel: a kube-proxy node (pktpath gen, applied by the real
// tools inside namespaces this test creates) is snapshotted there, imported, and the
// endpoints reach lists are those the kernel's conntrack shows after repeated probes.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { generateKubeProxy } from "../../src/gen/kubeproxy.ts";
import { snapshotScript } from "../../src/node/snapshot.ts";
import { snapshotOnKernel } from "../../src/node/kernel.ts";
import { parseSnapshot } from "../../src/node/format.ts";
import { importSnapshot } from "../../src/node/import.ts";
import { loadScenario } from "../../src/scenario/load.ts";
import { main } from "../../src/cli/main.ts";

const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const canRun = process.getuid?.() === 0 && ["unshare", "ip", "iptables-restore", "conntrack", "curl", "python3"].every(has);

/** The generated node's commands as a shell script; this kernel has no dummy links, so eth0 is a veth pair. */
function nodeScript(yaml: string): string {
  const doc = parse(yaml) as { steps: { run?: string; expect?: unknown }[] };
  const out = ["set -e", "mkdir -p /run/netns; mount -t tmpfs none /run/netns"];
  for (const s of doc.steps) {
    if (!s.run || s.expect !== undefined) continue;
    for (const line of s.run.split("\n")) {
      if (/python3 -m http.server|^\s*curl /.test(line)) continue;
      out.push(line.replace(/type dummy$/, "type veth peer name eth0-peer").replace(/^ip link set eth0 up$/, "ip link set eth0 up; ip link set eth0-peer up"));
    }
  }
  return out.join("\n") + "\n";
}

describe.skipIf(!canRun)("reach agrees with the kernel (namespaces made here)", () => {
  it("a kube-proxy node in iptables mode: every endpoint reach lists, and only those, answer on the kernel", () => {
    const dir = mkdtempSync(join(tmpdir(), "pktpath-node-kernel-"));
    const services = 3;
    writeFileSync(join(dir, "node.sh"), nodeScript(generateKubeProxy({ mode: "iptables", services, endpoints: 3 }).yaml));
    writeFileSync(join(dir, "snap.sh"), snapshotScript());
    const probes = [...Array(services).keys()]
      .map((i) => `for n in $(seq 25); do ip netns exec client curl -s -m 1 -o /dev/null 10.96.0.${i + 1}:80 || true; done
echo "10.96.0.${i + 1}:80 $(conntrack -L -d 10.96.0.${i + 1} 2>/dev/null | sed -n 's/.*src=\\([0-9.]*\\) dst=10.244.255.2 sport=\\([0-9]*\\).*/\\1:\\2/p' | sort -u | tr '\\n' ' ')"`)
      .join("\n");
    writeFileSync(
      join(dir, "run.sh"),
      `sh ${dir}/node.sh >/dev/null
sh ${dir}/snap.sh ${dir}/node.json 2>/dev/null
ip netns exec pod-1 python3 -m http.server 8080 >/dev/null 2>&1 &
sleep 1.5
${probes}
`,
    );
    const r = spawnSync("unshare", ["--net", "--mount", "--pid", "--fork", "--mount-proc", "sh", join(dir, "run.sh")], { encoding: "utf8", timeout: 120_000 });
    expect(r.status).toBe(0);
    const kernel = new Map(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => {
          const [to, ...eps] = l.trim().split(" ");
          return [to!, eps.filter(Boolean).sort()];
        }),
    );
    let out = "";
    expect(main(["import", join(dir, "node.json"), "--listen", "-o", join(dir, "node.yaml")], { out: () => {}, err: () => {} })).toBe(0);
    expect(main(["reach", join(dir, "node.yaml"), "--from", "client", "--json"], { out: (s) => (out += s), err: () => {} })).toBe(0);
    const cells = JSON.parse(out).cells as { to: string; endpoints: string[]; outcomes: string[] }[];
    expect(cells).toHaveLength(services);
    for (const c of cells) {
      expect(c.outcomes).toEqual(["pod-1"]);
      // 25 probes through kube-proxy's uniform 3-way choice miss one endpoint with
      // probability 3 * (2/3)^25 < 0.02%.
      expect(c.endpoints.length).toBe(3);
      expect(kernel.get(c.to)).toEqual([...c.endpoints].sort());
    }
  }, 180_000);
  it("snapshot --kernel: a scenario built by real-kernel mode in namespaces, snapshotted inside them by the plan's last action", () => {
    const file = new URL("../../scenarios/netfilter/masquerade-and-filter.yaml", import.meta.url).pathname;
    const snap = snapshotOnKernel(loadScenario(file));
    expect(snap.backend).toBe("namespaces");
    const parsed = parseSnapshot("snap.json", snap.json);
    expect(parsed.netns.map((n) => n.name).sort()).toEqual(["host", "netns_dustin", "netns_leah", "netns_world"]);
    const imp = importSnapshot(parsed);
    // The last state of the scenario, as the kernel holds it (-I INPUT 1 first).
    expect(imp.yaml).toContain(":INPUT DROP [0:0]\n");
    const reject = imp.yaml.indexOf("-A INPUT -s 10.0.0.21/32 -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset\n");
    expect(reject).toBeGreaterThan(0);
    expect(reject).toBeLessThan(imp.yaml.indexOf("-A INPUT -i lo -j ACCEPT\n"));
    expect(imp.yaml).toContain("-A POSTROUTING -s 10.0.0.0/24 -o eth0 -j MASQUERADE\n");
    expect(imp.yaml).toMatch(/ip link add dev eth0 address \S+ type veth peer name veth_world netns netns_world\n/);
    // The scenario's servers and probes are not part of the node: nothing ran them.
    expect(parsed.netns.find((n) => n.name === "host")!.iptables_save!.out).toContain("[0:0] -A POSTROUTING");
  }, 180_000);
});
