// Loading scenario YAML with the source line of every command, and checking its shape
// before anything runs.
import { readFileSync } from "node:fs";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Node, YAMLMap } from "yaml";
import { MAX_YAML_DEPTH, yamlTooDeep } from "./depth.ts";
import { checkHereDocument, hereDocumentExpansion, ShellSyntaxError } from "../tool/shell.ts";
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

/** Work done loading a file, counted (tests check it grows in proportion to the file). */
export interface LoadMeter {
  /** Characters and lines the loader went over (its own loops and the YAML lexer's lines). */
  ops: number;
}

export interface LoadOptions {
  /** Told what loading a large file is at (the CLI shows it on stderr, on a terminal). */
  progress?: (message: string) => void;
  meter?: LoadMeter;
}

/**
 * The offset of the first key that repeats an earlier key of its mapping (yaml's
 * uniqueKeys: two scalar keys with the same value), or null. One hash per mapping, and
 * no recursion (the nesting was bounded before).
 */
function duplicateKey(root: unknown, meter: LoadMeter | undefined): number | null {
  let first: number | null = null;
  const stack: unknown[] = [root];
  while (stack.length) {
    const n = stack.pop();
    if (isMap(n)) {
      const seen = new Set<unknown>();
      if (meter) meter.ops += n.items.length;
      for (const pair of n.items) {
        const k = pair.key;
        if (isScalar(k) && !Number.isNaN(k.value)) {
          if (seen.has(k.value)) {
            const at = k.range?.[0] ?? n.range?.[0] ?? 0;
            if (first === null || at < first) first = at;
          } else seen.add(k.value);
        }
        stack.push(k, pair.value);
      }
    } else if (isSeq(n)) for (const it of n.items) stack.push(it);
  }
  return first;
}

/** Files from this size on report their progress. */
export const PROGRESS_FROM_BYTES = 4 << 20;

export function loadScenario(file: string, text: string = readFileSync(file, "utf8"), options: LoadOptions = {}): Scenario {
  const { meter } = options;
  const progress = text.length >= PROGRESS_FROM_BYTES ? options.progress : undefined;
  const mb = (n: number) => (n / 1048576).toFixed(0);
  const lc = new LineCounter();
  if (meter || progress) {
    // The lexer reports each newline: what it has read so far.
    const add = lc.addNewLine;
    let next = 0;
    lc.addNewLine = (offset: number) => {
      if (meter) meter.ops++;
      if (progress && offset >= next) {
        progress(`${file}: reading the YAML, ${mb(offset)} of ${mb(text.length)} MB`);
        next = offset + (4 << 20);
      }
      return add(offset);
    };
  }
  progress?.(`${file}: checking the YAML's nesting (${mb(text.length)} MB)`);
  const deep = yamlTooDeep(text);
  if (deep >= 0) throw new ScenarioError(file, text.slice(0, deep).split("\n").length, `invalid YAML: nested deeper than ${MAX_YAML_DEPTH} levels`);
  // uniqueKeys off: yaml compares each key with every key before it (quadratic in a
  // mapping's size); duplicateKey finds the same duplicates with a hash.
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  const lineOf = (node: Node | null | undefined): number => (node?.range ? lc.linePos(node.range[0]).line : 1);
  const dup = duplicateKey(doc.contents, meter);
  const firstError = doc.errors[0];
  if (dup !== null && (!firstError || dup <= firstError.pos[0])) throw new ScenarioError(file, lc.linePos(dup).line, "invalid YAML: Map keys must be unique");
  if (firstError) throw new ScenarioError(file, lc.linePos(firstError.pos[0]).line, `invalid YAML: ${firstError.message.split("\n")[0]}`);
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
  const total = stepsNode.items.length;
  const steps: Step[] = stepsNode.items.map((item, i) => {
    if (progress && i % 1000 === 0) progress(`${file}: reading step ${i + 1} of ${total}`);
    return loadStep(file, item as Node, lc, lineOf, meter);
  });
  return {
    file,
    name: nameNode.value,
    description: isScalar(descNode) ? String(descNode.value) : null,
    steps,
  };
}

