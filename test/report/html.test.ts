// HTML reports: self-contained pages, and in a real browser (Debian's chromium through
// playwright-core, nothing downloaded) each shipped scenario's report draws every
// probe's path on the devices its trace names; keyboard, themes, 1280x800.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { collectFiles, main } from "../../src/cli/main.ts";
import { loadScenario } from "../../src/scenario/load.ts";
import { runScenario, type ScenarioReport } from "../../src/scenario/run.ts";
import { defaultLayers } from "../../src/layers.ts";
import { compareReports } from "../../src/realkernel/compare.ts";
import { captureHost, topologyOf } from "../../src/report/topology.ts";
import { HtmlReport } from "../../src/report/html.ts";
import { directions } from "../../src/report/paths.ts";
import type { Browser, Page } from "playwright-core";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p)) ?? null;
const noBrowser = CHROMIUM ? null : "chromium is not installed (apt-get install chromium; .ci/run installs it)";
const SHOTS = resolve("test-output/screens");
const quiet = { out: () => {}, err: () => {} };

const dir = mkdtempSync(join(tmpdir(), "pktpath-html-"));
const files = collectFiles(["scenarios"]);
const pageName = (f: string) => f.replace(/\.ya?ml$/, "").replace(/[^A-Za-z0-9._-]+/g, "-");

function emulate(file: string): { r: ScenarioReport; host: ReturnType<ReturnType<typeof captureHost>["host"]> } {
  const cap = captureHost();
  const r = runScenario(loadScenario(file), { trace: true, layers: [...defaultLayers(), cap.layer] });
  return { r, host: cap.host() };
}

describe("HTML pages", () => {
  it("run --html writes a page per scenario and an index; nothing is fetched from anywhere", () => {
    expect(main(["run", "--quiet", "--html", dir, "scenarios/"], quiet)).toBe(0);
    const index = readFileSync(join(dir, "index.html"), "utf8");
    for (const f of files) {
      expect(index).toContain(`href="${pageName(f)}.html"`);
      const html = readFileSync(join(dir, `${pageName(f)}.html`), "utf8");
      expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|@import|url\(http/i);
      expect(html).toContain("default-src 'none'");
      expect(html).toContain("var dagre=");
    }
  }, 120_000);
  it("scenario text cannot end a script or inject markup", () => {
    const { r, host } = emulate("scenarios/core/two-pod-bridge.yaml");
    const hostile = { ...r, name: `</script><script>alert(1)</script><b>x`, probes: r.probes.map((p) => ({ ...p, why: "</script><img src=x onerror=alert(1)>" })) };
    const out = mkdtempSync(join(tmpdir(), "pktpath-html-x-"));
    const h = new HtmlReport(out, "run");
    h.addRun("x", hostile, topologyOf(host!.config));
    const html = readFileSync(join(out, "x.html"), "utf8");
    expect(html).not.toContain("<script>alert(1)");
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&#60;/script&#62;&#60;script&#62;alert(1)");
  });
});

