// A bound on how deeply a scenario's YAML may nest, checked on yaml's concrete syntax
// tree (built without recursion) before the document is composed (which recurses, and
// 100,000 nested brackets would exhaust the stack).
import { Parser } from "yaml";

/** A scenario nests four levels (steps, a step, expect); this leaves room and stays far from the stack. */
export const MAX_YAML_DEPTH = 64;

interface CstNode {
  type?: string;
  offset?: number;
  value?: unknown;
  items?: { start?: unknown[]; key?: unknown; sep?: unknown[]; value?: unknown }[];
}

/** The offset of the first collection nested deeper than MAX_YAML_DEPTH, or -1. */
export function yamlTooDeep(text: string): number {
  for (const top of new Parser().parse(text)) {
    const stack: [CstNode | null | undefined, number][] = [[top as CstNode, 0]];
    while (stack.length) {
      const [t, d] = stack.pop()!;
      if (!t || typeof t !== "object") continue;
      const collection = t.type === "block-map" || t.type === "block-seq" || t.type === "flow-collection";
      const depth = collection ? d + 1 : d;
      if (depth > MAX_YAML_DEPTH) return t.offset ?? 0;
      if (t.value && typeof t.value === "object") stack.push([t.value as CstNode, depth]);
      for (const it of t.items ?? []) {
        stack.push([it.key as CstNode, depth], [it.value as CstNode, depth]);
        for (const s of it.start ?? []) stack.push([s as CstNode, depth]);
        for (const s of it.sep ?? []) stack.push([s as CstNode, depth]);
      }
    }
  }
  return -1;
}
