// The scenario's shell vocabulary, in one place: which commands a scenario line may
// hold (tools, probes, servers, lines that only touch files), the wrappers in front of
// them (sudo, ip netns exec NS), and how to take those off. The emulator's host, the
// scenario runner and real-kernel mode's planner all read it from here.

/** The root namespace's name in outcomes and plans. */
export const HOST_NS = "host";

/** Probe clients: one exchange each, the only commands `expect:` may stand on. */
export const PROBE_TOOLS: ReadonlySet<string> = new Set(["curl", "wget", "ping", "nc", "netcat"]);

/** Servers (with a trailing `&`): python3 -m http.server, nc -l. */
export const SERVER_TOOLS: ReadonlySet<string> = new Set(["python3", "python", "nc", "netcat"]);

/** Commands that only touch files: accepted, reported as not modelled, never run. */
export const FILE_ONLY: ReadonlySet<string> = new Set(["mkdir", "echo", "tee", "touch", "cat", "rm", "cp", "mv", "chmod", "ln", "true", ":"]);

/**
 * Tools real-kernel mode runs as themselves (the real binary, from the argv the
 * emulator accepted). Every other modelled command (probes, servers, sleep, modprobe)
 * is carried out by real-kernel mode's own agents from its parsed form.
 */
export const KERNEL_EXEC_TOOLS: ReadonlySet<string> = new Set(["ip", "bridge", "sysctl", "iptables", "iptables-save", "iptables-restore", "ipset", "conntrack", "ipvsadm", "nft"]);

export type CommandKind = "probe" | "server" | "sleep" | "modprobe" | "file-only" | "tool";

/** A line's command with its wrappers taken off. */
export interface Unwrapped {
  /** The namespace the innermost command runs in (HOST_NS unless ip netns exec). */
  ns: string;
  /** The innermost command: what finally runs. */
  inner: string[];
  /** Each wrapper as written (`ip netns exec NS`), outermost first; sudo dropped. */
  wrappers: string[][];
}

/** `[sudo] [ip netns exec NS [sudo]]... CMD` -> the namespace and CMD. */
export function unwrap(argv: readonly string[]): Unwrapped {
  let a = argv.slice();
  let ns = HOST_NS;
  const wrappers: string[][] = [];
  for (;;) {
    while (a[0] === "sudo") a = a.slice(1);
    if (a[0] === "ip" && a[1] === "netns" && a[2] === "exec" && a.length > 4) {
      wrappers.push(a.slice(0, 4));
      ns = a[3]!;
      a = a.slice(4);
    } else return { ns, inner: a, wrappers };
  }
}

/** nc/netcat in listen mode (-l, alone or bundled). */
function ncListens(argv: readonly string[]): boolean {
  return argv.slice(1).some((x) => /^-[a-zA-Z]*l/.test(x));
}

/** What kind of command argv is, after its wrappers (null: not in the vocabulary). */
export function commandKind(argv: readonly string[], isTool: (name: string) => boolean): CommandKind | null {
  const a = unwrap(argv).inner;
  const name = a[0] ?? "";
  if (FILE_ONLY.has(name)) return "file-only";
  if (name === "nc" || name === "netcat") return ncListens(a) ? "server" : "probe";
  if (PROBE_TOOLS.has(name)) return "probe";
  if (SERVER_TOOLS.has(name)) return "server";
  if (name === "sleep") return "sleep";
  if (name === "modprobe") return "modprobe";
  return isTool(name) ? "tool" : null;
}

/** A probe command (the only kind `expect:` and `repeat:` may stand on). */
export function isProbe(argv: readonly string[]): boolean {
  const a = unwrap(argv).inner;
  const name = a[0] ?? "";
  if (!PROBE_TOOLS.has(name)) return false;
  return !((name === "nc" || name === "netcat") && ncListens(a));
}
