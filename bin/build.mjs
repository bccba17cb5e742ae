#!/usr/bin/env node
// npm run build: compiles src/ to dist/ (tsc -p tsconfig.build.json, run first by the
// script), copies the files that are not TypeScript (shell scripts, agents, page assets)
// beside the compiled modules, and bundles real-kernel mode's inner runner for the VM
// guest, so the installed package runs with plain node: no tsx, no esbuild.
import { cpSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const dist = join(root, "dist");

let copied = 0;
function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) copyAssets(p);
    else if (!name.endsWith(".ts") || name.endsWith(".d.mts")) {
      cpSync(p, join(dist, relative(src, p)));
      copied++;
    }
  }
}
copyAssets(src);

// The VM guest runs inner.js and what it imports as one module (src/realkernel/vm/bundle.ts).
const { esbuildInner, PREBUILT_INNER } = await import(join(dist, "realkernel", "vm", "bundle.js"));
writeFileSync(PREBUILT_INNER, esbuildInner());
process.stdout.write(`dist/: ${copied} files copied beside the compiled modules, the VM's inner runner bundled\n`);
