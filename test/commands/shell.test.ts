import { describe, expect, it } from "vitest";
import { splitLine, ShellSyntaxError } from "../../src/commands/shell.ts";

describe("splitLine", () => {
  it("splits words, quotes and comments like a shell", () => {
    expect(splitLine(`iptables -m comment --comment "kube svc" -j ACCEPT # note`)[0]!.argv).toEqual([
      "iptables", "-m", "comment", "--comment", "kube svc", "-j", "ACCEPT",
    ]);
    expect(splitLine("echo 'a b'\\ c")[0]!.argv).toEqual(["echo", "a b c"]);
  });
  it("knows background, sequences and pipes", () => {
    const cmds = splitLine("python3 -m http.server 8080 & ip a; ip r && ip l");
    expect(cmds.map((c) => [c.argv[0], c.background])).toEqual([["python3", true], ["ip", false], ["ip", false], ["ip", false]]);
    expect(splitLine("echo x | tee /etc/netns/a/resolv.conf")[0]!.piped).toBe(true);
  });
  it("rejects unterminated quotes", () => {
    expect(() => splitLine(`echo "abc`)).toThrow(ShellSyntaxError);
  });
});