function loadStep(file: string, node: Node, lc: LineCounter, lineOf: (n: Node | null | undefined) => number, meter: LoadMeter | undefined): Step {
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
    commands = commandLines(run as Scalar<string>, lc, meter);
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

/** Whitespace as String.prototype.trim sees it (the characters of \s). */
const SPACE = /\s/;
function isSpace(c: string | undefined): boolean {
  return c !== undefined && (c === " " || c === "\t" || (c > "~" || c < " " ? SPACE.test(c) : false));
}
function isWordChar(c: string): boolean {
  return (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c === "_";
}

/**
 * A line (already trimmed) that opens a here-document: `CMD <<EOF`, `CMD <<-EOF`,
 * `CMD <<'EOF'`, `CMD << "EOF"`. Read from its end, so a line costs its length once
 * (a regular expression with a lazy prefix costs the square of a long run of spaces).
 */
function hereDocumentOpener(full: string): { cmd: string; strip: boolean; quoted: boolean; end: string } | null {
  let i = full.length - 1;
  const close = full[i] === "'" || full[i] === '"' ? full[i--] : "";
  const wordEnd = i + 1;
  while (i >= 0 && isWordChar(full[i]!)) i--;
  const end = full.slice(i + 1, wordEnd);
  if (!end || (end[0]! >= "0" && end[0]! <= "9")) return null;
  if (close) {
    if (full[i] !== close) return null;
    i--;
  }
  while (isSpace(full[i])) i--;
  const strip = full[i] === "-";
  if (strip) i--;
  if (full[i] !== "<" || full[i - 1] !== "<") return null;
  return { cmd: full.slice(0, i - 1).trim(), strip, quoted: close !== "", end };
}

/**
 * A line ending in a backslash (then only blanks): the text before the backslash
 * without its trailing blanks, or null. The line's end is read backwards once.
 */
function continued(part: string): string | null {
  let i = part.length - 1;
  while (isSpace(part[i])) i--;
  if (part[i] !== "\\") return null;
  return part.slice(0, i).trimEnd();
}

/** The line `text[from, to)` is the here-document's terminator (blanks around it allowed). */
function isTerminator(text: string, from: number, to: number, end: string): boolean {
  let a = from;
  while (a < to && isSpace(text[a])) a++;
  if (to - a < end.length || !text.startsWith(end, a)) return false;
  for (let b = a + end.length; b < to; b++) if (!isSpace(text[b])) return false;
  return true;
}

/** How many newlines text holds before offset `to`. */
function newlinesBefore(text: string, to: number): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < to; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

interface OpenHereDocument {
  end: string;
  /** <<-EOF: leading tabs are removed from each line. */
  strip: boolean;
  /** The delimiter is not quoted: bash would expand `$` and backticks in the body. */
  expands: boolean;
  /** Where the body starts in the scalar, and its line in the file. */
  bodyFrom: number;
  bodyLine: number;
  cmd: CommandLine;
}

/**
 * A here-document's body as its command reads it (tabs stripped for <<-), refused when
 * bash would expand something in it: the error names the line of the first expansion.
 */
function hereDocumentBody(raw: string, h: OpenHereDocument): string {
  const body = h.strip ? raw.replace(/^\t+/gm, "") : raw;
  // <<EOF (delimiter not quoted): bash expands the body first; <<'EOF' keeps it as written.
  if (!h.expands) return body;
  const at = hereDocumentExpansion(body);
  if (at < 0) return body;
  const lineStart = body.lastIndexOf("\n", at - 1) + 1;
  const lineEnd = body.indexOf("\n", at);
  const message = (() => {
    try {
      checkHereDocument(body.slice(lineStart, lineEnd < 0 ? body.length : lineEnd));
    } catch (e) {
      if (e instanceof ShellSyntaxError) return e.message;
      throw e;
    }
    return `bash would expand \`${body.slice(at, at + 20)}' here`;
  })();
  throw new HeredocError(h.bodyLine + newlinesBefore(body, at), h.end, `${message} (in a here-document; quote its delimiter, <<'${h.end}', to keep the text as written)`);
}

/**
 * The logical command lines of a run: scalar, each with its line in the file. One pass
 * over the text: a here-document's body is found by its terminator and taken as one
 * slice of the scalar (checked for expansions in one scan), so loading costs the size of
 * the file, whatever the size of its here-documents.
 */
function commandLines(node: Scalar<string>, lc: LineCounter, meter: LoadMeter | undefined): CommandLine[] {
  const start = lc.linePos(node.range![0]).line;
  const block = node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED;
  // A block scalar's content starts on the line after its indicator.
  const first = block ? start + 1 : start;
  const value = node.type === Scalar.BLOCK_FOLDED ? node.value.replace(/\n/g, " ") : node.value;
  if (meter) meter.ops += value.length;
  const out: CommandLine[] = [];
  let pending = "";
  let pendingLine = 0;
  let heredoc: OpenHereDocument | null = null;
  let index = 0;
  for (let from = 0; from <= value.length; index++) {
    const nl = value.indexOf("\n", from);
    const to = nl < 0 ? value.length : nl;
    const line = first + index;
    const lineFrom = from;
    from = to + 1;
    if (meter) meter.ops++;
    if (heredoc) {
      let a = lineFrom;
      if (heredoc.strip) while (value[a] === "\t") a++;
      if (!isTerminator(value, a, to, heredoc.end)) continue;
      // The body: the lines between opener and terminator, each with its newline.
      const body = hereDocumentBody(value.slice(heredoc.bodyFrom, lineFrom), heredoc);
      heredoc.cmd.stdin = body;
      out.push(heredoc.cmd);
      heredoc = null;
      continue;
    }
    const text = value.slice(lineFrom, to);
    if (!pending) pendingLine = line;
    const part = pending ? text.trimStart() : text;
    const head = continued(part);
    if (head !== null) {
      pending += head + " ";
      continue;
    }
    const full = (pending + part).trim();
    pending = "";
    // A here-document: the lines up to its terminator are the command's standard input.
    const hd = full.startsWith("#") ? null : hereDocumentOpener(full);
    if (hd) {
      heredoc = { end: hd.end, strip: hd.strip, expands: !hd.quoted, bodyFrom: from, bodyLine: line + 1, cmd: { line: pendingLine, text: hd.cmd } };
      continue;
    }
    if (full && !full.startsWith("#")) out.push({ line: pendingLine, text: full });
  }
  if (heredoc) {
    const h = heredoc as OpenHereDocument;
    hereDocumentBody(value.slice(h.bodyFrom), h);
    throw new HeredocError(h.cmd.line, h.end);
  }
  if (pending.trim()) out.push({ line: pendingLine, text: pending.trim() });
  return out;
}
