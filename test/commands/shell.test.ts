import { describe, expect, it } from "vitest";
import { loadScenario } from "../../src/scenario/load.ts";
import { splitLine, ShellNotModelled, ShellSyntaxError } from "../../src/tool/shell.ts";
import { Host } from "../../src/host.ts";
import { defaultLayers } from "../../src/layers.ts";

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

function refusal(line: string): string {
  try {
    splitLine(line);
  } catch (e) {
    if (e instanceof ShellSyntaxError) return `${e instanceof ShellNotModelled ? "not modelled" : "syntax"}: ${e.message}`;
    throw e;
  }
  return "(accepted)";
}

describe("what bash would run rather than split is refused as not modelled", () => {
  it("command substitution, arithmetic, process substitution and subshells", () => {
    expect(refusal("ip link add $(whoami) type veth peer name b")).toBe("not modelled: command substitution $(...) is not modelled by pktpath: `$(whoami)'");
    expect(refusal("ip link add `whoami` type veth")).toBe("not modelled: command substitution `...` is not modelled by pktpath: ``whoami`'");
    expect(refusal('iptables -A INPUT -m comment --comment "x $(id -u) y" -j ACCEPT')).toMatch(/^not modelled: command substitution \$\(\.\.\.\).*`\$\(id -u\)'$/);
    expect(refusal('echo "`id`"')).toMatch(/^not modelled: command substitution `...`/);
    expect(refusal("sleep $((1+2))")).toBe("not modelled: arithmetic expansion $((...)) is not modelled by pktpath: `$((1+2))'");
    expect(refusal("iptables-restore <(cat x)")).toBe("not modelled: process substitution <(...) is not modelled by pktpath: `<(cat x)'");
    expect(refusal("(ip link)")).toMatch(/^not modelled: a subshell/);
    expect(refusal("echo a(b")).toBe("syntax: syntax error near unexpected token `('");
    expect(refusal("echo )")).toBe("syntax: syntax error near unexpected token `)'");
  });
  it("single quotes and backslashes keep them literal, as in bash", () => {
    expect(splitLine("ip link add '$(whoami)' type dummy")[0]!.argv[3]).toBe("$(whoami)");
    expect(splitLine("echo '`id`' \\$\\(x\\) \"\\$(y)\" '(a)'")[0]!.argv).toEqual(["echo", "`id`", "$(x)", "$(y)", "(a)"]);
    expect(splitLine("echo a$ $ '$HOME'")[0]!.argv).toEqual(["echo", "a$", "$", "$HOME"]);
    // A variable bash would expand is refused, not taken literally.
    expect(() => splitLine("ipvsadm -A -t $VIP:80")).toThrow(/^parameter expansion \$VIP is not modelled by pktpath/);
    expect(() => splitLine('echo "${X}"')).toThrow(/^parameter expansion \$\{X\} is not modelled/);
  });
  it("a refused line names its line and changes nothing", () => {
    const h = new Host({ layers: defaultLayers() });
    const before = h.config;
    expect(() => h.exec("ip link add $(whoami) type dummy")).toThrow(/not modelled by pktpath/);
    expect(h.config).toBe(before);
  });
  it("a here-document is expanded by bash only when its delimiter is not quoted", () => {
    const doc = (q: string) => `name: t\nsteps:\n  - run: |\n      iptables-restore <<${q}EOF${q}\n      *filter\n      -A INPUT -m comment --comment "$(id)" -j ACCEPT\n      COMMIT\n      EOF\n`;
    expect(() => loadScenario("t.yaml", doc(""))).toThrow(/^t\.yaml:6: command substitution \$\(\.\.\.\) is not modelled by pktpath.*quote its delimiter/);
    const s = loadScenario("t.yaml", doc("'"));
    const h = new Host({ layers: defaultLayers() });
    const cl = (s.steps[0] as { commands: { text: string; stdin?: string }[] }).commands[0]!;
    h.exec(cl.text, "host", cl.stdin ?? null);
    expect(h.exec("iptables -S INPUT")[0]!.stdout).toContain('--comment "$(id)"');
  });
});

describe("no input exhausts the splitter", () => {
  it("100,000 nested brackets and quotes: a bounded error or words, in bounded time", () => {
    const n = 100_000;
    const t0 = performance.now();
    expect(refusal("echo " + "$(".repeat(n) + ")".repeat(n))).toMatch(/^not modelled: command substitution .{0,200}$/);
    expect(refusal("echo " + "(".repeat(n))).toBe("syntax: syntax error near unexpected token `('");
    expect(refusal("echo " + "\"'".repeat(n))).toBe("syntax: unexpected EOF while looking for matching `\"'");
    expect(splitLine("echo " + "'{'".repeat(n))[0]!.argv[1]!.length).toBe(n);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
  it("a 10 MB word splits in one slice", () => {
    const big = "a".repeat(10 * 2 ** 20);
    const t0 = performance.now();
    expect(splitLine(`ip link add ${big} type dummy`)[0]!.argv[3]!.length).toBe(big.length);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
