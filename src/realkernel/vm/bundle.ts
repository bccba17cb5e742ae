// The per-run archive appended to the image: the guest agent, the namespaces backend's
// inner runner bundled into one file (esbuild, which tsx brings), its agents, and the
// batch of plans. Built at each run from the working tree, so the image never goes stale.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { KernelPlan } from "../types.ts";
import { cpioGz, type CpioEntry } from "./cpio.ts";

const KERNEL_DIR = fileURLToPath(new URL("../", import.meta.url));
const GUEST = fileURLToPath(new URL("./guest.mjs", import.meta.url));

export interface BatchItem {
  id: string;
  plan: KernelPlan;
}

interface EsbuildLike {
  buildSync(o: Record<string, unknown>): { outputFiles: { text: string }[] };
}

let innerBundle: string | null = null;

/** Running from the compiled package (dist/, plain node) rather than the TypeScript sources. */
const COMPILED = import.meta.url.endsWith(".js");
/** Where `npm run build` leaves the bundle, so the installed package needs no esbuild. */
export const PREBUILT_INNER = fileURLToPath(new URL("./inner.bundle.mjs", import.meta.url));

/** inner.ts and what it imports, as one ES module for node in the VM. */
export function bundleInner(): string {
  if (innerBundle !== null) return innerBundle;
  innerBundle = COMPILED && existsSync(PREBUILT_INNER) ? readFileSync(PREBUILT_INNER, "utf8") : esbuildInner();
  return innerBundle;
}

/** Bundles the inner runner with esbuild (which tsx brings: a development dependency). */
export function esbuildInner(): string {
  const req = createRequire(createRequire(import.meta.url).resolve("tsx"));
  const esbuild = req("esbuild") as EsbuildLike;
  const out = esbuild.buildSync({
    entryPoints: [`${KERNEL_DIR}inner.${COMPILED ? "js" : "ts"}`],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    write: false,
    logLevel: "silent",
    banner: { js: "import { createRequire as __pktpathCreateRequire } from 'node:module'; const require = __pktpathCreateRequire(import.meta.url);" },
  });
  return out.outputFiles[0]!.text;
}

/** The serialised batch, as the guest reads it from /pktpath/batch.json. */
export function batchJson(items: BatchItem[]): string {
  return JSON.stringify({ items });
}

/** The archive's entries (paths under /pktpath of the VM); snapshotScript: pktpath's own (guest.mjs hands it to a plan's snapshot action). */
export function runEntries(items: BatchItem[], inner: string = bundleInner(), snapshotScript?: string): CpioEntry[] {
  const entries: CpioEntry[] = [
    { path: "pktpath", data: null },
    { path: "pktpath/guest.mjs", data: readFileSync(GUEST) },
    { path: "pktpath/batch.json", data: batchJson(items) },
    { path: "pktpath/kernel", data: null },
    { path: "pktpath/kernel/inner.mjs", data: inner },
    { path: "pktpath/kernel/agent", data: null },
  ];
  if (snapshotScript) entries.push({ path: "pktpath/snapshot.sh", data: snapshotScript });
  for (const f of readdirSync(`${KERNEL_DIR}agent`).sort()) {
    if (f.endsWith(".mjs")) entries.push({ path: `pktpath/kernel/agent/${f}`, data: readFileSync(`${KERNEL_DIR}agent/${f}`) });
  }
  return entries;
}

export function runArchive(items: BatchItem[], snapshotScript?: string): Buffer {
  return cpioGz(runEntries(items, bundleInner(), snapshotScript));
}
