// The published package: `npm pack` builds dist/ (prepack), a fresh project installs the
// tarball, and pktpath runs from it with plain node (no tsx, no TypeScript sources), as
// the CLI and as a typed library.
import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

function sh(cmd: string, args: string[], cwd: string): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 240_000, env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

describe("npm pack", () => {
  it("installs and runs without tsx: the CLI, the library and its types", { timeout: 300_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), "pktpath-pack-"));
    try {
      const packed = sh("npm", ["pack", "--pack-destination", dir], ROOT);
      expect(packed.status, packed.out).toBe(0);
      const tgz = readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
      expect(tgz).toMatch(/^pktpath-\d+\.\d+\.\d+\.tgz$/);
      const listing = execFileSync("tar", ["tzf", join(dir, tgz)], { encoding: "utf8" }).split("\n");
      expect(listing).toContain("package/dist/cli/main.js");
      expect(listing).toContain("package/dist/index.d.ts");
      expect(listing).toContain("package/dist/realkernel/vm/inner.bundle.mjs");
      expect(listing.some((f) => f.startsWith("package/src/"))).toBe(false);

      const app = join(dir, "app");
      cpSync(join(ROOT, "scenarios", "core"), join(app, "sc"), { recursive: true });
      writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", type: "module", private: true }));
      const installed = sh("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", join(dir, tgz)], app);
      expect(installed.status, installed.out).toBe(0);
      // Runtime dependencies only: no tsx, no esbuild, no TypeScript.
      const modules = readdirSync(join(app, "node_modules"));
      for (const dev of ["tsx", "esbuild", "typescript", "vitest"]) expect(modules).not.toContain(dev);

      const run = sh(join(app, "node_modules", ".bin", "pktpath"), ["run", "sc/two-pod-bridge.yaml"], app);
      expect(run.status, run.out).toBe(0);
      expect(run.out).toMatch(/\b\d+ passed, 0 failed/);

      writeFileSync(
        join(app, "use.ts"),
        [
          'import { Host, defaultLayers, type ProbeResult } from "pktpath";',
          "const host: Host = new Host({ layers: defaultLayers() });",
          'host.exec("ip link add br0 type bridge");',
          "const last: ProbeResult | null = null;",
          'console.log(host.exec("ip -br link show br0")[0]!.stdout.split(/\\s+/)[0], last);',
          "",
        ].join("\n"),
      );
      const tsconfig = { compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: true, allowImportingTsExtensions: true, types: [] } };
      writeFileSync(join(app, "tsconfig.json"), JSON.stringify(tsconfig));
      const typed = sh(process.execPath, [TSC, "-p", "."], app);
      expect(typed.status, typed.out).toBe(0);
      // The types are real: a wrong use is an error.
      writeFileSync(join(app, "bad.ts"), 'import { Host } from "pktpath";\nconst n: number = new Host();\nconsole.log(n);\n');
      const bad = sh(process.execPath, [TSC, "-p", "."], app);
      expect(bad.status).not.toBe(0);
      expect(bad.out).toMatch(/bad\.ts.*Type 'Host' is not assignable to type 'number'/);

      const lib = sh(process.execPath, ["--input-type=module", "-e", 'import { Host, defaultLayers } from "pktpath"; const h = new Host({ layers: defaultLayers() }); h.exec("ip link add br0 type bridge"); console.log(h.exec("ip -br link show br0")[0].stdout.split(/\\s+/)[0]);'], app);
      expect(lib.status, lib.out).toBe(0);
      expect(lib.out.trim()).toBe("br0");
      expect(existsSync(join(app, "node_modules", "pktpath", "src"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
