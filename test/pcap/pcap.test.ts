// pcapng captures: byte-level checks here, and Wireshark's own reading of every shipped
// scenario's capture (tshark -r): the frame count, and per probe its first packet
// decoded with the addresses and ports the emulator carried.
import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collectFiles, main } from "../../src/cli/main.ts";
import { loadScenario } from "../../src/scenario/load.ts";
import { runScenario } from "../../src/scenario/run.ts";
import { defaultLayers } from "../../src/layers.ts";
import { captureHost, topologyOf } from "../../src/report/topology.ts";
import { pcapngOf } from "../../src/pcap/pcapng.ts";
import { inetChecksum } from "../../src/pcap/frame.ts";
import { directions } from "../../src/report/paths.ts";
import { formatIPv4 } from "../../src/wire/ipv4.ts";
import { ETH_P_ARP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from "../../src/wire/packet.ts";

const tshark = spawnSync("tshark", ["-v"], { encoding: "utf8" });
const noTshark = tshark.status === 0 ? null : "tshark is not installed (apt-get install tshark; .ci/run installs it)";

function run(file: string) {
  const cap = captureHost();
  const r = runScenario(loadScenario(file), { trace: true, layers: [...defaultLayers(), cap.layer] });
  return { r, topo: topologyOf(cap.host()!.config) };
}

describe("pcapng bytes", () => {
  it("the Internet checksum of RFC 1071's example", () => {
    const b = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    expect(inetChecksum(b, 0, b.length)).toBe(~0xddf2 & 0xffff);
  });
  it("blocks: a section header, one interface per device named netns/dev, a packet block per frame", () => {
    const { r, topo } = run("scenarios/core/two-pod-bridge.yaml");
    const { bytes, summary } = pcapngOf(r, topo);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const types: number[] = [];
    const names: string[] = [];
    for (let off = 0; off < bytes.length; ) {
      const type = v.getUint32(off, true);
      const len = v.getUint32(off + 4, true);
      expect(len % 4).toBe(0);
      expect(v.getUint32(off + len - 4, true)).toBe(len);
      if (type === 1) {
        // if_name is the first option after linktype, reserved, snaplen.
        expect(v.getUint16(off + 8, true)).toBe(1); // LINKTYPE_ETHERNET
        expect(v.getUint16(off + 16, true)).toBe(2);
        names.push(new TextDecoder().decode(bytes.subarray(off + 20, off + 20 + v.getUint16(off + 18, true))));
      }
      types.push(type);
      off += len;
    }
    expect(types[0]).toBe(0x0a0d0d0a);
    expect(names).toEqual(expect.arrayContaining(["host/bridge_home", "host/veth_dustin", "netns_dustin/veth_ns_dustin", "netns_leah/veth_ns_leah"]));
    expect(types.filter((t) => t === 6).length).toBe(summary.frames);
    const frames = r.probes.flatMap((p) => p.trace ?? []).filter((e) => e.frame).length;
    expect(summary.frames).toBe(frames);
  }, 60_000);
  it("pktpath run --pcap DIR writes one file per scenario", () => {
    const dir = mkdtempSync(join(tmpdir(), "pktpath-pcap-"));
    const quiet = { out: () => {}, err: () => {} };
    expect(main(["run", "--pcap", dir, "scenarios/core/"], quiet)).toBe(0);
    for (const f of ["scenarios-core-two-pod-bridge", "scenarios-core-failures"]) {
      expect(readFileSync(join(dir, `${f}.pcapng`)).readUInt32LE(0)).toBe(0x0a0d0d0a);
    }
  }, 60_000);
});

describe.skipIf(noTshark !== null)(`tshark reads every shipped scenario's capture${noTshark ? ` (skipped: ${noTshark})` : ""}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "pktpath-tshark-"));
  for (const file of collectFiles(["scenarios"])) {
    it(file, () => {
      const { r, topo } = run(file);
      const { bytes, summary } = pcapngOf(r, topo);
      const path = join(dir, file.replace(/[/.]/g, "-") + ".pcapng");
      writeFileSync(path, bytes);
      const fields = ["frame.interface_name", "frame.comment", "eth.type", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "udp.dstport", "icmp.type", "arp.opcode"];
      const out = execFileSync(
        "tshark",
        ["-r", path, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "separator=|", ...fields.flatMap((f) => ["-e", f])],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      );
      const rows = out.trimEnd().split("\n").map((l) => {
        const c = l.split("|");
        return Object.fromEntries(fields.map((f, i) => [f, c[i] ?? ""]));
      });
      expect(rows.length).toBe(summary.frames);
      // Nothing Wireshark calls malformed or a bad checksum (status 0). A UDP datagram's
      // payload is the probe's text, which Wireshark decodes by port (5353 as mDNS ...):
      // its verdict on that text is not about our frames.
      const bad = execFileSync(
        "tshark",
        ["-r", path, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-Y", "(_ws.malformed && !udp) || ip.checksum.status==0 || tcp.checksum.status==0 || udp.checksum.status==0 || icmp.checksum.status==0"],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      );
      expect(bad).toBe("");
      let checked = 0;
      for (const p of r.probes) {
        const events = p.trace ?? [];
        const { request } = directions(events);
        const sent = events.find((e) => e.pkt === request && e.frame);
        if (!sent) {
          // The first packet never reached a device (dropped on output, no route): nothing to capture.
          expect(events.some((e) => e.pkt === request && (e.step === "tx" || e.step === "rx"))).toBe(false);
          continue;
        }
        const f = sent.frame!;
        const row = rows.find((x) => x["frame.comment"] === `pktpath #${request} ${sent.step}` && x["frame.interface_name"] === `${sent.ns}/${sent.dev}`);
        expect(row, `line ${p.line}: frame of packet #${request}`).toBeDefined();
        if (f.ethType === ETH_P_ARP) continue;
        expect(row!["ip.src"]).toBe(formatIPv4(f.saddr));
        expect(row!["ip.dst"]).toBe(formatIPv4(f.daddr));
        if (f.proto === IPPROTO_TCP) expect([row!["tcp.srcport"], row!["tcp.dstport"]]).toEqual([String(f.sport), String(f.dport)]);
        if (f.proto === IPPROTO_UDP) expect(row!["udp.dstport"]).toBe(String(f.dport));
        if (f.proto === IPPROTO_ICMP) expect(row!["icmp.type"]).toBe(String(f.icmpType));
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    }, 120_000);
  }
});

