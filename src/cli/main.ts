// pktpath's command line (commander): run scenarios (emulator or real kernel), compare
// the two, generate scenarios; text or JSON, exit 0 / 1 / 2 as docs/scenarios.md says.
import { Command, CommanderError } from "commander";
import { COMMANDS } from "./commands/index.ts";
import { makeCtx } from "./context.ts";
import { processIo, type Io } from "./io.ts";

export { collectFiles } from "./context.ts";
export type { Io } from "./io.ts";

export function buildProgram(io: Io): { program: Command; ctx: ReturnType<typeof makeCtx> } {
  const ctx = makeCtx(io);
  const program = new Command("pktpath")
    .description(
      "An emulator of the Linux dataplane: runs scenarios (the commands you would type on a Linux " +
        "box, and the outcomes you expect) and traces every packet hop by hop through the kernel's hooks.",
    )
    .usage("COMMAND [options] PATH...")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: (s, write) => write(`pktpath: ${s.replace(/^error: /, "")}`),
    })
    .showHelpAfterError("(add --help for usage)");
  for (const c of COMMANDS) c.register(program, ctx);
  program.addHelpText(
    "after",
    "\nExit status: 0 every expectation held (check: every verdict agreed), 1 one did not, 2 bad input.\n" +
      "Scenario format: docs/scenarios.md. Progress goes to stderr on a terminal (--quiet: none);\n" +
      "colours only on a terminal, never with NO_COLOR set.\n\n" +
      "Examples:\n  pktpath run scenarios/\n  pktpath run --trace=brief scenarios/ipvs/walkthrough.yaml\n  pktpath run --help\n",
  );
  return { program, ctx };
}

/** `--trace=VIEW` becomes `--trace-view VIEW` (a bare --trace never takes the next word). */
function normalise(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^--trace=(.*)$/.exec(a);
    if (m) out.push("--trace-view", m[1]!);
    else out.push(a);
  }
  return out;
}

export function main(argv: string[], io: Io = processIo()): number {
  const { program, ctx } = buildProgram(io);
  if (argv.length === 0) {
    io.out(program.helpInformation());
    return 2;
  }
  try {
    program.parse(normalise(argv), { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return ctx.code;
}

const isEntry = process.argv[1] && /cli[/\\]main\.ts$/.test(process.argv[1]);
if (isEntry) {
  // A reader that stops early (| head) ends the output, not with a stack trace.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
  process.exitCode = main(process.argv.slice(2));
}
