// What every subcommand gets: the io, colours, progress, and where its exit status goes.
// A subcommand is one file under commands/ exporting a CliCommand, listed once in
// commands/index.ts.
import type { Command } from "commander";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadScenario } from "../scenario/load.ts";
import { ScenarioError, type Scenario } from "../scenario/types.ts";
import { colours, Progress, type Colours, type Io } from "./io.ts";

export interface Ctx {
  io: Io;
  colours: Colours;
  /** The exit status the action decided (0 when it sets none). */
  code: number;
  progress(quiet: boolean | undefined): Progress;
}

export function makeCtx(io: Io): Ctx {
  return { io, colours: colours(io), code: 0, progress: (quiet) => Progress.for(io, quiet === true) };
}

/** A subcommand: adds itself (options, help, examples, action) to the program. */
export interface CliCommand {
  name: string;
  register(program: Command, ctx: Ctx): void;
}

/** Scenario files under the given paths, in a stable order. */
export function collectFiles(paths: string[]): string[] {
  const files: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) throw new ScenarioError(p, 0, "no such file or folder");
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        const child = join(p, name);
        if (statSync(child).isDirectory() || name.endsWith(".yaml") || name.endsWith(".yml")) walk(child);
      }
    } else files.push(p);
  };
  for (const p of paths) walk(p.replace(/\/+$/, "") || "/");
  return files;
}

/**
 * Loads every scenario, or writes the FILE:LINE: message and returns null (exit 2).
 * Files of several MB tell `progress` how far they are read.
 */
export function loadAll(paths: string[], io: Io, progress?: Progress): Scenario[] | null {
  try {
    const update = progress ? (m: string) => progress.update(`loading ${m}`) : undefined;
    return collectFiles(paths).map((f) => loadScenario(f, undefined, update ? { progress: update } : {}));
  } catch (e) {
    if (e instanceof ScenarioError) {
      progress?.clear();
      io.err(`${e.message}\n`);
      return null;
    }
    throw e;
  } finally {
    progress?.clear();
  }
}

/** Adds an "Examples:" section to a command's --help. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText("after", `\nExamples:\n${lines.map((l) => `  ${l}`).join("\n")}\n`);
}
