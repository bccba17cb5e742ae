// Measures every function in src/ with the TypeScript compiler's own parser (the
// typescript 7 API, which runs the compiler as a child process): from the line of its
// first token (a declaration's `function`, an arrow's parameters) to its last line.
import { relative } from "node:path";
import { API } from "typescript/unstable/sync";
import { getTokenPosOfNode, SyntaxKind, type Node, type SourceFile } from "typescript/unstable/ast";

export interface FunctionLength {
  /** src-relative file : name (an anonymous function is named after where it stands). */
  key: string;
  lines: number;
}

const FUNCTION_KINDS = new Set<SyntaxKind>([
  SyntaxKind.FunctionDeclaration,
  SyntaxKind.FunctionExpression,
  SyntaxKind.ArrowFunction,
  SyntaxKind.MethodDeclaration,
  SyntaxKind.Constructor,
  SyntaxKind.GetAccessor,
  SyntaxKind.SetAccessor,
]);

type Named = Node & { name?: Node & { text?: string } };

/** The function's own name, else that of the variable, property or call argument it is. */
function nameOf(node: Node, outer: string): string {
  const own = (node as Named).name?.text;
  if (own) return own;
  if (node.kind === SyntaxKind.Constructor) return "constructor";
  const parent = node.parent as Named | undefined;
  const held = parent?.name?.text;
  if (held && (parent!.kind === SyntaxKind.VariableDeclaration || parent!.kind === SyntaxKind.PropertyAssignment || parent!.kind === SyntaxKind.PropertyDeclaration)) return held;
  return `${outer || "<module>"}/<anonymous>`;
}

function measureFile(sf: SourceFile, file: string, out: FunctionLength[]): void {
  const seen = new Map<string, number>();
  const visit = (node: Node, outer: string): void => {
    let inner = outer;
    if (FUNCTION_KINDS.has(node.kind)) {
      const start = sf.getLineAndCharacterOfPosition(getTokenPosOfNode(node, sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.end).line;
      let name = nameOf(node, outer);
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      if (n > 1) name += `#${n}`;
      out.push({ key: `${file}:${name}`, lines: end - start + 1 });
      inner = name;
    }
    node.forEachChild((child) => visit(child, inner));
  };
  visit(sf, "");
}

/** Every function of the project's files under src/, with its length in lines. */
export function measureFunctions(root: string): FunctionLength[] {
  const api = new API({ cwd: root });
  try {
    const snapshot = api.updateSnapshot({ openProject: "tsconfig.json" });
    const program = snapshot.getProjects()[0]!.program;
    const out: FunctionLength[] = [];
    for (const name of program.getSourceFileNames()) {
      const file = relative(root, name);
      if (!file.startsWith("src/")) continue;
      measureFile(program.getSourceFile(name)!, file, out);
    }
    return out;
  } finally {
    api.close();
  }
}
