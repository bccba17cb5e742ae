// A hand-written SVG: per-packet cost against N (log-log), both modes, new connections
// and established packets.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RESULTS_DIR } from "./lib.ts";
import type { NodeRow } from "./node.ts";

export function plotPath(rows: NodeRow[], subtitle: string): string {
  const W = 720, H = 440, L = 80, R = 200, T = 50, B = 60;
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const ys = rows.flatMap((r) => [r.newConn.ns, r.established.ns]);
  const xmin = Math.log10(Math.min(...ns)) - 0.15, xmax = Math.log10(Math.max(...ns)) + 0.15;
  const ymin = Math.floor(Math.log10(Math.min(...ys))), ymax = Math.ceil(Math.log10(Math.max(...ys)));
  const x = (n: number) => L + ((Math.log10(n) - xmin) / (xmax - xmin)) * (W - L - R);
  const y = (v: number) => T + (1 - (Math.log10(v) - ymin) / (ymax - ymin || 1)) * (H - T - B);
  const s: string[] = [];
  s.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  s.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  s.push(`<text x="${L}" y="22" font-size="15" font-weight="bold">Per-packet cost through a kube-proxy node</text>`);
  s.push(`<text x="${L}" y="38" fill="#555">${subtitle}</text>`);
  const unit = (v: number) => (v >= 1e6 ? `${v / 1e6} ms` : v >= 1e3 ? `${v / 1e3} µs` : `${v} ns`);
  for (let e = ymin; e <= ymax; e++) {
    const v = 10 ** e;
    s.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    s.push(`<text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${unit(v)}</text>`);
  }
  for (const n of ns) {
    s.push(`<line x1="${x(n)}" x2="${x(n)}" y1="${T}" y2="${H - B}" stroke="#eee"/>`);
    s.push(`<text x="${x(n)}" y="${H - B + 18}" text-anchor="middle">${n >= 1000 ? `${n / 1000}k` : n}</text>`);
  }
  s.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/><line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/>`);
  s.push(`<text x="${(L + W - R) / 2}" y="${H - 18}" text-anchor="middle">services N (10 endpoints each), log scale</text>`);
  s.push(`<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">time per packet, log scale</text>`);
  const series = [
    { mode: "iptables", key: "newConn", color: "#d62728", dash: "", label: "iptables, new connection" },
    { mode: "iptables", key: "established", color: "#d62728", dash: "6 4", label: "iptables, established" },
    { mode: "ipvs", key: "newConn", color: "#1f77b4", dash: "", label: "IPVS, new connection" },
    { mode: "ipvs", key: "established", color: "#1f77b4", dash: "6 4", label: "IPVS, established" },
  ] as const;
  series.forEach((se, i) => {
    const pts = rows.filter((r) => r.mode === se.mode).sort((a, b) => a.n - b.n).map((r) => [x(r.n), y(r[se.key].ns)] as const);
    if (!pts.length) return;
    s.push(`<polyline fill="none" stroke="${se.color}" stroke-width="2" stroke-dasharray="${se.dash}" points="${pts.map((p) => `${p[0].toFixed(1)},${p[1].toFixed(1)}`).join(" ")}"/>`);
    for (const p of pts) s.push(`<circle cx="${p[0].toFixed(1)}" cy="${p[1].toFixed(1)}" r="3.5" fill="${se.color}"/>`);
    const ly = T + 20 + i * 22;
    s.push(`<line x1="${W - R + 15}" x2="${W - R + 45}" y1="${ly}" y2="${ly}" stroke="${se.color}" stroke-width="2" stroke-dasharray="${se.dash}"/>`);
    s.push(`<text x="${W - R + 52}" y="${ly + 4}">${se.label}</text>`);
  });
  s.push(`</svg>`);
  const file = join(RESULTS_DIR, "path.svg");
  writeFileSync(file, s.join("\n") + "\n");
  return file;
}
