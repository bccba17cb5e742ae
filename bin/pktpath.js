#!/usr/bin/env node
// In a checkout, runs the TypeScript CLI through tsx's loader (no build step); in the
// installed package (npm pack / npm install), runs the compiled dist/ with plain node.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "src", "cli", "main.ts");
// A reader that stops early (| head) ends the output, not with a stack trace.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});
let entry = join(root, "dist", "cli", "main.js");
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  entry = source;
}
const { main } = await import(entry);
process.exitCode = main(process.argv.slice(2));
