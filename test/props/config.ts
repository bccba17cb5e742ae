// The properties' run count and seed, shared by every file under test/props.
//
// `npm test` runs each property with its CI run count and the fixed seed below.
// `npm run test:props -- --runs 100000 [--seed N]` runs this file as a script: it
// sets PROPS_RUNS / PROPS_SEED and starts vitest on test/props, where every property
// reads them back through params() and timeoutMs().
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const SEED = Number(process.env.PROPS_SEED ?? 0x5eed);

/** PROPS_RUNS overrides every property's own CI run count. */
export const LONG = process.env.PROPS_RUNS !== undefined && process.env.PROPS_RUNS !== "";

export function runs(ciRuns: number): number {
  return LONG ? Number(process.env.PROPS_RUNS) : ciRuns;
}

/** fast-check parameters: the fixed seed, the run count, no time limit. */
export function params(ciRuns: number): { seed: number; numRuns: number } {
  return { seed: SEED, numRuns: runs(ciRuns) };
}

/** A test's time limit: its CI budget, or none to speak of in a long run. */
export function timeoutMs(ciMs: number): number {
  return LONG ? 2_000_000_000 : ciMs;
}

function main(argv: string[]): number {
  const env = { ...process.env };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--runs" || a === "--seed") {
      const v = argv[++i];
      if (v === undefined || !/^\d+$/.test(v)) {
        process.stderr.write(`test:props: ${a} needs a whole number\n`);
        return 2;
      }
      env[a === "--runs" ? "PROPS_RUNS" : "PROPS_SEED"] = v;
    } else rest.push(a);
  }
  const vitest = join(dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs");
  const r = spawnSync(process.execPath, [vitest, "run", fileURLToPath(new URL(".", import.meta.url)), ...rest], { stdio: "inherit", env });
  return r.status ?? 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exit(main(process.argv.slice(2)));
