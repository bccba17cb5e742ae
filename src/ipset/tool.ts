// ipset: the tool a user types. The parsing and the kernel model live in src/ipset/; this
// turns its errors into ToolError with ipset's own lines.
import { ToolError, type Tool } from "../tool/tool.ts";
import { ipsetCommand, newSession } from "./command.ts";
import { IpsetError } from "./errors.ts";
import { IPSET_VERSION } from "./consts.ts";
import type { IpsetRuntime } from "./store.ts";

/** The text ipset prints for an error (after which it exits 1, or 2 for a parameter problem). */
export function ipsetErrorText(e: IpsetError): string {
  const text = `ipset v${IPSET_VERSION}: ${e.message}`;
  return e.kind === "parameter" ? `${text}\nTry \`ipset help' for more information.` : text;
}

/**
 * `ipset test` prints "X is in set S." or "X is NOT in set S."; on a miss the real tool
 * exits 1, which the output's status carries (the line is an answer, not an error).
 */
export function ipsetTool(rt: IpsetRuntime): Tool {
  return (argv, ctx) => {
    try {
      const session = newSession();
      session.stdin = ctx.stdin;
      const stdout = ipsetCommand(rt, ctx.ns, argv.slice(1), session);
      return session.status ? { stdout, status: session.status } : { stdout };
    } catch (e) {
      if (e instanceof IpsetError) {
        // -q (-quiet) silences ipset's error messages too; the exit status stays.
        if (argv.some((a) => a === "-q" || a === "-quiet" || a === "--quiet")) return { stdout: "", status: e.kind === "parameter" ? 2 : 1 };
        throw new ToolError(ipsetErrorText(e), e.kind === "parameter" ? 2 : 1);
      }
      throw e;
    }
  };
}
