// Scenarios in one VM boot are independent: a module one of them loads (br_netfilter,
// by modprobe or through xt_physdev) must not change the next one's verdicts. One batch,
// run in both orders; B's bridged probe must pass iptables' FORWARD DROP policy by
// (without br_netfilter) both times, as the emulator says. Two VM boots (a minute or
// two each under TCG).
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../../src/scenario/load.ts";
import { runKernelScenarios, vmBackend } from "../../../src/realkernel/runner.ts";

const vm = vmBackend();
const why = typeof process.getuid === "function" && process.getuid() !== 0 ? "not root" : "missing" in vm ? vm.missing : null;
if (why) console.warn(`test/realkernel/vm/isolation.test.ts: VM test skipped: ${why}`);

const A = loadScenario(
  "a.yaml",
  `name: loads br_netfilter
steps:
  - run: |
      ip link add d0 type dummy
      modprobe br_netfilter
  - run: sysctl net.bridge.bridge-nf-call-iptables
`,
);

/** Loads nothing itself, but xt_physdev asks the kernel for br_netfilter (once a boot). */
const P = loadScenario(
  "p.yaml",
  `name: a physdev rule
steps:
  - run: |
      ip link add d0 type dummy
      iptables -A FORWARD -m physdev --physdev-is-bridged -j ACCEPT
  - run: iptables -S FORWARD
`,
);

const B = loadScenario(
  "b.yaml",
  `name: bridged traffic skips iptables without br_netfilter
steps:
  - run: |
      ip link add d0 type dummy
      ip link add br0 type bridge
      ip link set br0 up
      ip netns add n1
      ip netns add n2
      ip link add v1 type veth peer name e1
      ip link add v2 type veth peer name e2
      ip link set e1 netns n1
      ip link set e2 netns n2
      ip link set v1 master br0
      ip link set v2 master br0
      ip link set v1 up
      ip link set v2 up
      ip netns exec n1 ip address add 10.0.0.1/24 dev e1
      ip netns exec n2 ip address add 10.0.0.2/24 dev e2
      ip netns exec n1 ip link set e1 up
      ip netns exec n2 ip link set e2 up
      ip netns exec n2 python3 -m http.server 8080 &
      iptables -P FORWARD DROP
  - run: ip netns exec n1 curl -m 5 10.0.0.2:8080
    expect: n2
  - run: iptables -nvL FORWARD
`,
);

describe.skipIf(why !== null)("VM backend: scenarios are isolated", () => {
  it(
    "a module loaded by one scenario does not change the next one's verdicts, in either order",
    () => {
      for (const order of [[A, P, B], [B, P, A]]) {
        const reports = runKernelScenarios(order);
        const a = reports.find((r) => r.file === "a.yaml")!;
        const b = reports.find((r) => r.file === "b.yaml")!;
        console.log(`order ${order.map((s) => s.file).join(", ")}: ${b.notes[0]}\n${b.probes.map((p) => `${p.command}: ${p.outcome} ${p.error}`).join("\n")}\n${b.listings.map((l) => l.output).join("\n")}`);
        expect(a.error).toBeNull();
        expect(a.listings[0]?.output).toBe("net.bridge.bridge-nf-call-iptables = 1\n");
        expect(b.error).toBeNull();
        expect(b.probes.map((p) => p.outcome)).toEqual(["n2"]);
        expect([b.passed, b.failed]).toEqual([1, 0]);
        expect(b.notes[0]).toMatch(/one boot for 3 scenarios/);
      }
    },
    900_000,
  );
});
