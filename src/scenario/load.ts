// Loading scenario YAML with the source line of every command, and checking its shape
// before anything runs.
import { readFileSync } from "node:fs";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Node, YAMLMap } from "yaml";
import { MAX_YAML_DEPTH, yamlTooDeep } from "./depth.ts";
import { checkHereDocument, ShellSyntaxError } from "../tool/shell.ts";
import { SLEEP_LIMIT_MS } from "../commands/probes.ts";
import { parseIPv4 } from "../wire/ipv4.ts";
import { ScenarioError, type CommandLine, type ExpectOutcome, type Scenario, type Step } from "./types.ts";

const OUTCOME_WORDS = new Set(["timeout", "refused", "unreachable", "reply"]);
const STEP_KEYS = new Set(["run", "expect", "repeat", "why", "advance"]);
const TOP_KEYS = new Set(["name", "description", "steps"]);

/** "500ms", "90s", "15m", "2h" -> milliseconds. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  return Math.round(Number(m[1]) * unit);
}

export function loadScenario(file: string, text: string = readFileSync(file, "utf8")): Scenario {
  const lc = new LineCounter();
  const deep = yamlTooDeep(text);
  if (deep >= 0) throw new ScenarioError(file, text.slice(0, deep).split("\n").length, `invalid YAML: nested deeper than ${MAX_YAML_DEPTH} levels`);
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const lineOf = (node: Node | null | undefined): number => (node?.range ? lc.linePos(node.range[0]).line : 1);
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new ScenarioError(file, lc.linePos(e.pos[0]).line, `invalid YAML: ${e.message.split("\n")[0]}`);
  }
  const root = doc.contents;
  if (!isMap(root)) throw new ScenarioError(file, 1, "a scenario is a mapping with name and steps");
  for (const pair of root.items) {
    const k = String((pair.key as Scalar).value);
    if (!TOP_KEYS.has(k)) throw new ScenarioError(file, lineOf(pair.key as Node), `unknown key "${k}" (expected name, description, steps)`);
  }
  const nameNode = root.get("name", true) as Node | undefined;
  if (!isScalar(nameNode) || typeof nameNode.value !== "string") throw new ScenarioError(file, lineOf(root), 'missing "name" (a string)');
  const descNode = root.get("description", true) as Node | undefined;
  const stepsNode = root.get("steps", true) as Node | undefined;
  if (!isSeq(stepsNode)) throw new ScenarioError(file, lineOf(stepsNode ?? root), '"steps" must be a list');
  const steps: Step[] = stepsNode.items.map((item) => loadStep(file, item as Node, lc, lineOf));
  return {
    file,
    name: nameNode.value,
    description: isScalar(descNode) ? String(descNode.value) : null,
    steps,
  };
}

function loadStep(file: string, node: Node, lc: LineCounter, lineOf: (n: Node | null | undefined) => number): Step {
  const line = lineOf(node);
  if (!isMap(node)) throw new ScenarioError(file, line, "a step is a mapping with run: or advance:");
  const map = node as YAMLMap;
  for (const pair of map.items) {
    const k = String((pair.key as Scalar).value);
    if (!STEP_KEYS.has(k)) throw new ScenarioError(file, lineOf(pair.key as Node), `unknown step key "${k}" (expected run, expect, repeat, why, advance)`);
  }
  const adv = map.get("advance", true) as Node | undefined;
  const run = map.get("run", true) as Node | undefined;
  if (adv && run) throw new ScenarioError(file, line, "a step has either run: or advance:, not both");
  if (adv) {
    const text = isScalar(adv) ? String(adv.value) : "";
    const ms = parseDuration(text);
    if (ms === null) throw new ScenarioError(file, lineOf(adv), `advance: "${text}" is not a duration like 500ms, 90s or 15m`);
    // As sleep: far past every kernel timer, and far from where the clock loses precision.
    if (ms > SLEEP_LIMIT_MS) throw new ScenarioError(file, lineOf(adv), `advance: "${text}" is longer than pktpath's clock models (ten years)`);
    if (map.has("expect") || map.has("repeat")) throw new ScenarioError(file, line, "advance: takes no expect or repeat");
    return { kind: "advance", line: lineOf(adv), ms, text };
  }
  if (!run || !isScalar(run) || typeof run.value !== "string") throw new ScenarioError(file, line, "a step needs run: (command lines) or advance: (a duration)");
  let commands: CommandLine[];
  try {
    commands = commandLines(run as Scalar<string>, lc);
  } catch (e) {
    if (e instanceof HeredocError) throw new ScenarioError(file, e.line, e.message);
    throw e;
  }
  const repeatNode = map.get("repeat", true) as Node | undefined;
  let repeat = 1;
  if (repeatNode) {
    const v = isScalar(repeatNode) ? repeatNode.value : null;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 10000) {
      throw new ScenarioError(file, lineOf(repeatNode), "repeat: must be a whole number from 1 to 10000");
    }
    repeat = v;
  }
  const whyNode = map.get("why", true) as Node | undefined;
  const expectNode = map.get("expect", true) as Node | undefined;
  let expect: ExpectOutcome[] | null = null;
  if (expectNode) {
    if (repeat > 1) {
      if (!isSeq(expectNode) || expectNode.items.length !== repeat) {
        throw new ScenarioError(file, lineOf(expectNode), `with repeat: ${repeat}, expect: must be a list of ${repeat} outcomes`);
      }
      expect = expectNode.items.map((n) => parseExpect(file, n as Node, lineOf));
    } else {
      expect = [parseExpect(file, expectNode, lineOf)];
    }
  }
  return { kind: "run", line, commands, expect, repeat, why: isScalar(whyNode) ? String(whyNode.value).trim() : null };
}

function parseExpect(file: string, node: Node, lineOf: (n: Node | null | undefined) => number): ExpectOutcome {
  if (isScalar(node) && typeof node.value === "string") {
    const v = node.value.trim();
    if (!v) throw new ScenarioError(file, lineOf(node), "expect: an empty outcome");
    return { outcome: v, server: null, clientIp: null };
  }
  if (isMap(node)) {
    const out: ExpectOutcome = { outcome: null, server: null, clientIp: null };
    for (const pair of node.items) {
      const k = String((pair.key as Scalar).value);
      const v = pair.value as Node;
      if (!isScalar(v) || typeof v.value !== "string") throw new ScenarioError(file, lineOf(v ?? (pair.key as Node)), `expect: ${k} must be a string`);
      if (k === "server") out.server = v.value;
      else if (k === "client_ip") {
        if (parseIPv4(v.value) === null) throw new ScenarioError(file, lineOf(v), `expect: client_ip "${v.value}" is not an IPv4 address`);
        out.clientIp = v.value;
      } else throw new ScenarioError(file, lineOf(pair.key as Node), `expect: unknown key "${k}" (expected server, client_ip)`);
    }
    return out;
  }
  throw new ScenarioError(file, lineOf(node), "expect: an outcome (namespace, timeout, refused, unreachable, reply) or {server, client_ip}");
}

export function isOutcomeWord(s: string): boolean {
  return OUTCOME_WORDS.has(s);
}

export class HeredocError extends Error {
  constructor(
    readonly line: number,
    readonly end: string,
    message = `here-document not terminated: no line "${end}" before the end of the run: block`,
  ) {
    super(message);
  }
}

/** The logical command lines of a run: scalar, each with its line in the file. */
function commandLines(node: Scalar<string>, lc: LineCounter): CommandLine[] {
  const start = lc.linePos(node.range![0]).line;
  const block = node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED;
  // A block scalar's content starts on the line after its indicator.
  const first = block ? start + 1 : start;
  const raw = node.type === Scalar.BLOCK_FOLDED ? [node.value.replace(/\n/g, " ")] : node.value.split("\n");
  const out: CommandLine[] = [];
  let pending = "";
  let pendingLine = 0;
  let heredoc: { end: string; strip: boolean; expands: boolean; lines: string[]; cmd: CommandLine } | null = null;
  raw.forEach((text, i) => {
    const line = first + i;
    if (heredoc) {
      const t = heredoc.strip ? text.replace(/^\t+/, "") : text;
      if (t.trim() === heredoc.end) {
        heredoc.cmd.stdin = heredoc.lines.map((l) => l + "\n").join("");
        out.push(heredoc.cmd);
        heredoc = null;
      } else {
        // <<EOF (delimiter not quoted): bash expands the body first; <<'EOF' keeps it as written.
        if (heredoc.expands) {
          try {
            checkHereDocument(t);
          } catch (e) {
            if (e instanceof ShellSyntaxError) throw new HeredocError(line, heredoc.end, `${e.message} (in a here-document; quote its delimiter, <<'${heredoc.end}', to keep the text as written)`);
            throw e;
          }
        }
        heredoc.lines.push(t);
      }
      return;
    }
    if (!pending) pendingLine = line;
    const part = pending ? text.trimStart() : text;
    if (/\\\s*$/.test(part)) {
      pending += part.replace(/\s*\\\s*$/, " ");
      return;
    }
    const full = (pending + part).trim();
    pending = "";
    // A here-document: the lines up to its terminator are the command's standard input.
    const hd = /^(.*?)\s*<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\3\s*$/.exec(full);
    if (hd && !full.startsWith("#")) {
      heredoc = { end: hd[4]!, strip: hd[2] === "-", expands: hd[3] === "", lines: [], cmd: { line: pendingLine, text: hd[1]!.trim() } };
      return;
    }
    if (full && !full.startsWith("#")) out.push({ line: pendingLine, text: full });
  });
  if (heredoc) throw new HeredocError((heredoc as { end: string; cmd: CommandLine }).cmd.line, (heredoc as { end: string }).end);
  if (pending.trim()) out.push({ line: pendingLine, text: pending.trim() });
  return out;
}