describe.skipIf(noBrowser !== null)(`in headless Chromium${noBrowser ? ` (skipped: ${noBrowser})` : ""}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ["--no-sandbox"] });
    mkdirSync(SHOTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function open(file: string, opts: { hash?: string; dark?: boolean } = {}): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: opts.dark ? "dark" : "light" });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("request", (q) => requests.push(q.url()));
    await page.goto(`file://${file}${opts.hash ? `#${opts.hash}` : ""}`);
    await page.waitForSelector("body[data-ready]", { timeout: 20_000 });
    return { page, errors, requests };
  }

  for (const file of files) {
    it(`${file}: every probe's path is drawn on the devices of its trace`, async () => {
      const { r } = emulate(file);
      const { page, errors, requests } = await open(join(dir, `${pageName(file)}.html`));
      try {
        expect(errors).toEqual([]);
        expect(requests.every((u) => u.startsWith("file:") || u.startsWith("data:"))).toBe(true);
        // Fits 1280x800 without horizontal scrolling.
        expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
        const rows = page.locator("#probe-table tbody tr");
        expect(await rows.count()).toBe(r.probes.length);
        const devices = new Set(await page.locator("svg .dev").evaluateAll((els) => els.map((e) => e.getAttribute("data-dev"))));
        for (const [i, p] of r.probes.entries()) {
          await rows.nth(i).click();
          const events = p.trace ?? [];
          const { dir: dirs } = directions(events);
          for (const d of ["request", "reply"] as const) {
            const want = new Set(events.filter((e) => e.dev && dirs.get(e.pkt) === d && devices.has(`${e.ns}/${e.dev}`)).map((e) => `${e.ns}/${e.dev}`));
            // Only the first packet and first reply are drawn.
            const drawn = new Set(await page.locator(`svg .mark.${d}`).evaluateAll((els) => els.map((e) => e.getAttribute("data-dev"))));
            for (const x of drawn) expect(want.has(x!), `line ${p.line}: ${d} drawn on ${x}`).toBe(true);
          }
          // The first packet is drawn wherever it was seen at a device (sent, or queued for ARP).
          const { request } = directions(events);
          if (events.some((e) => e.pkt === request && e.dev && devices.has(`${e.ns}/${e.dev}`))) {
            expect(await page.locator("svg .mark.request").count(), `line ${p.line}`).toBeGreaterThan(0);
          }
          expect(await rows.nth(i).getAttribute("aria-selected")).toBe("true");
        }
        await page.locator("#probe-table tbody tr").first().click();
        await page.screenshot({ path: join(SHOTS, `${pageName(file)}.png`) });
      } finally {
        await page.close();
      }
    }, 120_000);
  }

  it("the walkthrough's hairpin probe: request and reply through veth_dustin and bridge_home, NAT where it happens", async () => {
    // Line 105: hairpin mode on veth_dustin (line 94, the promiscuous bridge, draws the
    // bridged reply dropped and its copy routed up, which the brief path does not follow).
    const { page, errors } = await open(join(dir, "scenarios-ipvs-walkthrough.html"), { hash: "line=105" });
    try {
      expect(errors).toEqual([]);
      expect(await page.locator('#probe-table tbody tr[aria-selected="true"]').getAttribute("data-line")).toBe("105");
      const marks = async (d: string) => (await page.locator(`svg .mark.${d}`).evaluateAll((els) => els.map((e) => e.getAttribute("data-dev")))).sort();
      expect(await marks("request")).toEqual(["host/bridge_home", "host/veth_dustin", "netns_dustin/veth_ns_dustin"]);
      expect(await marks("reply")).toEqual(["host/bridge_home", "host/veth_dustin", "netns_dustin/veth_ns_dustin"]);
      expect(await page.locator('svg .seg.request[data-from="host/veth_dustin"][data-to="host/bridge_home"]').count()).toBe(1);
      expect(await page.locator('svg .seg.reply[data-from="host/bridge_home"][data-to="host/veth_dustin"]').count()).toBe(1);
      const nat = await page.locator("svg .nat").allTextContents();
      // The client's port is the kernel-like hashed ephemeral one; masquerade keeps it.
      expect(nat.some((t) => /POSTROUTING SNAT 10\.0\.0\.11:(\d+) -> 10\.0\.0\.1:\1\b/.test(t))).toBe(true);
      expect(nat.some((t) => t.includes("source rewritten to 10.100.100.100:8080"))).toBe(true);
      expect(await page.locator('svg .nat[data-dev="host/bridge_home"]').count()).toBeGreaterThan(0);
      await page.screenshot({ path: join(SHOTS, "walkthrough-hairpin.png") });
      // Without hairpin mode (line 86) the reply dies on the bridge, and the page says why.
      await page.locator('#probe-table tbody tr[data-line="86"]').click();
      const drop = page.locator('svg .drop[data-dev="host/bridge_home"]');
      expect(await drop.count()).toBe(1);
      expect(await drop.textContent()).toContain("hairpin mode is off");
    } finally {
      await page.close();
    }
  }, 60_000);

  it("keyboard: j/k and arrows move between probes, h/l and arrows between hops", async () => {
    const { page } = await open(join(dir, "scenarios-core-two-pod-bridge.html"));
    try {
      const selected = () => page.locator('#probe-table tbody tr[aria-selected="true"]').getAttribute("data-index");
      expect(await selected()).toBe("0");
      await page.keyboard.press("ArrowDown");
      expect(await selected()).toBe("1");
      await page.keyboard.press("j");
      expect(await selected()).toBe("2");
      await page.keyboard.press("k");
      expect(await selected()).toBe("1");
      await page.keyboard.press("ArrowRight");
      await page.keyboard.press("l");
      expect(await page.locator("#hop-list li.current").getAttribute("data-index")).toBe("1");
      const dev = await page.locator("#hop-list li.current").getAttribute("data-dev");
      if (dev) expect(await page.locator(`svg .dev.current`).getAttribute("data-dev")).toBe(dev);
      else expect(await page.locator("svg .ns.current").count()).toBe(1);
      await page.keyboard.press("h");
      expect(await page.locator("#hop-list li.current").getAttribute("data-index")).toBe("0");
    } finally {
      await page.close();
    }
  }, 60_000);

  it("light and dark themes follow prefers-color-scheme", async () => {
    const bg = async (dark: boolean) => {
      const { page } = await open(join(dir, "scenarios-core-two-pod-bridge.html"), { dark });
      try {
        if (dark) await page.screenshot({ path: join(SHOTS, "two-pod-bridge-dark.png") });
        return await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      } finally {
        await page.close();
      }
    };
    const lum = (c: string) => c.match(/\d+/g)!.slice(0, 3).reduce((n, x) => n + Number(x), 0);
    expect(lum(await bg(false))).toBeGreaterThan(600);
    expect(lum(await bg(true))).toBeLessThan(150);
  }, 60_000);

  it("check mode: emulator and kernel side by side, disagreements first", async () => {
    // The view of a comparison: the kernel side here is the emulator's report with one
    // outcome changed (the real kernel runs in test/realkernel; this tests the page).
    const { r, host } = emulate("scenarios/core/two-pod-bridge.yaml");
    const kernel = { ...r, mode: "kernel" as const, skipped: null, elapsedMs: 0, probes: r.probes.map((p, i) => (i === 1 ? { ...p, outcome: "timeout", server: null, client_ip: null, trace: undefined } : { ...p, trace: undefined })) };
    const c = compareReports(r, kernel, { emulatorRefused: false, kernelRefused: false });
    const out = mkdtempSync(join(tmpdir(), "pktpath-html-check-"));
    const h = new HtmlReport(out, "check");
    h.addCheck("two-pod-bridge", c, r, topologyOf(host!.config));
    h.finish();
    const { page, errors } = await open(join(out, "two-pod-bridge.html"));
    try {
      expect(errors).toEqual([]);
      const head = await page.locator("#probe-table thead th").allTextContents();
      expect(head).toEqual(["line", "command", "emulator", "kernel", "agree", "expected", "why"]);
      const first = page.locator("#probe-table tbody tr").first();
      expect(await first.getAttribute("data-line")).toBe(String(r.probes[1]!.line));
      const cells = await first.locator("td").allTextContents();
      expect(cells[3]).toBe("timeout");
      expect(cells[4]).toBe("NO");
      expect(await page.locator("svg .mark.request").count()).toBeGreaterThan(0);
      expect(readFileSync(join(out, "index.html"), "utf8")).toContain("1 disagree");
    } finally {
      await page.close();
    }
  }, 60_000);
});

// Keeps the folder for the screenshots in place even when the browser tests are skipped.
writeFileSync(join(dir, ".keep"), "");
