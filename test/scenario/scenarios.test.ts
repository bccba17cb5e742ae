// Every scenario shipped in scenarios/ runs in the emulator with every expectation met.
import { describe, expect, it } from "vitest";
import { collectFiles } from "../../src/cli/main.ts";
import { loadScenario } from "../../src/scenario/load.ts";
import { runScenario } from "../../src/scenario/run.ts";
import { defaultLayers } from "../../src/layers.ts";

describe("scenarios/", () => {
  const files = collectFiles(["scenarios"]);
  it("has scenarios", () => expect(files.length).toBeGreaterThan(0));
  for (const file of files) {
    it(file, () => {
      const report = runScenario(loadScenario(file), { layers: defaultLayers() });
      expect(report.error).toBeNull();
      const failed = report.probes.filter((p) => p.pass === false).map((p) => `${p.line}: ${p.command} gave ${p.outcome}, expected ${p.expected}`);
      expect(failed).toEqual([]);
      expect(report.passed).toBeGreaterThan(0);
    });
  }
});
