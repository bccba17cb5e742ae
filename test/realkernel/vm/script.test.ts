// One shell script in the VM (src/realkernel/vm/script.ts, used by the bench's kernel
// suite): the per-run archive, the console's script event, and one real boot (skipped,
// with the reason printed, when the image is not built or not root): the script runs
// the image's real tools in a namespace of the guest, reads its input files, and is
// killed after its budget with what it printed kept; no QEMU is left behind.
import { describe, expect, it } from "vitest";
import { qemuChildren } from "./qemu-children.ts";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { cpioGz, readCpioNewc } from "../../../src/realkernel/vm/cpio.ts";
import { parseConsole, VM_MARKER } from "../../../src/realkernel/vm/console.ts";
import { loadImage } from "../../../src/realkernel/vm/image.ts";
import { runVmScript, scriptEntries } from "../../../src/realkernel/vm/script.ts";

describe("VM script: the per-run archive", () => {
  it("holds the script agent as guest.mjs, the job, the script and its files", () => {
    const files = readCpioNewc(gunzipSync(cpioGz(scriptEntries({ script: "echo hi\n", files: { "add0.2": "x\n", sets: "y\n" }, timeoutMs: 5000 }))));
    const at = (p: string) => files.find((f) => f.path === p);
    expect(at("pktpath/guest.mjs")!.data.toString()).toBe(readFileSync(new URL("../../../src/realkernel/vm/script-guest.mjs", import.meta.url), "utf8"));
    expect(JSON.parse(at("pktpath/script.json")!.data.toString())).toEqual({ timeoutMs: 5000 });
    expect(at("pktpath/script.sh")!.data.toString()).toBe("echo hi\n");
    expect(at("pktpath/files/add0.2")!.data.toString()).toBe("x\n");
    expect(at("pktpath/files/sets")!.data.toString()).toBe("y\n");
    expect(files.some((f) => f.path === "pktpath/batch.json")).toBe(false);
  });
  it("refuses file names that are paths", () => {
    for (const bad of ["../x", "a/b", "..", ""]) expect(() => scriptEntries({ script: "", files: { [bad]: "" }, timeoutMs: 1 })).toThrow(/bad file name/);
  });
  it("the console's script event", () => {
    const ev = { event: "script", elapsedMs: 12, status: 0, timedOut: false, stdout: "T 0.0 1 2\n", stderr: "" };
    const c = parseConsole(`noise\n${VM_MARKER}${JSON.stringify(ev)}\r\n`);
    expect(c.events).toEqual([ev]);
  });
});

const img = loadImage();
const why = typeof process.getuid === "function" && process.getuid() !== 0 ? "not root" : "missing" in img ? img.missing : null;
if (why) console.warn(`test/realkernel/vm/script.test.ts: VM boot skipped: ${why}`);


describe.skipIf(why !== null)("VM script: one boot", () => {
  it(
    "runs the real tools in a namespace of the guest, with its files, and is killed after its budget",
    () => {
      if ("missing" in img) return;
      const script = [
        'ip() { /usr/bin/ip "$@"; }',
        "ip -V",
        "ip link add dev kube-ipvs0 type dummy && ip -batch $D/addrs && ip -4 -o address show dev kube-ipvs0 | wc -l",
        "ipvsadm -R < $D/vs && ipvsadm -Ln | grep -c '^TCP '",
        "echo netns $(readlink /proc/self/ns/net)",
        "echo slept; sleep 600; echo woke",
      ].join("\n");
      const addrs = "address add 10.96.0.1/32 dev kube-ipvs0\naddress add 10.96.0.2/32 dev kube-ipvs0\n";
      const vs = "-A -t 10.96.0.1:80 -s rr\n-a -t 10.96.0.1:80 -r 10.244.1.2:8080 -m -w 1\n-A -t 10.96.0.2:80 -s rr\n";
      const r = runVmScript(img, { script, files: { addrs, vs }, timeoutMs: 30_000 });
      expect(r.error).toBeNull();
      expect(r.timedOut).toBe(true);
      const out = r.stdout!.split("\n");
      expect(out[0]).toMatch(/^ip utility, iproute2-/);
      expect(out.slice(1, 3)).toEqual(["2", "2"]);
      expect(out[3]).toMatch(/^netns net:\[\d+\]$/);
      expect(out).toContain("slept");
      expect(out).not.toContain("woke");
      expect(r.kernel).toBe(img.kernel);
      expect(qemuChildren()).toEqual([]);
    },
    300_000,
  );
});
