// `pktpath snapshot|import|trace|reach`: debug a real node (src/node). Options are declared
// here for --help; src/node/subcommands.ts validates them and does the work.
import type { Command } from "commander";
import { importMain, reachMain, snapshotMain, traceMain } from "../../node/subcommands.ts";
import { examples, type CliCommand, type Ctx } from "../context.ts";

type Opts = Record<string, string | string[] | boolean | undefined>;

/** Commander's parsed options back to the flags src/node/subcommands.ts reads. */
function argvOf(opts: Opts, flags: Record<string, string>, args: string[]): string[] {
  const argv: string[] = [];
  for (const [key, flag] of Object.entries(flags)) {
    const v = opts[key];
    if (v === undefined || v === false) continue;
    if (v === true) argv.push(flag);
    else for (const x of Array.isArray(v) ? v : [v]) argv.push(flag, x);
  }
  return [...argv, "--", ...args];
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export const nodeCommands: CliCommand = {
  name: "node",
  register(program: Command, ctx: Ctx) {
    const snap = program
      .command("snapshot")
      .summary("print a read-only sh script that snapshots a real node")
      .description(
        "Prints (or writes with -o) a POSIX sh script to run as root on a real node; it only reads, and writes one JSON file. " +
          "With --kernel SCENARIO: builds the scenario's node on a real kernel (fresh namespaces, or the VM backend for IPVS and dummy links), runs the script there, and writes its JSON.",
      )
      .option("-o, --output <file>", "write the script (with --kernel: the snapshot) to FILE")
      .option("--kernel <scenario>", "build SCENARIO in real-kernel mode and snapshot it there (root)")
      .action((o: Opts) => {
        ctx.code = snapshotMain(argvOf(o, { output: "-o", kernel: "--kernel" }, []), ctx.io);
      });
    examples(snap, ["pktpath snapshot -o snap.sh && sudo sh snap.sh node.json", "sudo pktpath snapshot --kernel scenarios/ipvs/walkthrough.yaml -o walkthrough.json"]);

    const imp = program
      .command("import")
      .summary("turn a snapshot into a scenario that rebuilds the node")
      .description("Writes a scenario whose run: steps rebuild the snapshotted node; what pktpath does not model is listed at its top.")
      .argument("<snapshot>", "the JSON file the snapshot script wrote")
      .option("-o, --output <file>", "write the scenario to FILE")
      .option("--listen", "add a listener on every Service endpoint")
      .action((file: string, o: Opts) => {
        ctx.code = importMain(argvOf(o, { output: "-o", listen: "--listen" }, [file]), ctx.io);
      });
    examples(imp, ["pktpath import node.json --listen -o node.yaml"]);

    const tr = program
      .command("trace")
      .summary("one probe through a scenario's node, hop by hop")
      .argument("<file>", "a scenario (e.g. from pktpath import)")
      .requiredOption("--from <ns|addr>", "the client's namespace or address")
      .requiredOption("--to <addr:port>", "the destination")
      .option("-p, --protocol <proto>", "tcp, udp or icmp", "tcp")
      .option("--sport <port>", "the client's source port")
      .option("--all-packets", "every packet of the exchange, not only the first and its reply")
      .option("--json", "JSON output")
      .action((file: string, o: Opts) => {
        const flags = { from: "--from", to: "--to", protocol: "-p", sport: "--sport", allPackets: "--all-packets", json: "--json" };
        ctx.code = traceMain(argvOf(o, flags, [file]), ctx.io);
      });
    examples(tr, ["pktpath trace node.yaml --from client --to 10.96.0.10:53 -p udp"]);

    const re = program
      .command("reach")
      .summary("a reachability matrix: every source to every service, with the endpoints reached")
      .argument("<file>", "a scenario (e.g. from pktpath import)")
      .option("--from <list>", "sources: namespaces or addresses, comma separated", collect)
      .option("--to <list>", "destinations ADDR:PORT, comma separated (default: every ClusterIP, NodePort and IPVS service)", collect)
      .option("-p, --protocol <proto>", "tcp or udp")
      .option("--json", "JSON output")
      .option("--expect <file>", "compare with a saved --json matrix; exit 1 on a difference")
      .option("--max-branches <n>", "random choices enumerated per pair, at most", "1024")
      .action((file: string, o: Opts) => {
        const flags = { from: "--from", to: "--to", protocol: "-p", json: "--json", expect: "--expect", maxBranches: "--max-branches" };
        ctx.code = reachMain(argvOf(o, flags, [file]), ctx.io);
      });
    examples(re, ["pktpath reach node.yaml --from client,host --json > matrix.json", "pktpath reach node.yaml --expect matrix.json"]);
  },
};
