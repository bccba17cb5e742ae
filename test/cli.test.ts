// The CLI's contract: output lines, the closing line, JSON shape and exit codes.
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../src/cli/main.ts";

function cli(args: string[]): { code: number; out: string; err: string } {
  let out = "";
  let err = "";
  const code = main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), "pktpath-cli-"));
const SETUP = `name: tiny
steps:
  - run: |
      ip netns add a
      ip link add dev va type veth peer name vb
      ip link set vb netns a
      ip address add 192.168.7.1/24 dev va
      ip link set va up
      ip netns exec a ip address add 192.168.7.2/24 dev vb
      ip netns exec a ip link set vb up
      ip netns exec a nc -l 7000 &
`;
writeFileSync(join(dir, "ok.yaml"), SETUP + "  - run: curl 192.168.7.2:7000\n    expect: a\n  - run: nc -z 192.168.7.2 7001\n    expect: refused\n");
writeFileSync(join(dir, "fail.yaml"), SETUP + "  - run: curl 192.168.7.2:7000\n    expect: timeout\n");
writeFileSync(join(dir, "bad.yaml"), SETUP + "  - run: ip link set nosuch up\n");

describe("pktpath run", () => {
  it("prints one line per probe and the summary last, exit 0", () => {
    const r = cli(["run", join(dir, "ok.yaml")]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines[lines.length - 1]).toBe("2 passed, 0 failed");
    expect(r.out).toMatch(/curl 192\.168\.7\.2:7000 +a \(client 192\.168\.7\.1\) +a +pass/);
  });
  it("exits 1 when an expectation fails", () => {
    const r = cli(["run", join(dir, "fail.yaml")]);
    expect(r.code).toBe(1);
    expect(r.out.trimEnd().split("\n").pop()).toBe("0 passed, 1 failed");
  });
  it("exits 2 on bad input, naming file and line", () => {
    const r = cli(["run", join(dir, "bad.yaml")]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`${join(dir, "bad.yaml")}:12: Cannot find device "nosuch"\n`);
  });
  it("writes JSON as the contract says", () => {
    const r = cli(["run", "--json", join(dir, "ok.yaml")]);
    const data = JSON.parse(r.out);
    expect(data[0]).toMatchObject({ name: "tiny", mode: "emulator", passed: 2, failed: 0 });
    expect(data[0].probes[0]).toEqual({
      line: 12,
      command: "curl 192.168.7.2:7000",
      netns: "host",
      outcome: "a",
      server: "a",
      client_ip: "192.168.7.1",
      expected: "a",
      pass: true,
    });
  });
  it("traces every packet with --trace", () => {
    const r = cli(["run", "--trace", join(dir, "ok.yaml")]);
    expect(r.out).toMatch(/ARP who-has 192\.168\.7\.2 tell 192\.168\.7\.1/);
    expect(r.out).toMatch(/listener 0\.0\.0\.0:7000 accepts/);
    expect(r.out).toMatch(/no socket for TCP port 7001: reset/);
  });
  it("rejects unknown options and missing paths", () => {
    expect(cli(["run", "--frob", "x"]).code).toBe(2);
    expect(cli(["run", join(dir, "nope.yaml")]).code).toBe(2);
  });
});
