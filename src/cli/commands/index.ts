// Every subcommand, in the order --help lists them. Adding one: a file in this folder
// exporting a CliCommand, and one line here.
import type { CliCommand } from "../context.ts";
import { runCommand } from "./run.ts";
import { checkCommand } from "./check.ts";
import { genCommand } from "./gen.ts";
import { nodeCommands } from "./node.ts";

export const COMMANDS: CliCommand[] = [
  runCommand,
  checkCommand,
  genCommand,
  nodeCommands,
];
