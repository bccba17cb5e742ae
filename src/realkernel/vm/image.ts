// The VM backend's image: where setup put it (.cache/vm/ of the repository, or
// $PKTPATH_VM_CACHE), whether it is complete, which modules it preloads, and what the
// planner may assume of its kernel.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseKernelConfig, type KernelFeatures } from "../features.ts";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const MODULES_TXT = fileURLToPath(new URL("./modules.txt", import.meta.url));

export function cacheDir(): string {
  return process.env.PKTPATH_VM_CACHE || join(REPO_ROOT, ".cache/vm");
}

export interface ModuleManifest {
  preload: string[];
  onDemand: string[];
}

/** modules.txt: "NAME preload|ondemand" per line, # comments. */
export function parseModuleManifest(text: string): ModuleManifest {
  const m: ModuleManifest = { preload: [], onDemand: [] };
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) return;
    const [name, when, ...rest] = line.split(/\s+/);
    if (!/^[A-Za-z0-9_]+$/.test(name!) || rest.length || (when !== "preload" && when !== "ondemand")) {
      throw new Error(`modules.txt:${i + 1}: expected "NAME preload|ondemand", got "${raw}"`);
    }
    (when === "preload" ? m.preload : m.onDemand).push(name!);
  });
  return m;
}

export interface VmImage {
  dir: string;
  vmlinuz: string;
  initrd: string;
  kernel: string;
  config: Map<string, string>;
  preload: string[];
  onDemand: string[];
}

/** The image, or why there is none (then the user runs setup). */
export function loadImage(dir: string = cacheDir()): VmImage | { missing: string } {
  const need = ["vmlinuz", "initrd.img", "config", "image.json"];
  const absent = need.filter((f) => !existsSync(join(dir, f)));
  if (absent.length) return { missing: `the VM image is not built (${join(dir, absent[0]!)} is missing)` };
  try {
    const meta = JSON.parse(readFileSync(join(dir, "image.json"), "utf8")) as { kernel: string; preload: string[] };
    const manifest = parseModuleManifest(readFileSync(MODULES_TXT, "utf8"));
    return {
      dir,
      vmlinuz: join(dir, "vmlinuz"),
      initrd: join(dir, "initrd.img"),
      kernel: meta.kernel,
      config: parseKernelConfig(readFileSync(join(dir, "config"), "utf8")),
      preload: meta.preload,
      onDemand: manifest.onDemand,
    };
  } catch (e) {
    return { missing: `the VM image in ${dir} is unreadable (${e instanceof Error ? e.message : String(e)})` };
  }
}

/** Config families the image carries as modules (loaded at boot): the planner sees them as built in. */
const IMAGE_FAMILIES = /^(IP_VS|IP_SET|NETFILTER_XT|IP_NF|NF_|NFT_|NETFILTER_XTABLES|VETH|BRIDGE$|DUMMY$)/;

/** What the planner may assume of the VM's kernel. */
export function vmFeatures(img: Pick<VmImage, "config" | "preload" | "onDemand">): KernelFeatures {
  const config = new Map(img.config);
  const onDemand = new Set(img.onDemand);
  for (const [k, v] of config) if (v === "m" && IMAGE_FAMILIES.test(k) && k !== "BRIDGE_NETFILTER") config.set(k, "y");
  const preload = new Set(img.preload);
  return { config, sysModules: (name) => preload.has(name), onDemand };
}
