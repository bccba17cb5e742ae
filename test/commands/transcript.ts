// A command transcript as the real tools print it ("$ LINE", its output, "rc=N"), made by
// the emulator or by the real tools in a fresh network namespace, and normalised for
// comparison (random MACs and ipset initvals masked, IPv6 and stderr summaries dropped).
import { spawnSync } from "node:child_process";
import { Host } from "../../src/host.ts";
import { defaultLayers } from "../../src/layers.ts";
import { ToolError } from "../../src/tool/tool.ts";
import { maskMacs, stripIPv6 } from "../helpers.ts";

/** Lines starting with "@" are set-up: run, but not shown. */
export function emulatorTranscript(lines: string[]): string {
  const host = new Host({ layers: defaultLayers() });
  let out = "";
  for (const raw of lines) {
    if (!raw.trim() || raw.startsWith("#")) continue;
    const quiet = raw.startsWith("@");
    const line = quiet ? raw.slice(1) : raw;
    let text = "";
    let rc = 0;
    try {
      for (const o of host.exec(line)) {
        text += o.stdout;
        if (o.status) rc = o.status;
      }
    } catch (e) {
      if (!(e instanceof ToolError)) throw e;
      text = e.message + "\n";
      rc = e.status;
    }
    if (!quiet) out += `$ ${line}\n${text}rc=${rc}\n`;
  }
  return out;
}

/** The same lines run by the real tools (as root) in a namespace of their own, each under a time limit. */
export function realTranscript(lines: string[], timeoutMs = 20000): string {
  const script = lines
    .filter((l) => l.trim() && !l.startsWith("#"))
    .map((l) => {
      if (l.startsWith("@")) return `${l.slice(1)} >/dev/null 2>&1 </dev/null`;
      const q = `'${l.replace(/'/g, `'\\''`)}'`;
      return `printf '%s\\n' ${q}; ( timeout 5 ${l} ) </dev/null 2>&1; echo rc=$?`;
    })
    .map((l) => (l.startsWith("printf") ? `printf '$ '; ${l}` : l))
    .join("\n");
  const r = spawnSync("unshare", ["--net", "--mount", "bash", "-c", `mount -t tmpfs none /run && mkdir -p /run/netns && ${script}`], {
    encoding: "utf8",
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  if (r.error) throw r.error;
  return r.stdout;
}

export function normalise(text: string): string {
  return stripIPv6(maskMacs(text))
    .split("\n")
    .filter((l) => !/^# /.test(l) && !/flow entries have been (shown|deleted)\.$/.test(l))
    .map((l) => l.replace(/initval 0x[0-9a-f]{8}/, "initval 0x-").replace(/ +$/, ""))
    .join("\n");
}

/** Whether this process may make namespaces and run the real tools (root, with iproute2 and iptables). */
export function canRunReal(): boolean {
  if (process.getuid?.() !== 0) return false;
  const r = spawnSync("unshare", ["--net", "sh", "-c", "ip link show lo && iptables -S && ipset version && conntrack -C"], { encoding: "utf8", timeout: 10000 });
  return r.status === 0;
}
